"""The migrations build exactly the schema the models describe (on SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from apg import create_app
from apg.extensions import db
from apg.webhooks.models import InboundCallback


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


def test_0003_carries_existing_rows_over(tmp_path: Path) -> None:
    """A database that ran the STK spine upgrades with its data: credentials become accounts,
    Daraja ids become references, callback bodies become bytes (SQLite, its own file)."""
    app = create_app({"app.database_url": f"sqlite:///{tmp_path / 'old.db'}"})
    with app.app_context():
        flask_migrate.upgrade(revision="0002")
        with db.engine.begin() as conn:
            for statement in OLD_ROWS:
                conn.execute(text(statement), {"body": '{"a": 1}'})
        flask_migrate.upgrade()
        with db.engine.connect() as conn:
            rows = {
                query: conn.execute(text(query)).all()
                for query in (
                    "SELECT id, kind, shortcode FROM mpesa_accounts",
                    "SELECT kind, value FROM processor_references ORDER BY kind",
                    "SELECT account_id, receipt, transaction_type FROM payment_transactions",
                    "SELECT kind FROM payment_events",
                    "SELECT body_size, ref_value FROM inbound_callbacks",
                )
            }
        assert list(rows.values()) == [
            [("mpc_1", "paybill", "174379")],
            [("checkout_request_id", "ws_CO_1"), ("merchant_request_id", "m-1")],
            [("mpc_1", "UKN1ABCDEF", "stk_push")],
            [("created",)],
            [(8, "ws_CO_1")],
        ]
        assert bytes(db.session.get(InboundCallback, 1).raw_body) == b'{"a": 1}'
        db.session.remove()
        db.engine.dispose()


def test_0004_renames_duplicate_tenant_names_oldest_first(tmp_path: Path) -> None:
    """Later duplicates (by created_at, then id) get " (2)", " (3)"…, skipping names in use;
    names are stripped and a blank one becomes the tenant's id. Then names are unique."""
    app = create_app({"app.database_url": f"sqlite:///{tmp_path / 'names.db'}"})
    tenants = [  # (id, name, created_at), not in created_at order
        ("ten_c", "Shop", "2026-01-03"),
        ("ten_b", "Shop", "2026-01-02"),
        ("ten_a", " Shop ", "2026-01-02"),
        ("ten_d", "Shop (2)", "2026-01-04"),
        ("ten_e", "  ", "2026-01-05"),
        ("ten_f", "Solo", "2026-01-06"),
    ]
    with app.app_context():
        flask_migrate.upgrade(revision="0003")
        with db.engine.begin() as conn:
            for tenant_id, name, created in tenants:
                conn.execute(
                    text("INSERT INTO tenants VALUES (:id, :name, :id, :created)"),
                    {"id": tenant_id, "name": name, "created": f"{created} 00:00:00"},
                )
        flask_migrate.upgrade()
        with db.engine.connect() as conn:
            names = dict(conn.execute(text("SELECT id, name FROM tenants")).all())
            assert names == {
                "ten_a": "Shop",
                "ten_b": "Shop (3)",
                "ten_c": "Shop (4)",
                "ten_d": "Shop (2)",
                "ten_e": "ten_e",
                "ten_f": "Solo",
            }
        with db.engine.begin() as conn, pytest.raises(IntegrityError):
            conn.execute(
                text(
                    "INSERT INTO tenants (id, name, callback_token, created_at)"
                    f" VALUES ('ten_g', 'Solo', 'g', {T0})"
                )
            )
        db.session.remove()
        db.engine.dispose()


T0 = "'2026-01-01 00:00:00'"
OLD_ROWS = [
    f"INSERT INTO tenants VALUES ('ten_1', 'T', 'ab', {T0})",
    "INSERT INTO mpesa_credentials VALUES ('mpc_1', 'ten_1', 'emulator', NULL, '174379',"
    f" 'paybill', NULL, 'k', 's', 'p', {T0})",
    f"INSERT INTO payment_methods VALUES ('pm_1', 'ten_1', 'mpesa', '254708374149', NULL, {T0})",
    "INSERT INTO payment_transactions (id, tenant_id, merchant_id, payment_method_id,"
    " payment_method_type, amount, currency, reference, phone_number, status,"
    " merchant_request_id, checkout_request_id, mpesa_receipt_number, result_code, created_at,"
    " updated_at) VALUES ('pay_1', 'ten_1', 'mpc_1', 'pm_1', 'mpesa_stk', 10000, 'KES', 'INV',"
    f" '254708374149', 'completed', 'm-1', 'ws_CO_1', 'UKN1ABCDEF', '0', {T0}, {T0})",
    "INSERT INTO payment_events (payment_id, tenant_id, from_status, to_status, source,"
    f" created_at) VALUES ('pay_1', 'ten_1', NULL, 'pending', 'api', {T0})",
    "INSERT INTO inbound_callbacks (kind, tenant_id, raw_body, received_at, checkout_request_id,"
    f" outcome, processed, payment_id) VALUES ('stk', 'ten_1', :body, {T0}, 'ws_CO_1', 'applied',"
    " true, 'pay_1')",
]


def test_0005_adds_the_c2b_tables_beside_existing_rows_and_comes_back_down(tmp_path: Path) -> None:
    """Rules per receiving account and registrations per M-Pesa account (which must exist);
    downgrading drops both and leaves the accounts (SQLite, its own file)."""
    app = create_app({"app.database_url": f"sqlite:///{tmp_path / 'c2b.db'}"})
    with app.app_context():
        flask_migrate.upgrade(revision="0004")
        with db.engine.begin() as conn:
            conn.execute(text(f"INSERT INTO tenants VALUES ('ten_1', 'T', 'ab', {T0})"))
            conn.execute(text(ACCOUNT))
        flask_migrate.upgrade()
        with db.engine.begin() as conn:
            conn.execute(text(f"INSERT INTO collection_rules VALUES {RULES}"))
            conn.execute(text(f"INSERT INTO c2b_registrations VALUES {REGISTRATION % 'mpa_1'}"))
        with db.engine.connect() as conn:
            stored = conn.execute(
                text("SELECT min_amount, version FROM collection_rules, c2b_registrations")
            ).all()
        assert stored == [(100, "v2")]
        with db.engine.begin() as conn, pytest.raises(IntegrityError):
            conn.execute(text(f"INSERT INTO c2b_registrations VALUES {REGISTRATION % 'mpa_x'}"))
        flask_migrate.downgrade(revision="0004")
        tables = set(inspect(db.engine).get_table_names())
        assert not {"collection_rules", "c2b_registrations"} & tables
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT id FROM mpesa_accounts")).all() == [("mpa_1",)]
        db.session.remove()
        db.engine.dispose()


ACCOUNT = (
    "INSERT INTO mpesa_accounts (id, tenant_id, environment, shortcode, kind,"
    " consumer_key_enc, consumer_secret_enc, created_at) VALUES ('mpa_1', 'ten_1', 'emulator',"
    f" '600984', 'paybill', 'k', 's', {T0})"
)
RULES = f"('mpa_1', 'ten_1', 'INV-\\d+', 100, NULL, '[\"RENT\"]', {T0})"
REGISTRATION = (
    "('%s', 'ten_1', '600984', 'Completed', 'v2', 'https://a/c2b-confirmation',"
    f" 'https://a/c2b-validation', '6e86-45dd', 'Success', {T0})"
)


def test_0007_gives_existing_payments_no_reconcile_claim_and_comes_back_down(
    tmp_path: Path,
) -> None:
    """A payment from before 0007 is due for reconciliation at once (no lease, no looks yet);
    downgrading drops the columns and the index and keeps the payment (SQLite, its own file)."""
    app = create_app({"app.database_url": f"sqlite:///{tmp_path / 'reconcile.db'}"})
    with app.app_context():
        flask_migrate.upgrade(revision="0006")
        with db.engine.begin() as conn:
            conn.execute(text(f"INSERT INTO tenants VALUES ('ten_1', 'T', 'ab', {T0})"))
            conn.execute(text(PAYMENT))
        flask_migrate.upgrade()
        with db.engine.connect() as conn:
            claim = "SELECT reconcile_after, reconcile_attempts FROM payment_transactions"
            assert conn.execute(text(claim)).all() == [(None, 0)]
        indexes = {i["name"] for i in inspect(db.engine).get_indexes("payment_transactions")}
        assert "ix_payment_transactions_status_created" in indexes
        flask_migrate.downgrade(revision="0006")
        columns = {c["name"] for c in inspect(db.engine).get_columns("payment_transactions")}
        assert not {"reconcile_after", "reconcile_attempts"} & columns
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT id FROM payment_transactions")).all() == [("pay_1",)]
        db.session.remove()
        db.engine.dispose()


PAYMENT = (
    "INSERT INTO payment_transactions (id, tenant_id, transaction_type, processor, account_id,"
    " payment_method_type, currency, reference, status, conflicts, created_at, updated_at)"
    " VALUES ('pay_1', 'ten_1', 'stk_push', 'mpesa', 'mpa_1', 'mpesa_stk', 'KES', 'INV',"
    f" 'processing', 0, {T0}, {T0})"
)


def test_0011_changes_the_list_and_stats_indexes_and_comes_back_down(app: Flask) -> None:
    """On the suite's database (PostgreSQL builds and drops them CONCURRENTLY, outside a
    transaction): down to 0010's indexes, and up again to the models'."""

    def indexes() -> dict[str, tuple[str, ...]]:
        found = {}
        for table in ("payment_transactions", "outbox_events", "webhook_deliveries"):
            for index in inspect(db.engine).get_indexes(table):
                found[index["name"]] = tuple(index["column_names"])
        return found

    lists = {
        "ix_payment_transactions_tenant_type_created",
        "ix_payment_transactions_tenant_type_status_created",
        "ix_payment_transactions_tenant_reference",
        "ix_outbox_events_tenant_id_id",
        "ix_outbox_events_tenant_type_id",
        "ix_webhook_deliveries_created_at_status",
    }
    with app.app_context():
        try:
            flask_migrate.downgrade(revision="0010")
            before = indexes()
            assert not lists & set(before)
            assert before["ix_payment_transactions_reference"] == ("reference",)
            assert before["ix_outbox_events_tenant_id"] == ("tenant_id",)
        finally:
            flask_migrate.upgrade()
        after = indexes()
        assert lists <= set(after)
        assert "ix_payment_transactions_reference" not in after
        assert after["ix_payment_transactions_tenant_type_status_created"] == (
            "tenant_id",
            "transaction_type",
            "status",
            "created_at",
            "id",
        )
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as conn:
                definition = conn.execute(
                    text(
                        "SELECT indexdef FROM pg_indexes"
                        " WHERE indexname = 'ix_payment_transactions_status_created'"
                    )
                ).scalar_one()
            assert "INCLUDE (tenant_id, transaction_type, conflicts)" in definition
        with db.engine.connect() as conn:
            compared = compare_metadata(MigrationContext.configure(conn), db.metadata)
        assert compared == []
