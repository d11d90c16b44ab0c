"""The ops console as a test sees it: the ops token, the dashboard's sections, a signed-in
browser (cookie jar + the last page's CSRF token), and the rows its actions write."""

from __future__ import annotations

import dataclasses
import re
import secrets
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from apg.extensions import db
from apg.payments.models import PaymentEvent, PaymentTransaction

OPS_TOKEN = secrets.token_urlsafe(32)
SECTIONS = (
    "Health and readiness",
    "Payments per minute and success rate",
    "Recent callbacks",
    "Held for review and in conflict",
    "Circuit breakers",
    "Merchant webhooks",
    "Reconciliation",
)


def with_ops_token(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """`app` with OPS_TOKEN configured, until the test ends."""
    services = app.extensions["apg"]
    security = dataclasses.replace(services.settings.security, ops_token=OPS_TOKEN)
    monkeypatch.setattr(
        services, "settings", dataclasses.replace(services.settings, security=security)
    )
    return app


class Console:
    """A browser's view of the console: its cookie jar, and the CSRF token of the last page."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.csrf = ""

    def page(self, path: str = "/ops/") -> str:
        response = self.client.get(path)
        assert response.status_code == 200, response.status_code
        html = response.get_data(as_text=True)
        self.csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
        return html

    def post(self, path: str, **form: str) -> Any:
        return self.client.post(path, data={"csrf_token": self.csrf, **form})

    def sign_in(self, token: str = OPS_TOKEN) -> Any:
        self.page()
        return self.post("/ops/sign-in", token=token)


def events(app: Flask, payment_id: str, kind: str | None = None) -> list[PaymentEvent]:
    with app.app_context():
        query = select(PaymentEvent).where(PaymentEvent.payment_id == payment_id)
        if kind:
            query = query.where(PaymentEvent.kind == kind)
        found = list(db.session.execute(query.order_by(PaymentEvent.id)).scalars())
        db.session.expunge_all()
        return found


def status_of(app: Flask, payment_id: str) -> str:
    with app.app_context():
        return db.session.get(PaymentTransaction, payment_id).status  # type: ignore[union-attr]


def flashed(console: Console, response: Any) -> str:
    assert response.status_code == 303 and response.headers["Location"].endswith("/ops/#held")
    return console.page()
