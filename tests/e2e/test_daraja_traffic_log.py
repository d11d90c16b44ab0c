"""monitoring.log_daraja_traffic: each Daraja request body and answer is logged, with every
credential replaced and phone numbers masked; off, nothing of them is."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from flask import Flask

from apg.extensions import db
from apg.processors.mpesa.traffic import redact
from tests.support.apps import sibling_app
from tests.support.clock import ShiftableClock
from tests.support.factories import make_tenant, payment_body


@pytest.fixture(params=[True, False], ids=["on", "off"])
def traffic_app(
    request: pytest.FixtureRequest, app: Flask, clock: ShiftableClock
) -> Iterator[Flask]:
    other = sibling_app(app, clock, **{"monitoring.log_daraja_traffic": request.param})
    yield other
    with other.app_context():
        db.engine.dispose()


def test_traffic_is_logged_only_when_asked_and_never_with_a_credential(
    traffic_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    _, key = make_tenant(traffic_app, "Traffic Ltd")
    caplog.set_level(logging.INFO, logger="apg.daraja.traffic")
    response = traffic_app.test_client().post(
        "/api/v1/payments", json=payment_body(), headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 201, response.json
    lines = [r.getMessage() for r in caplog.records if r.name == "apg.daraja.traffic"]
    if not traffic_app.extensions["apg"].settings.monitoring.log_daraja_traffic:
        assert lines == []
        return
    sent = next(line for line in lines if "processrequest sends" in line)
    assert '"BusinessShortCode": "174379"' in sent and '"Password": "[redacted]"' in sent
    assert "254708374149" not in sent and "*********149" in sent  # PartyA and PhoneNumber
    token = next(line for line in lines if "/oauth/v1/generate answers 200" in line)
    assert '"access_token": "[redacted]"' in token
    assert any("processrequest answers 200" in line for line in lines)


def test_redact_replaces_every_credential_field_at_any_depth() -> None:
    body = {"Password": "p", "nested": [{"SecurityCredential": "s", "Amount": 1}], "x": "y"}
    assert redact(body) == {
        "Password": "[redacted]",
        "nested": [{"SecurityCredential": "[redacted]", "Amount": 1}],
        "x": "y",
    }
