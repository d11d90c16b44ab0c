"""Merchant REST API v1 (flask-smorest): schemas validate, routes call one service."""

from __future__ import annotations

from flask import Flask

from apg.api.account import blp as account_blp
from apg.api.blueprint import Api
from apg.api.payments import blp as payments_blp


def init_app(app: Flask) -> None:
    api = Api(app)  # one per app: the OpenAPI spec belongs to the app
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "apg_test_… / apg_live_…"}
    )
    api.register_blueprint(payments_blp)
    api.register_blueprint(account_blp)
