"""APG without HTTP, for merchants who embed it: `create_mpesa_service(environment)`.

The same objects and code paths the HTTP API uses (Payments.initiate, the processor, the
callback inbox, PaymentTransaction rows), reached through Python calls instead of routes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import select

from apg import create_app
from apg.extensions import db
from apg.onboarding import ensure_default_merchant
from apg.payments import queries, reversals
from apg.payments.models import PaymentMethod, PaymentTransaction
from apg.payments.operations import NewPayment
from apg.payments.phone import normalise_msisdn
from apg.payments.ports import Ref
from apg.processors.mpesa.accounts import MpesaAccount
from apg.processors.mpesa.c2b_service import C2BCommands, Simulation
from apg.processors.mpesa.catalog import ACCOUNT_KINDS
from apg.processors.mpesa.processor import MpesaProcessor
from apg.services import Services

# process_payment's payment_method -> the API's payment_method_type.
METHODS = {
    "stk_push": "mpesa_stk",
    "b2c": "mpesa_b2c",
    "b2b": "mpesa_b2b",
}
# additional_data keys that are the product's own request fields (the rest are ignored).
DETAILS = (
    "command_id",
    "remarks",
    "occasion",
    "receiver_shortcode",
    "account_reference",
    "requester",
)


@dataclass(frozen=True)
class Transaction:
    """What to move: the design's PaymentTransaction before it is recorded (cents)."""

    amount: int
    reference: str = ""
    description: str | None = None
    currency: str = "KES"
    metadata: Mapping[str, str] | None = None


def create_mpesa_service(
    environment: str = "emulator",
    *,
    tenant_id: str | None = None,
    app: Flask | None = None,
    config_overrides: Mapping[str, Any] | None = None,
) -> MpesaService:
    """A service for one tenant's M-Pesa accounts in `environment` (emulator | sandbox |
    production). Without a tenant_id it is the configured default tenant (created if missing).
    Uses `app`, or builds one from config/mpesa.yaml and the environment like the server does."""
    app = app or create_app(config_overrides)
    with app.app_context():
        if tenant_id is None:
            tenant_id = ensure_default_merchant(app.extensions["apg"])[0].id
    return MpesaService(app, tenant_id, environment)


class MpesaService:
    """The design's service: process_payment, balances, status, reversals, health."""

    def __init__(self, app: Flask, tenant_id: str, environment: str) -> None:
        self.app = app
        self.tenant_id = tenant_id
        self.environment = environment

    def process_payment(
        self,
        transaction: Transaction,
        payment_method: PaymentMethod | str,
        additional_data: Mapping[str, Any] | None = None,
    ) -> PaymentTransaction | Simulation:
        """stk_push (collect), b2c (pay out), b2b (pay a business), or c2b: a simulated
        customer payment (emulator and sandbox; it arrives as a C2B payment through the
        registered URLs). `payment_method` is a PaymentMethod (its phone) or the kind;
        `additional_data` carries phone_number, idempotency_key and the product's fields
        (command_id, remarks, …). Returns the recorded transaction (the simulation for c2b);
        errors are the API's (apg.errors.APGError)."""
        data = dict(additional_data or {})
        kind, phone = _method(payment_method, data)
        if kind == "c2b":
            return self._simulate_c2b(transaction, normalise_msisdn(phone or ""), data)
        new = NewPayment(
            amount=transaction.amount,
            currency=transaction.currency,
            phone_number=normalise_msisdn(phone) if phone else None,
            reference=transaction.reference,
            description=transaction.description,
            metadata=dict(transaction.metadata) if transaction.metadata else None,
            payment_method_type=METHODS[kind],
            details={k: data[k] for k in DETAILS if data.get(k)} or None,
            account_id=data.get("account_id") or self._account(METHODS[kind]),
        )
        return self._initiate(new, data.get("idempotency_key"))

    def get_account_balance(self, account_id: str | None = None) -> PaymentTransaction:
        """Start a balance inquiry; its `processor_data["result"]["accounts"]` (cents) fill in
        when M-Pesa's Result arrives (refresh it with get_transaction_status(inquiry.id))."""
        new = NewPayment(
            amount=None,
            currency="KES",
            phone_number=None,
            reference="balance",
            payment_method_type="mpesa_balance",
            account_id=account_id or self._account("mpesa_balance"),
        )
        return self._initiate(new, None)

    def get_transaction_status(self, transaction_id: str) -> PaymentTransaction:
        """Our transaction by id (an STK push still processing asks M-Pesa first), or else a
        Transaction Status query for an M-Pesa receipt."""
        with self._services() as services:
            txn = db.session.execute(
                select(PaymentTransaction).where(
                    PaymentTransaction.id == transaction_id,
                    PaymentTransaction.tenant_id == self.tenant_id,
                )
            ).scalar_one_or_none()
            if txn is not None:
                if txn.transaction_type in queries.COLLECTIONS:
                    return services.payments.refresh(self.tenant_id, txn.id)
                return txn
        new = NewPayment(
            amount=None,
            currency="KES",
            phone_number=None,
            reference="status",
            payment_method_type="mpesa_transaction_status",
            details={"transaction_id": transaction_id},
            account_id=self._account("mpesa_transaction_status"),
        )
        return self._initiate(new, None)

    def reverse_transaction(
        self,
        originator_conversation_id: str | None,
        transaction_id: str,
        amount: int | None,
        reason: str,
    ) -> PaymentTransaction:
        """Reverse the tenant's completed payment whose M-Pesa receipt is `transaction_id`
        (or whose originator_conversation_id ref matches); the payment becomes `reversed`
        when M-Pesa confirms. Amount in cents, all of it when None."""
        with self._services() as services:
            payment = db.session.execute(
                select(PaymentTransaction).where(
                    PaymentTransaction.tenant_id == self.tenant_id,
                    PaymentTransaction.receipt == transaction_id,
                    PaymentTransaction.transaction_type.in_(queries.COLLECTIONS),
                )
            ).scalar_one_or_none()
            if payment is None and originator_conversation_id:
                payment = services.payments.events.find(
                    self.tenant_id, "mpesa", _originator(originator_conversation_id)
                )
            if payment is None:
                raise LookupError(f"no payment with receipt {transaction_id!r}")
            new = reversals.new_reversal(payment, amount, reason)
            return services.payments.initiate(self.tenant_id, new)

    def health_check(self) -> dict[str, Any]:
        """The database and each processor's view of its upstream, and the summary (success
        rate, Daraja's average response time and uptime %), as GET /health/ready shows them."""
        from apg.ops.health import health_summary

        with self._services() as services:
            db.session.execute(select(1))
            checks = {
                name: {"healthy": h.healthy, **h.detail}
                for name, h in ((n, p.health()) for n, p in services.processors.all().items())
            }
            summary = health_summary(services.clock.now())
        return {"status": "ok", "checks": {"database": "ok", **checks}, "summary": summary}

    # --- plumbing --------------------------------------------------------------------------

    def _simulate_c2b(
        self, transaction: Transaction, phone: str, data: Mapping[str, Any]
    ) -> Simulation:
        with self._services() as services:
            processor = services.processors.get("mpesa")
            assert isinstance(processor, MpesaProcessor)
            return C2BCommands(processor, services.clock).simulate(
                self.tenant_id,
                data.get("account_id") or self._account("mpesa_stk"),
                command_id=data.get("command_id", "CustomerPayBillOnline"),
                amount=transaction.amount,
                phone_number=phone,
                bill_ref_number=transaction.reference,
            )

    @contextmanager
    def _services(self) -> Iterator[Services]:
        with self.app.app_context():
            yield self.app.extensions["apg"]

    def _initiate(self, new: NewPayment, key: str | None) -> PaymentTransaction:
        with self._services() as services:
            return services.payments.initiate(self.tenant_id, new, idempotency_key=key)

    def _account(self, method_type: str) -> str | None:
        """The tenant's oldest account in this service's environment that can carry the
        method; the processor still vets it (kind, initiator), as it does for the API."""
        with self._services() as services:
            transaction_type = services.processors.for_method(method_type)[1]
            return db.session.execute(
                select(MpesaAccount.id)
                .where(
                    MpesaAccount.tenant_id == self.tenant_id,
                    MpesaAccount.environment == self.environment,
                    MpesaAccount.kind.in_(ACCOUNT_KINDS[transaction_type]),
                )
                .order_by(MpesaAccount.created_at, MpesaAccount.id)
                .limit(1)
            ).scalar_one_or_none()


def _method(method: PaymentMethod | str, data: Mapping[str, Any]) -> tuple[str, str | None]:
    """(kind, phone): a PaymentMethod gives the phone (its kind from data["method"], default
    stk_push); a string is the kind itself (the phone from data["phone_number"])."""
    if isinstance(method, PaymentMethod):
        return _kind(str(data.get("method", "stk_push"))), method.phone_number
    return _kind(method), data.get("phone_number")


def _kind(kind: str) -> str:
    if kind not in (*METHODS, "c2b"):
        raise ValueError(f"payment_method must be one of {', '.join([*METHODS, 'c2b'])}")
    return kind


def _originator(value: str) -> tuple[Ref, ...]:
    return (Ref("originator_conversation_id", value),)
