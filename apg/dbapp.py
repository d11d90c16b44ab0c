"""`flask --app apg.dbapp db upgrade`: migrations that need only the database URL."""

from __future__ import annotations

from flask import Flask

import apg.checkout.models
import apg.idempotency.models
import apg.notifications.models
import apg.payments.collections
import apg.payments.models
import apg.processors.mpesa.accounts
import apg.processors.mpesa.c2b_registrations
import apg.processors.mpesa.tokens.database
import apg.security.events
import apg.tenants.models
import apg.webhooks.models
from apg.config import PROJECT_ROOT, exit_on_config_error, load_database_url, sqlalchemy_url
from apg.extensions import db, migrate

# Every module that defines a table: autogenerate (`db migrate`) sees only imported models.
MODEL_MODULES = (
    apg.checkout.models,
    apg.idempotency.models,
    apg.notifications.models,
    apg.payments.collections,
    apg.payments.models,
    apg.processors.mpesa.accounts,
    apg.processors.mpesa.c2b_registrations,
    apg.processors.mpesa.tokens.database,
    apg.security.events,
    apg.tenants.models,
    apg.webhooks.models,
)


def create_db_app() -> Flask:
    """An app with only `db` and `migrate` bound: no secrets, services or routes."""
    app = Flask(__name__, instance_path=str(PROJECT_ROOT / "instance"))
    app.config["SQLALCHEMY_DATABASE_URI"] = sqlalchemy_url(load_database_url(), app.instance_path)
    # Bound values (credentials in data migrations) stay out of logged DB errors.
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"hide_parameters": True}
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    return app


with exit_on_config_error():
    app = create_db_app()
