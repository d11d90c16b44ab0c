"""The migrations build exactly the schema the models describe (on SQLite and PostgreSQL)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import inspect

from apg.extensions import db


def test_models_and_migrations_agree(app: Flask) -> None:
    with app.app_context(), db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert diff == []


def test_schema_comes_from_migrations(app: Flask) -> None:
    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
    assert "alembic_version" in tables
    assert {
        "tenants",
        "api_keys",
        "mpesa_accounts",
        "processor_references",
        "outbox_events",
        "oauth_tokens",
        "payment_transactions",
        "payment_methods",
        "payment_events",
        "inbound_callbacks",
        "idempotency_keys",
    } <= tables
