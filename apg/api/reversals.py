"""/api/v1/payments/{id}/reversals and /api/v1/reversals: give a completed payment's money
back (M-Pesa Reversal); the payment becomes `reversed` only once M-Pesa confirms it."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import g
from marshmallow import fields, validate

from apg.api.auth import viewer
from apg.api.blueprint import Blueprint
from apg.api.operations import (
    RECOVERED,
    BalanceAccountSchema,
    OperationListQuerySchema,
    OperationSchema,
    ResultNested,
    list_schema,
    listing,
    recover_with,
    request_detail,
    result_detail,
)
from apg.api.schemas import REFERENCE, amount_field, constant, metadata_field
from apg.payments import queries
from apg.payments.models import PaymentTransaction
from apg.payments.queries import Page
from apg.payments.reversals import REVERSAL, new_reversal, reversals_of
from apg.services import services

TYPES = (REVERSAL,)
# A reversal in any other status has moved, or may still move, the money back.

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


@blp.route("/payments/<payment_id>/reversals", methods=["POST"])
@blp.arguments(ReversalCreateSchema)
@blp.idempotent(recover=recover_with(ReversalSchema(), TYPES))
@blp.response(201, ReversalSchema, description="Accepted by M-Pesa: the Result comes later")
@blp.alt_response(200, schema=ReversalSchema, description=RECOVERED, success=True)
@blp.errors(403, 404, 409, 415, 422, 424, 429, 502, 503, 504)
def create_reversal(data: dict[str, Any], payment_id: str) -> PaymentTransaction:
    """Reverse a completed payment (all of it, or `amount`); one reversal per payment."""
    payment = queries.get_payment(viewer(), payment_id)
    new = new_reversal(payment, data.get("amount"), data["reason"], data.get("metadata"))
    key = g.get("idempotency_key")
    return services().payments.initiate(g.tenant.id, new, idempotency_key=key, key_mode=g.key_mode)


@blp.route("/payments/<payment_id>/reversals", methods=["GET"])
@blp.response(200, ReversalListSchema)
@blp.errors(404)
def list_payment_reversals(payment_id: str) -> Page:
    """The reversals asked for one payment, newest first (all of them: a handful at most)."""
    payment = queries.get_payment(viewer(), payment_id)
    return Page(data=reversals_of(g.tenant.id, payment.id))


@blp.route("/reversals", methods=["GET"])
@blp.arguments(OperationListQuerySchema, location="query")
@blp.response(200, ReversalListSchema)
@blp.errors(404)
def list_reversals(query: dict[str, Any]) -> Page:
    """List reversals, newest first, with cursor pagination."""
    return listing(viewer(), TYPES, query)


@blp.route("/reversals/<reversal_id>", methods=["GET"])
@blp.response(200, ReversalSchema)
@blp.errors(404)
def get_reversal(reversal_id: str) -> PaymentTransaction:
    """Fetch one reversal: `completed` once M-Pesa confirmed it (the payment is `reversed`)."""
    return queries.get_payment(viewer(), reversal_id, TYPES, noun="reversal")
