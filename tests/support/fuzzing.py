"""Fuzzing support: the gateway with nothing throttling it, and a tenant with one object of
every kind for a fuzzer's ids to find."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import select

from apg import create_app, onboarding
from apg.clock import Clock
from apg.extensions import db
from apg.notifications import endpoints
from apg.notifications.events import public_id
from apg.payments import announcements
from apg.payments.models import PaymentTransaction, ProcessorReference
from apg.processors.mpesa.accounts import stk_account_id
from apg.tenants.models import Tenant
from tests.support.factories import make_account, make_payment, make_tenant
from tests.support.openapi import CheckedClient

INITIATOR = {"initiator_name": "testapi", "initiator_password": "Safaricom999!*!"}
# Each path parameter of the merchant API -> (transaction_type, payment_method_type) of the
# object it names.
OBJECT_KINDS = {
    "payment_id": ("stk_push", "mpesa_stk"),
    "payout_id": ("b2c_payment", "mpesa_b2c"),
    "b2b_payment_id": ("b2b_payment", "mpesa_b2b"),
    "inquiry_id": ("balance_inquiry", "mpesa_balance"),
    "query_id": ("transaction_status", "mpesa_transaction_status"),
    "reversal_id": ("reversal", "mpesa_reversal"),
    "c2b_payment_id": ("c2b_payment", "mpesa_c2b"),
}


@dataclass(frozen=True)
class FuzzTenant:
    id: str
    api_key: str
    callback_token: str
    object_ids: dict[str, str]  # path parameter name -> an id of the tenant's it may take


@contextmanager
def unthrottled_app(base: Flask, clock: Clock) -> Iterator[Flask]:
    """A second app on `base`'s database, emulator, callback URL and keys, with every rate limit
    off: a fuzzer sends hundreds of requests a minute from one key and one address, and a 429
    would hide what the gateway answers. Its engine is disposed after."""
    settings = base.extensions["apg"].settings
    app = create_app(
        {
            "app.database_url": settings.app.database_url,
            "environments.emulator": settings.environments.emulator,
            "callbacks.public_base_url": settings.callbacks.public_base_url,
            "security.encryption_key": settings.security.encryption_key,
            "security.secret_key": settings.security.secret_key,
            "security.api_rate_limit": "",
            "security.callback_rate_limit": "",
            "security.auth_failure_rate_limit": "",
            "monitoring.log_level": settings.monitoring.log_level,
            "performance.read_timeout_seconds": settings.performance.read_timeout_seconds,
        },
        clock=clock,
    )
    app.config["TESTING"] = True
    app.test_client_class = CheckedClient
    yield app
    with app.app_context():
        db.engine.dispose()


def make_fuzz_tenant(app: Flask) -> FuzzTenant:
    """A tenant whose paybill has an initiator, plus a B2C and a B2B account, and one completed
    object of every kind."""
    tenant_id, api_key = make_tenant(app, "Fuzz Ltd", **INITIATOR)
    with app.app_context():
        services = app.extensions["apg"]
        for kind, shortcode in (("b2c", "600000"), ("b2b", "600001")):
            account = make_account(kind=kind, shortcode=shortcode, **INITIATOR)
            onboarding.add_merchant_account(services, tenant_id, account)
        ids = {"account_id": stk_account_id(tenant_id) or ""}
        token = db.session.get(Tenant, tenant_id).callback_token
    for name, (transaction_type, method_type) in OBJECT_KINDS.items():
        ids[name] = make_payment(
            app,
            tenant_id,
            transaction_type=transaction_type,
            payment_method_type=method_type,
            status="completed",
            receipt=f"FUZ{len(ids):07d}",
            paid_amount=10000,
        )
    ids.update(_webhook_objects(app, tenant_id, ids["payment_id"]))
    return FuzzTenant(tenant_id, api_key, token, ids)


def _webhook_objects(app: Flask, tenant_id: str, payment_id: str) -> dict[str, str]:
    """An event of the tenant's payment and a webhook endpoint of its test key's mode."""
    with app.app_context():
        now = datetime.now(UTC)
        event = announcements.announce(
            db.session.get(PaymentTransaction, payment_id), "completed", now
        )
        box, hook = (
            app.extensions["apg"].secrets,
            {"url": "https://f.example/h", "event_types": ["*"]},
        )
        made = endpoints.create(
            endpoints.Owner(tenant_id, "test"), hook, box, now, production=False
        )
        assert event is not None
        return {"event_id": public_id(event), "endpoint_id": made.row.id}


def make_waiting(app: Flask, tenant_id: str, transaction_type: str, refs: dict[str, str]) -> str:
    """A `processing` operation found by `refs` ({ref kind: value}); returns its id."""
    payment_id = make_payment(app, tenant_id, transaction_type=transaction_type)
    with app.app_context():
        for kind, value in refs.items():
            db.session.add(
                ProcessorReference(
                    transaction_id=payment_id,
                    tenant_id=tenant_id,
                    processor="mpesa",
                    kind=kind,
                    value=value,
                    created_at=datetime.now(UTC),
                )
            )
        db.session.commit()
    return payment_id


def make_waiting_operations(app: Flask, tenant_id: str) -> None:
    """One `processing` operation of every kind a callback can settle, each with ids of its
    own (none an official sample's), for a callback that matches the wrong one to move."""
    for n, (transaction_type, _) in enumerate(OBJECT_KINDS.values()):
        kinds = ("checkout_request_id", "conversation_id", "originator_conversation_id")
        make_waiting(app, tenant_id, transaction_type, {k: f"FUZZ-WAITING-{n}" for k in kinds})


def statuses(app: Flask) -> dict[str, tuple[str, str, int]]:
    """Every operation's (transaction type, status, conflicts), by id."""
    txn = PaymentTransaction
    with app.app_context():
        rows = db.session.execute(select(txn.id, txn.transaction_type, txn.status, txn.conflicts))
        return {row.id: (row.transaction_type, row.status, row.conflicts) for row in rows}
