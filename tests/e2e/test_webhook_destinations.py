"""Webhooks never reach a private address in production (SSRF): a URL naming one is refused
when saved, and a name resolving to one is not POSTed to (the attempt says why)."""

from __future__ import annotations

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from apg.errors import InvalidRequestError
from apg.extensions import db
from apg.notifications import delivery, destinations
from apg.notifications.endpoints import check_url
from apg.notifications.models import WebhookAttempt
from apg.notifications.worker import policy_of
from tests.e2e.test_merchant_webhooks import (
    completed_payment,
    deliver_nothing_but_fan_out,
    subscribe,
)
from tests.support.factories import EmulatorControl, Merchant
from tests.support.servers import Receiver


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hooks",
        "https://localhost/hooks",
        "https://10.1.2.3/hooks",
        "https://192.168.0.10/hooks",
        "https://169.254.169.254/latest/meta-data",  # cloud metadata
        "https://[::1]/hooks",
        "https://[fd00::1]/hooks",
    ],
)
def test_production_refuses_a_url_naming_a_private_address(url: str) -> None:
    with pytest.raises(InvalidRequestError, match="public address"):
        check_url(url, production=True)
    assert check_url(url.replace("https", "http"), production=False)  # development: allowed


def test_production_accepts_a_public_name_or_address() -> None:
    for url in ("https://hooks.example.com/apg", "https://8.8.8.8/hooks"):
        assert check_url(url, production=True) == url


def test_a_name_is_judged_by_every_address_it_resolves_to() -> None:
    def lookup(answers: list[str]):  # type: ignore[no-untyped-def]
        return lambda host: answers

    assert destinations.resolved_refusal("a.example", lookup(["93.184.216.34"])) is None
    refusal = destinations.resolved_refusal("a.example", lookup(["93.184.216.34", "10.0.0.7"]))
    assert refusal == "a.example resolves to a non-public address (10.0.0.7)"

    def unresolvable(host: str) -> list[str]:
        raise OSError(-2, "Name or service not known")

    assert "does not resolve" in (destinations.resolved_refusal("gone.example", unresolvable) or "")


def test_production_delivery_to_a_name_on_a_private_address_is_not_sent(
    app: Flask,
    client: FlaskClient,
    api_headers: dict[str, str],
    merchant: Merchant,
    emulator_control: EmulatorControl,
    receiver: tuple[Receiver, str],
) -> None:
    hook, url = receiver  # http://127.0.0.1:<port>/hooks: saved in development
    subscribe(client, api_headers, url)
    completed_payment(merchant, emulator_control)
    deliver_nothing_but_fan_out(app)
    policy = policy_of(app.extensions["apg"].settings.webhooks, production=True)
    with app.app_context(), requests.Session() as session:
        now = app.extensions["apg"].clock.now()
        [held] = delivery.claim(now, policy)
        outcome = delivery.attempt(
            held, policy, app.extensions["apg"].secrets, session, lambda: now
        )
        [logged] = db.session.execute(select(WebhookAttempt)).scalars()
    assert outcome == delivery.PENDING  # retried on the schedule, like any failed attempt
    assert hook.received == []
    assert logged.status_code is None and "non-public address (127.0.0.1)" in (
        logged.response or ""
    )
