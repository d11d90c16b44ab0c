"""Delivery log lines name the gateway's host but never its callback token (a credential)."""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlsplit

import pytest

from .support import CallbackReceiver, Daraja

PHONE = "254711000002"


@pytest.mark.parametrize(("delivery", "outcome"), [("normal", ": 200"), ("drop", ": dropped")])
def test_a_delivery_logs_the_host_and_a_masked_apg_callback_token(
    daraja: Daraja,
    receiver: CallbackReceiver,
    caplog: pytest.LogCaptureFixture,
    delivery: str,
    outcome: str,
) -> None:
    caplog.set_level(logging.INFO, logger="daraja_emulator.delivery")
    token = secrets.token_hex(20)  # as apg.tenants.service makes them
    host = urlsplit(receiver.url).netloc
    daraja.callback_url = f"http://{host}/webhooks/daraja/{token}/stk"
    daraja.script(PHONE, result_code=0, delivery=delivery)
    daraja.control(daraja.push(PHONE), "settle")
    [line] = [r.getMessage() for r in caplog.records if r.name == "daraja_emulator.delivery"]
    assert token not in line
    assert f" -> http://{host}/webhooks/daraja/{token[:4]}…/stk{outcome}" in line
