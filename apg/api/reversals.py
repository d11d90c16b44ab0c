"""/api/v1/payments/{id}/reversals and /api/v1/reversals: give a completed payment's money
back (M-Pesa Reversal); the payment becomes `reversed` only once M-Pesa confirms it."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import g
from marshmallow import fields, validate
from sqlalchemy import select

from apg.api.blueprint import Blueprint
from apg.api.inquiries import RECOVERED, BalanceAccountSchema, ResultNested
from apg.api.operations import (
    OperationListQuerySchema,
    OperationSchema,
    list_schema,
    listing,
    recover_with,
    request_detail,
    result_detail,
)
from apg.api.schemas import REFERENCE, amount_field, constant, metadata_field
from apg.errors import InvalidRequestError
from apg.extensions import db
from apg.payments import queries
from apg.payments.lifecycle import PaymentStatus
from apg.payments.models import PaymentTransaction
from apg.payments.queries import Page
from apg.payments.reversals import REVERSAL, reversible
from apg.payments.service import NewPayment
from apg.services import services

TYPES = (REVERSAL,)
# A reversal in any other status has moved, or may still move, the money back.
SETTLED_UNREVERSED = (PaymentStatus.FAILED.value, PaymentStatus.CANCELLED.value)

blp = Blueprint(
    "reversals",
    __name__,
    url_prefix="/api/v1",
    description="Give back a completed payment (M-Pesa Reversal).",
)


def optional_amount() -> fields.Integer:
    amount = amount_field("defaults to the payment's amount, and at most that")
    amount.required = False
    return amount


class ReversalCreateSchema(ma.Schema):
    amount = optional_amount()
    reason = fields.String(
        required=True,
        validate=[validate.Length(2, 100), REFERENCE],
        metadata={"description": "Why (Daraja Remarks), 2-100 characters", "example": "Refund"},
    )
    metadata = metadata_field()


class ReversalSchema(OperationSchema):
    object = constant("reversal")
    payment_id = request_detail(
        "payment_id", metadata={"type": "string", "description": "The payment it reverses"}
    )
    amount = fields.Integer(metadata={"description": "Cents asked back"})
    currency = fields.String()
    reason = request_detail("remarks", metadata={"type": "string"})
    original_transaction_id = request_detail(
        "transaction_id", metadata={"type": "string", "description": "The receipt reversed"}
    )
    mpesa_receipt_number = fields.String(
        attribute="receipt", allow_none=True, metadata={"description": "The reversal's receipt"}
    )
    reversed_amount = fields.Integer(
        attribute="paid_amount",
        allow_none=True,
        metadata={"description": "Cents M-Pesa reports as reversed"},
    )
    transaction_date = fields.DateTime(allow_none=True)
    charge = result_detail("charge", metadata={"type": "integer", "description": "Cents"})
    debit_party_public_name = result_detail("debit_party_public_name", metadata={"type": "string"})
    credit_party_public_name = result_detail(
        "credit_party_public_name", metadata={"type": "string"}
    )
    debit_account_balance = ResultNested(
        "debit_account_balance",
        BalanceAccountSchema,
        metadata={"description": "The account the money left, after the reversal"},
    )


ReversalListSchema = list_schema(ReversalSchema, "ReversalList")


def reversals_of(tenant_id: str, payment_id: str) -> list[PaymentTransaction]:
    """The tenant's reversals asked for this payment, newest first."""
    reversed_id = PaymentTransaction.processor_data[("request", "payment_id")].as_string()
    return list(
        db.session.execute(
            select(PaymentTransaction)
            .where(
                PaymentTransaction.tenant_id == tenant_id,
                PaymentTransaction.transaction_type == REVERSAL,
                reversed_id == payment_id,
            )
            .order_by(PaymentTransaction.created_at.desc(), PaymentTransaction.id.desc())
        ).scalars()
    )


def not_reversing(payment: PaymentTransaction) -> PaymentTransaction:
    """The payment, unless a reversal of it is under way or done: then a 400 reversal_exists.

    Only a failed (or cancelled) reversal frees the payment for another, so that a payment is
    never reversed twice by accident (a retry under a new Idempotency-Key, a second click).
    Two requests racing past this check at once both reach M-Pesa, which reverses a receipt
    once (R000001 for the second). 400, not 409: in this API a 409 says "the same
    Idempotency-Key is still in flight, retry later", and this refusal stands for as long as
    that reversal does; `not_reversible` is a 400 for the same kind of reason.
    """
    for reversal in reversals_of(payment.tenant_id, payment.id):
        if reversal.status not in SETTLED_UNREVERSED:
            raise InvalidRequestError(
                f"This payment already has a reversal, {reversal.id}, that is {reversal.status}:"
                " a payment is reversed once. Fetch that reversal instead.",
                code="reversal_exists",
            )
    return payment


def new_reversal(payment: PaymentTransaction, data: dict[str, Any]) -> NewPayment:
    """The reversal of `payment`: by its own account, of its receipt, at most its amount."""
    amount = data.get("amount", payment.amount)
    if amount is None or (payment.amount is not None and amount > payment.amount):
        raise InvalidRequestError(
            f"amount must be at most the payment's amount ({payment.amount} cents).",
            param="amount",
            code="amount_exceeds_payment",
        )
    return NewPayment(
        amount=amount,
        currency=payment.currency,
        phone_number=None,
        reference=payment.reference,
        metadata=data.get("metadata"),
        payment_method_type="mpesa_reversal",
        details={
            "payment_id": payment.id,
            "transaction_id": payment.receipt,
            "remarks": data["reason"],
        },
        account_id=payment.account_id,
    )


@blp.route("/payments/<payment_id>/reversals", methods=["POST"])
@blp.arguments(ReversalCreateSchema)
@blp.idempotent(recover=recover_with(ReversalSchema(), TYPES))
@blp.response(201, ReversalSchema, description="Accepted by M-Pesa: the Result comes later")
@blp.alt_response(200, schema=ReversalSchema, description=RECOVERED, success=True)
@blp.errors(404, 409, 415, 422, 424, 502, 503, 504)
def create_reversal(data: dict[str, Any], payment_id: str) -> PaymentTransaction:
    """Reverse a completed payment (all of it, or `amount`); one reversal per payment."""
    payment = not_reversing(reversible(queries.get_payment(g.tenant.id, payment_id)))
    key = g.get("idempotency_key")
    return services().payments.initiate(
        g.tenant.id, new_reversal(payment, data), idempotency_key=key
    )


@blp.route("/payments/<payment_id>/reversals", methods=["GET"])
@blp.response(200, ReversalListSchema)
@blp.errors(404)
def list_payment_reversals(payment_id: str) -> Page:
    """The reversals asked for one payment, newest first (all of them: a handful at most)."""
    payment = queries.get_payment(g.tenant.id, payment_id)
    return Page(data=reversals_of(g.tenant.id, payment.id))


@blp.route("/reversals", methods=["GET"])
@blp.arguments(OperationListQuerySchema, location="query")
@blp.response(200, ReversalListSchema)
@blp.errors(404)
def list_reversals(query: dict[str, Any]) -> Page:
    """List reversals, newest first, with cursor pagination."""
    return listing(g.tenant.id, TYPES, query)


@blp.route("/reversals/<reversal_id>", methods=["GET"])
@blp.response(200, ReversalSchema)
@blp.errors(404)
def get_reversal(reversal_id: str) -> PaymentTransaction:
    """Fetch one reversal: `completed` once M-Pesa confirmed it (the payment is `reversed`)."""
    return queries.get_payment(g.tenant.id, reversal_id, TYPES, noun="reversal")
