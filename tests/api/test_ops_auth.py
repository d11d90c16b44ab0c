"""GET /stats takes the operator's token (APG_OPS_TOKEN), never a merchant key; /health is open."""

from __future__ import annotations

import dataclasses
import logging
import secrets

import pytest
from flask import Flask
from flask.testing import FlaskClient

OPS_TOKEN = secrets.token_urlsafe(32)


@pytest.fixture
def guarded(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """The app with an ops token configured."""
    services = app.extensions["apg"]
    security = dataclasses.replace(services.settings.security, ops_token=OPS_TOKEN)
    monkeypatch.setattr(
        services, "settings", dataclasses.replace(services.settings, security=security)
    )
    return app


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer ",
        "Bearer wrong-token",
        f"Basic {OPS_TOKEN}",
        f"Bearer {OPS_TOKEN}x",
        "Bearer é",
    ],
    ids=["none", "empty", "wrong", "other-scheme", "longer", "non-ascii"],
)
def test_stats_refuses_a_missing_or_wrong_token(guarded: Flask, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = guarded.test_client().get("/stats", headers=headers)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_ops_token"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_stats_answers_the_ops_token(guarded: Flask) -> None:
    response = guarded.test_client().get("/stats", headers={"Authorization": f"Bearer {OPS_TOKEN}"})
    assert response.status_code == 200
    assert set(response.json) == {"payments", "conflicts", "callbacks"}


def test_a_merchant_api_key_is_not_an_ops_token(
    guarded: Flask, api_headers: dict[str, str]
) -> None:
    response = guarded.test_client().get("/stats", headers=api_headers)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_ops_token"


def test_health_stays_open_with_an_ops_token_configured(guarded: Flask) -> None:
    assert guarded.test_client().get("/health").status_code == 200


def test_development_without_a_token_leaves_stats_open_and_warns_once(
    app: Flask,
    client: FlaskClient,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert app.extensions["apg"].settings.security.ops_token is None
    monkeypatch.delitem(app.extensions, "apg.ops_open_warned", raising=False)  # a fresh app
    with caplog.at_level(logging.WARNING, logger="apg.ops.routes"):
        assert client.get("/stats").status_code == 200
        assert client.get("/stats").status_code == 200
    [warning] = [r.getMessage() for r in caplog.records if r.name == "apg.ops.routes"]
    assert "APG_OPS_TOKEN" in warning
