"""Merchant REST API v1 (flask-smorest): schemas validate, routes call one service."""

from __future__ import annotations

from flask import Flask

from apg.api import docs
from apg.api.account import blp as account_blp
from apg.api.b2b import blp as b2b_blp
from apg.api.blueprint import Api
from apg.api.c2b import blp as c2b_blp
from apg.api.checkout_sessions import blp as checkout_sessions_blp
from apg.api.diagnostics import blp as diagnostics_blp
from apg.api.events import blp as events_blp
from apg.api.inquiries import blp as inquiries_blp
from apg.api.keys import blp as keys_blp
from apg.api.payments import blp as payments_blp
from apg.api.payouts import blp as payouts_blp
from apg.api.reversals import blp as reversals_blp
from apg.api.seeds import blp as seeds_blp
from apg.api.webhook_endpoints import blp as webhook_endpoints_blp


def init_app(app: Flask) -> None:
    for key, value in docs.settings().items():
        app.config.setdefault(key, value)
    api = Api(app)  # one per app: the OpenAPI spec belongs to the app
    api.spec.components.security_scheme(
        "bearerAuth",
        {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key, apg_test_… or apg_live_… (flask apg create-api-key)",
        },
    )
    app.register_blueprint(docs.assets)
    api.register_blueprint(payments_blp)
    api.register_blueprint(account_blp)
    api.register_blueprint(payouts_blp)
    api.register_blueprint(b2b_blp)
    api.register_blueprint(inquiries_blp)
    api.register_blueprint(reversals_blp)
    api.register_blueprint(seeds_blp)
    api.register_blueprint(c2b_blp)
    api.register_blueprint(diagnostics_blp)
    api.register_blueprint(keys_blp)
    api.register_blueprint(events_blp)
    api.register_blueprint(webhook_endpoints_blp)
    api.register_blueprint(checkout_sessions_blp)
