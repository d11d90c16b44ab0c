"""`flask apg rotate-callback-token`: new callback URLs for a tenant, with its C2B URLs
registered again at Daraja (or, where Daraja refuses, the portal change spelled out)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from apg.extensions import db
from apg.processors.mpesa.c2b_registrations import C2BRegistration
from tests.api.test_c2b_api import RecordingDaraja, callback_base, tenant_on
from tests.support.servers import LiveServer


@pytest.fixture(scope="module")
def daraja() -> Iterator[RecordingDaraja]:
    fake = RecordingDaraja()
    yield fake
    fake.server.stop()


def rotate(app: Flask, tenant_id: str) -> dict[str, Any]:
    result = app.test_cli_runner().invoke(
        args=["apg", "rotate-callback-token", "--tenant", tenant_id]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


def test_rotation_registers_the_c2b_urls_again_with_the_new_token(
    app: Flask, client: FlaskClient, gateway_server: LiveServer, daraja: RecordingDaraja
) -> None:
    tenant_id, headers = tenant_on(app, daraja.url, shortcode="600984")
    assert client.post("/api/v1/c2b/register-urls", json={}, headers=headers).status_code == 200
    old_base = callback_base(app, gateway_server, tenant_id)

    rotated = rotate(app, tenant_id)

    new_base = callback_base(app, gateway_server, tenant_id)
    assert new_base != old_base and rotated["callback_url_base"] == new_base
    [registered] = rotated["c2b_registrations"]
    assert registered["registered"] is True
    path, body = daraja.posts[-1]
    assert path == "/mpesa/c2b/v2/registerurl"
    assert body["ConfirmationURL"] == f"{new_base}/c2b-confirmation"
    assert body["ValidationURL"] == f"{new_base}/c2b-validation"
    with app.app_context():
        [stored] = db.session.execute(select(C2BRegistration)).scalars()
        assert stored.confirmation_url == f"{new_base}/c2b-confirmation"


def test_a_refused_registration_says_what_to_change_in_the_portal(
    app: Flask, client: FlaskClient, daraja: RecordingDaraja
) -> None:
    tenant_id, headers = tenant_on(app, daraja.url)
    assert client.post("/api/v1/c2b/register-urls", json={}, headers=headers).status_code == 200
    refusal = {
        "requestId": "1",
        "errorCode": "500.003.1001",
        "errorMessage": "Urls are already registered.",
    }
    daraja.answer = (500, refusal)

    [registered] = rotate(app, tenant_id)["c2b_registrations"]

    assert registered["registered"] is False
    assert "Daraja portal" in registered["fix"]


def test_an_unknown_tenant_is_a_usage_error(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["apg", "rotate-callback-token", "--tenant", "ten_nobody"]
    )
    assert result.exit_code == 2
    assert "no tenant ten_nobody" in result.output
