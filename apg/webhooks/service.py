"""Receive Daraja callbacks: store raw first, then parse, route by tenant and apply once."""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from apg.errors import InvalidRequestError, NotFoundError
from apg.extensions import db
from apg.payments.models import PaymentTransaction
from apg.payments.service import apply_outcome
from apg.payments.signals import payment_accepted
from apg.processors.base import StatusResult
from apg.processors.mpesa.mapping import CallbackFormatError, StkOutcome, parse_stk_callback
from apg.services import services
from apg.tenants.service import tenant_by_callback_token
from apg.webhooks.models import CallbackOutcome, InboundCallback

log = logging.getLogger(__name__)

ACCEPTED = {"ResultCode": 0, "ResultDesc": "Accepted"}


def receive_stk_callback(
    token: str, raw_body: bytes, content_type: str | None, source_ip: str | None
) -> dict[str, Any]:
    """Store, then process. Returns Daraja's expected acknowledgement; raises 404/400."""
    tenant = tenant_by_callback_token(token)
    callback = InboundCallback(
        kind="stk",
        tenant_id=tenant.id if tenant else None,
        raw_body=raw_body.decode("utf-8", errors="backslashreplace"),
        content_type=content_type,
        source_ip=source_ip,
        received_at=services().clock.now(),
    )
    db.session.add(callback)
    db.session.commit()  # the raw record survives whatever happens next
    if tenant is None:
        _finish(callback, CallbackOutcome.UNKNOWN_TENANT, error="no tenant for this URL token")
        raise NotFoundError("Unknown callback URL.")
    process_stk_callback(callback)
    if callback.outcome == CallbackOutcome.MALFORMED:
        raise InvalidRequestError(
            f"Not an STK callback: {callback.error}", code="malformed_callback"
        )
    return ACCEPTED


def process_stk_callback(callback: InboundCallback) -> None:
    """Parse a stored callback and apply it to its payment, all in one transaction."""
    try:
        outcome = parse_stk_callback(json.loads(callback.raw_body, parse_float=Decimal))
    except (ValueError, CallbackFormatError) as exc:
        _finish(callback, CallbackOutcome.MALFORMED, error=str(exc)[:500])
        return
    callback.checkout_request_id = outcome.checkout_request_id
    payment = db.session.execute(
        select(PaymentTransaction).where(
            PaymentTransaction.tenant_id == callback.tenant_id,
            PaymentTransaction.checkout_request_id == outcome.checkout_request_id,
        )
    ).scalar_one_or_none()
    if payment is None:  # unknown, or it raced ahead of our own commit: kept for later
        _finish(callback, CallbackOutcome.UNMATCHED, error="no payment with this CheckoutRequestID")
        return
    applied = apply_outcome(payment, _status_result(outcome), source="callback")
    callback.payment_id = payment.id
    _finish(callback, CallbackOutcome.APPLIED if applied else CallbackOutcome.DUPLICATE)


@payment_accepted.connect
def apply_waiting_callbacks(payment: PaymentTransaction, **_: Any) -> None:
    """A callback that arrived before we stored its CheckoutRequestID is applied now."""
    waiting = db.session.execute(
        select(InboundCallback)
        .where(
            InboundCallback.kind == "stk",
            InboundCallback.tenant_id == payment.tenant_id,
            InboundCallback.checkout_request_id == payment.checkout_request_id,
            InboundCallback.outcome == CallbackOutcome.UNMATCHED,
        )
        .order_by(InboundCallback.id)
    ).scalars()
    for callback in list(waiting):
        log.info("applying callback %s that arrived before payment %s", callback.id, payment.id)
        process_stk_callback(callback)


def _status_result(outcome: StkOutcome) -> StatusResult:
    return StatusResult(
        status=outcome.status,
        result_code=outcome.result_code,
        result_desc=outcome.result_desc,
        receipt_number=outcome.receipt_number,
        amount_minor=outcome.amount_minor,
        transaction_date=outcome.transaction_date,
    )


def _finish(callback: InboundCallback, outcome: str, error: str | None = None) -> None:
    callback.outcome = outcome
    callback.error = error
    callback.processed = outcome in (CallbackOutcome.APPLIED, CallbackOutcome.DUPLICATE)
    callback.processed_at = services().clock.now()
    db.session.commit()
