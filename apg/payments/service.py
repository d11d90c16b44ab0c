"""Payment use cases: initiate, read, refresh, list, and apply an upstream outcome."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError

from apg.dbtypes import new_id
from apg.errors import InvalidRequestError, NotFoundError, PaymentFailedError, UpstreamError
from apg.extensions import db
from apg.payments.models import PaymentMethod, PaymentTransaction
from apg.payments.signals import payment_accepted
from apg.payments.status import PaymentStatus
from apg.payments.transitions import record_created, transition
from apg.processors.base import StatusResult
from apg.services import services
from apg.tenants.service import credential_id_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewPayment:
    amount: int  # minor units
    currency: str
    phone_number: str  # normalised 2547…/2541…
    reference: str
    description: str | None = None
    customer_id: str | None = None
    metadata: dict[str, Any] | None = None
    payment_method_type: str = "mpesa_stk"


@dataclass(frozen=True)
class PaymentFilter:
    limit: int = 20
    starting_after: str | None = None
    status: str | None = None
    reference: str | None = None
    created_gte: datetime | None = None
    created_lt: datetime | None = None


@dataclass(frozen=True)
class Page:
    data: list[PaymentTransaction] = field(default_factory=list)
    has_more: bool = False


def initiate_payment(tenant_id: str, new: NewPayment) -> PaymentTransaction:
    """Record the payment, ask the processor to start it, and record what it said.

    The pending row is committed before any upstream call, so nothing is lost if we crash.
    """
    _check_amount(new.amount, new.currency)
    processor = services().processors.get(new.payment_method_type)
    method = _payment_method(tenant_id, new.phone_number, new.customer_id)
    payment = _record_pending(tenant_id, new, method)
    try:
        result = processor.process_payment(payment, method, {})
    except UpstreamError as exc:
        _fail_unreachable(payment, exc)
        raise
    if result.status is PaymentStatus.PROCESSING:
        transition(payment, PaymentStatus.PROCESSING, source="api", fields=result.external_ids)
        db.session.commit()
        payment_accepted.send(payment)
        return payment
    _fail(payment, result.result_code, result.result_desc)
    raise PaymentFailedError(
        daraja_code=result.result_code, daraja_message=result.result_desc, payment=payment
    )


def get_payment(tenant_id: str, payment_id: str) -> PaymentTransaction:
    payment = db.session.execute(
        select(PaymentTransaction).where(
            PaymentTransaction.id == payment_id, PaymentTransaction.tenant_id == tenant_id
        )
    ).scalar_one_or_none()
    if payment is None:
        raise NotFoundError(f"No such payment: {payment_id!r}.", param="id")
    return payment


def refresh_payment(tenant_id: str, payment_id: str) -> PaymentTransaction:
    """Ask the upstream (STK Query) when still processing, and apply a decided answer."""
    payment = get_payment(tenant_id, payment_id)
    if payment.status != PaymentStatus.PROCESSING:
        return payment
    processor = services().processors.get(payment.payment_method_type)
    db.session.commit()  # end the read: hold no transaction while Daraja answers
    status = processor.get_transaction_status(payment)
    if status.status.is_final:
        apply_outcome(payment, status, source="stk_query")
        db.session.commit()
    return payment


def apply_outcome(payment: PaymentTransaction, outcome: StatusResult, source: str) -> bool:
    """Apply a decided outcome at most once; False when it changed nothing (replay, stale).

    Joins the caller's transaction: the caller commits, together with its own rows.
    """
    fields: dict[str, Any] = {
        "result_code": outcome.result_code,
        "result_desc": outcome.result_desc,
    }
    if outcome.receipt_number:
        fields["mpesa_receipt_number"] = outcome.receipt_number
    if outcome.transaction_date:
        fields["transaction_date"] = outcome.transaction_date
    detail = None
    if outcome.amount_minor is not None and outcome.amount_minor != payment.amount:
        log.warning(
            "payment %s: upstream amount %s != %s", payment.id, outcome.amount_minor, payment.amount
        )
        detail = {"amount_mismatch": {"expected": payment.amount, "got": outcome.amount_minor}}
    return transition(payment, outcome.status, source=source, fields=fields, detail=detail)


def list_payments(tenant_id: str, f: PaymentFilter) -> Page:
    """Newest first; `starting_after` is the last id of the previous page (keyset cursor)."""
    query = select(PaymentTransaction).where(PaymentTransaction.tenant_id == tenant_id)
    if f.starting_after:
        try:
            anchor = get_payment(tenant_id, f.starting_after)
        except NotFoundError as exc:
            exc.param = "starting_after"
            raise
        query = query.where(
            or_(
                PaymentTransaction.created_at < anchor.created_at,
                and_(
                    PaymentTransaction.created_at == anchor.created_at,
                    PaymentTransaction.id < anchor.id,
                ),
            )
        )
    if f.status:
        query = query.where(PaymentTransaction.status == f.status)
    if f.reference:
        query = query.where(PaymentTransaction.reference == f.reference)
    if f.created_gte:
        query = query.where(PaymentTransaction.created_at >= f.created_gte)
    if f.created_lt:
        query = query.where(PaymentTransaction.created_at < f.created_lt)
    query = query.order_by(PaymentTransaction.created_at.desc(), PaymentTransaction.id.desc())
    rows = list(db.session.execute(query.limit(f.limit + 1)).scalars())
    return Page(data=rows[: f.limit], has_more=len(rows) > f.limit)


def _check_amount(amount: int, currency: str) -> None:
    limits = services().settings.payments
    if currency != limits.currency:
        raise InvalidRequestError(f"currency must be {limits.currency}.", param="currency")
    if amount % 100:
        raise InvalidRequestError(
            "M-Pesa takes whole shillings: amount is in cents and must be a multiple of 100.",
            param="amount",
            code="amount_not_whole_shillings",
        )
    if not limits.min_amount <= amount <= limits.max_amount:
        raise InvalidRequestError(
            f"amount must be between {limits.min_amount} and {limits.max_amount} (minor units).",
            param="amount",
            code="amount_out_of_range",
        )


def _payment_method(tenant_id: str, phone: str, customer_id: str | None) -> PaymentMethod:
    def find() -> PaymentMethod | None:
        return db.session.execute(
            select(PaymentMethod).where(
                PaymentMethod.tenant_id == tenant_id,
                PaymentMethod.type == "mpesa",
                PaymentMethod.phone_number == phone,
            )
        ).scalar_one_or_none()

    method = find()
    if method is not None:
        return method
    method = PaymentMethod(
        id=new_id("pm"),
        tenant_id=tenant_id,
        type="mpesa",
        phone_number=phone,
        customer_id=customer_id,
        created_at=services().clock.now(),
    )
    try:  # a concurrent request may create the same method: the unique constraint decides
        with db.session.begin_nested():
            db.session.add(method)
    except IntegrityError:
        existing = find()
        assert existing is not None
        return existing
    return method


def _record_pending(tenant_id: str, new: NewPayment, method: PaymentMethod) -> PaymentTransaction:
    now = services().clock.now()
    payment = PaymentTransaction(
        id=new_id("pay"),
        tenant_id=tenant_id,
        merchant_id=credential_id_for(tenant_id),
        customer_id=new.customer_id,
        payment_method_id=method.id,
        payment_method_type=new.payment_method_type,
        amount=new.amount,
        currency=new.currency,
        description=new.description,
        reference=new.reference,
        phone_number=new.phone_number,
        status=PaymentStatus.PENDING.value,
        metadata_=new.metadata,
        created_at=now,
        updated_at=now,
    )
    db.session.add(payment)
    db.session.flush()  # the payment row before its first event (foreign key)
    record_created(payment)
    db.session.commit()
    return payment


def _fail_unreachable(payment: PaymentTransaction, exc: UpstreamError) -> None:
    """Daraja never got the request (503/502): failed. A timeout leaves it pending: unknown."""
    exc.extra["payment"] = payment
    if exc.status != 504:
        _fail(payment, exc.code, exc.message)


def _fail(payment: PaymentTransaction, code: str | None, desc: str | None) -> None:
    transition(
        payment,
        PaymentStatus.FAILED,
        source="api",
        fields={"result_code": code, "result_desc": desc},
    )
    db.session.commit()
