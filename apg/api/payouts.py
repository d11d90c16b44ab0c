"""/api/v1/payouts: pay a customer's M-Pesa (B2C), then fetch or list payouts."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import g
from marshmallow import fields, validate

from apg.api.auth import viewer
from apg.api.blueprint import Blueprint
from apg.api.operations import (
    OperationListQuerySchema,
    OperationSchema,
    list_schema,
    listing,
    occasion_field,
    recover_with,
    remarks_field,
    request_detail,
    result_detail,
)
from apg.api.schemas import (
    REFERENCE,
    MsisdnField,
    PaymentEventListSchema,
    amount_field,
    constant,
    metadata_field,
)
from apg.payments import queries
from apg.payments.models import PaymentTransaction
from apg.payments.queries import Page
from apg.payments.service import NewPayment
from apg.services import services

TYPES = ("b2c_payment",)
COMMAND_IDS = ("BusinessPayment", "SalaryPayment", "PromotionPayment")

blp = Blueprint(
    "payouts", __name__, url_prefix="/api/v1/payouts", description="Pay customers (M-Pesa B2C)."
)


class PayoutCreateSchema(ma.Schema):
    amount = amount_field("Daraja pays out at least KES 10")
    currency = fields.String(load_default="KES", validate=validate.OneOf(["KES"]))
    phone_number = MsisdnField(required=True, metadata={"example": "0708374149"})
    command_id = fields.String(
        load_default="BusinessPayment",
        validate=validate.OneOf(COMMAND_IDS),
        metadata={"description": "Daraja CommandID"},
    )
    remarks = remarks_field('defaults to the reference or "Payout"')
    occasion = occasion_field()
    reference = fields.String(
        validate=[validate.Length(1, 64), REFERENCE],
        metadata={"description": "Your own reference, e.g. a salary run; not sent to M-Pesa"},
    )
    account_id = fields.String(metadata={"description": "Which B2C account pays (mpa_…)"})
    metadata = metadata_field()


class PayoutSchema(OperationSchema):
    object = constant("payout")
    amount = fields.Integer(metadata={"description": "Cents"})
    currency = fields.String()
    phone_number = fields.String()
    reference = fields.String()
    command_id = request_detail("command_id", metadata={"type": "string"})
    remarks = request_detail("remarks", metadata={"type": "string"})
    occasion = request_detail("occasion", metadata={"type": "string"})
    mpesa_receipt_number = fields.String(attribute="receipt", allow_none=True)
    paid_amount = fields.Integer(allow_none=True, metadata={"description": "Cents M-Pesa paid"})
    transaction_date = fields.DateTime(allow_none=True)
    receiver_public_name = result_detail("receiver_public_name", metadata={"type": "string"})
    recipient_is_registered = result_detail("recipient_is_registered", metadata={"type": "boolean"})


PayoutListSchema = list_schema(PayoutSchema, "PayoutList")


def new_payout(data: dict[str, Any]) -> NewPayment:
    details = {k: data[k] for k in ("command_id", "remarks", "occasion") if data.get(k)}
    details.setdefault("remarks", data.get("reference") or "Payout")
    return NewPayment(
        amount=data["amount"],
        currency=data["currency"],
        phone_number=data["phone_number"],
        reference=data.get("reference", ""),
        metadata=data.get("metadata"),
        payment_method_type="mpesa_b2c",
        details=details,
        account_id=data.get("account_id"),
    )


@blp.route("", methods=["POST"])
@blp.arguments(PayoutCreateSchema)
@blp.idempotent(recover=recover_with(PayoutSchema(), TYPES))
@blp.response(201, PayoutSchema, description="Accepted by M-Pesa: the Result comes later")
@blp.errors(403, 409, 415, 422, 424, 429, 502, 503, 504)
def create_payout(data: dict[str, Any]) -> PaymentTransaction:
    """Pay a customer (B2C v3, our OriginatorConversationID: a retry can never pay twice)."""
    key = g.get("idempotency_key")
    return services().payments.initiate(
        g.tenant.id, new_payout(data), idempotency_key=key, key_mode=g.key_mode
    )


@blp.route("", methods=["GET"])
@blp.arguments(OperationListQuerySchema, location="query")
@blp.response(200, PayoutListSchema)
@blp.errors(404)
def list_payouts(query: dict[str, Any]) -> Page:
    """List payouts, newest first, with cursor pagination."""
    return listing(viewer(), TYPES, query)


@blp.route("/<payout_id>", methods=["GET"])
@blp.response(200, PayoutSchema)
@blp.errors(404)
def get_payout(payout_id: str) -> PaymentTransaction:
    """Fetch one payout: `completed` with a receipt once M-Pesa's Result arrived."""
    return queries.get_payment(viewer(), payout_id, TYPES, noun="payout")


@blp.route("/<payout_id>/events", methods=["GET"])
@blp.response(200, PaymentEventListSchema)
@blp.errors(404)
def list_payout_events(payout_id: str) -> dict[str, Any]:
    """The payout's audit trail: every transition and conflict, oldest first."""
    return {"data": queries.events_of(viewer(), payout_id, TYPES)}
