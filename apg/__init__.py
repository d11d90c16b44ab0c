"""APG: a multi-tenant M-Pesa payment gateway. `create_app` only wires; it does no I/O."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, g
from werkzeug.middleware.proxy_fix import ProxyFix

from apg import errors, security_headers
from apg.clock import Clock
from apg.config import PROJECT_ROOT, load_settings, sqlalchemy_url
from apg.crypto import SecretBox
from apg.dbpool import ping_when_idle
from apg.extensions import db, migrate
from apg.logs import configure_logging, current_operation
from apg.ops import metrics
from apg.payments.registry import ProcessorRegistry
from apg.payments.service import Payments
from apg.processors.mpesa.processor import MpesaProcessor
from apg.processors.mpesa.tokens import make_token_store
from apg.services import Services
from apg.settings import Settings


def create_app(
    config_overrides: Mapping[str, Any] | None = None, *, clock: Clock | None = None
) -> Flask:
    """Build the app: defaults <- config/mpesa.yaml <- environment <- config_overrides."""
    settings = load_settings(config_overrides)
    app = Flask(__name__, instance_path=str(PROJECT_ROOT / "instance"))
    app.config.update(_flask_config(app, settings))
    configure_logging(settings.monitoring.log_level, settings.monitoring.log_format)
    if settings.security.trusted_proxy_hops:
        hops = settings.security.trusted_proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    with app.app_context():  # the engine object only: nothing connects yet
        ping_when_idle(db.engine)
        app.extensions["apg"] = _services(settings, clock or Clock(), db.engine)
    errors.init_app(app)
    security_headers.init_app(app, production=settings.is_production)
    _register_request_id(app)
    metrics.init_app(app)
    _register_blueprints(app, settings)
    return app


def _flask_config(app: Flask, settings: Settings) -> dict[str, Any]:
    url = sqlalchemy_url(settings.app.database_url, app.instance_path)
    # hide_parameters: bound values (credentials, phone numbers) stay out of logged DB errors.
    # No pool_pre_ping (a round trip per transaction): apg.dbpool checks idle connections only.
    engine: dict[str, Any] = {"hide_parameters": True}
    if url.startswith("sqlite"):
        engine["connect_args"] = {"timeout": 15}
    else:
        engine["pool_size"] = settings.performance.db_pool_size
    return {
        "SECRET_KEY": settings.security.secret_key,
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine,
        "MAX_CONTENT_LENGTH": 256 * 1024,
    }


def _services(settings: Settings, clock: Clock, engine: Any) -> Services:
    from apg.checkout.outcomes import SessionListener
    from apg.checkout.service import Checkout
    from apg.security.sources import CallbackSources
    from apg.tenants.service import callback_token_for
    from apg.webhooks.service import Inbox
    from apg.webhooks.urls import callback_url

    box = SecretBox(settings.security.encryption_key or "")
    registry = ProcessorRegistry()
    registry.register(
        MpesaProcessor(
            settings,
            clock,
            make_token_store(settings, engine, box),
            box,
            callback_url_for=lambda tenant_id, kind: callback_url(
                settings.callbacks.public_base_url, callback_token_for(tenant_id), kind
            ),
        )
    )
    payments = Payments(settings.payments, clock, registry)
    sources = CallbackSources.from_settings(settings.security, settings.is_production)
    inbox = Inbox(clock, registry, payments.events, sources)
    payments.refs_listeners.append(inbox.apply_waiting)
    payments.events.moved_listeners.append(SessionListener(clock))  # pays checkout sessions
    checkout = Checkout(payments, box, clock)
    return Services(settings, clock, box, registry, payments, inbox, checkout)


def _register_request_id(app: Flask) -> None:
    @app.before_request
    def assign_request_id() -> None:
        g.request_id = f"req_{secrets.token_hex(8)}"
        current_operation.set(None)  # a pooled thread's last request named another

    @app.after_request
    def echo_request_id(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.get("request_id", "")
        return response


def _register_blueprints(app: Flask, settings: Settings) -> None:
    from apg import api, checkout, cli
    from apg.api.blueprint import Blueprint as ApiBlueprint
    from apg.console import init_app as init_console
    from apg.ops.routes import blp as ops_blp
    from apg.security import limits
    from apg.webhooks.routes import blp as webhooks_blp

    api.init_app(app)
    app.register_blueprint(webhooks_blp)
    app.register_blueprint(ops_blp)
    init_console(app)  # the ops console's pages (/ops/), apart from the JSON ops endpoints
    checkout.init_app(app)
    merchant_api = [bp for bp in app.blueprints.values() if isinstance(bp, ApiBlueprint)]
    limits.init_app(app, settings, merchant_api, webhooks_blp)
    cli.init_app(app)
