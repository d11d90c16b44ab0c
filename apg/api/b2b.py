"""/api/v1/b2b-payments: pay another business's paybill or till (M-Pesa B2B), then fetch or
list those payments."""

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
    occasion_field,
    recover_with,
    remarks_field,
    request_detail,
    result_detail,
)
from apg.api.schemas import REFERENCE, MsisdnField, amount_field, constant, metadata_field
from apg.payments import queries
from apg.payments.models import PaymentTransaction
from apg.payments.queries import Page
from apg.payments.service import NewPayment
from apg.services import services

TYPES = ("b2b_payment",)
PAYBILL = "BusinessPayBill"  # the one command that needs an account_reference
COMMAND_IDS = (PAYBILL, "BusinessBuyGoods", "DisburseFundsToBusiness", "BusinessToBusinessTransfer")
SHORTCODE = validate.Regexp(r"^[0-9]{5,7}$", error="a paybill or till number: 5-7 digits")
CENTS = {"type": "integer", "description": "Cents, from M-Pesa's Result"}

blp = Blueprint(
    "b2b",
    __name__,
    url_prefix="/api/v1/b2b-payments",
    description="Pay other businesses (M-Pesa B2B).",
)


class B2BPaymentCreateSchema(ma.Schema):
    amount = amount_field()
    currency = fields.String(load_default="KES", validate=validate.OneOf(["KES"]))
    receiver_shortcode = fields.String(
        required=True,
        validate=SHORTCODE,
        metadata={"description": "The paybill or till paid (Daraja PartyB)", "example": "600000"},
    )
    command_id = fields.String(
        required=True,
        validate=validate.OneOf(COMMAND_IDS),
        metadata={"description": "Daraja CommandID: BusinessPayBill needs account_reference"},
    )
    account_reference = fields.String(
        validate=[validate.Length(1, 13), REFERENCE],
        metadata={
            "description": "The account at the receiving paybill (Daraja AccountReference),"
            " 1-13 characters; required for BusinessPayBill",
            "example": "INV-001",
        },
    )
    remarks = remarks_field('defaults to the reference or "B2B payment"')
    occasion = occasion_field()
    requester = MsisdnField(
        metadata={"description": "The customer you pay for (Daraja Requester), optional"}
    )
    reference = fields.String(
        validate=[validate.Length(1, 64), REFERENCE],
        metadata={"description": "Your own reference, e.g. an invoice; not sent to M-Pesa"},
    )
    account_id = fields.String(metadata={"description": "Which B2B account pays (mpa_…)"})
    metadata = metadata_field()

    @ma.validates_schema
    def account_reference_for_paybill(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("command_id") == PAYBILL and not data.get("account_reference"):
            raise ma.ValidationError(
                "required for BusinessPayBill: the account number at the receiving paybill",
                field_name="account_reference",
            )


class B2BPaymentSchema(OperationSchema):
    object = constant("b2b_payment")
    amount = fields.Integer(metadata={"description": "Cents"})
    currency = fields.String()
    reference = fields.String()
    receiver_shortcode = request_detail("receiver_shortcode", metadata={"type": "string"})
    command_id = request_detail("command_id", metadata={"type": "string"})
    account_reference = request_detail("account_reference", metadata={"type": "string"})
    requester = request_detail("requester", metadata={"type": "string"})
    remarks = request_detail("remarks", metadata={"type": "string"})
    occasion = request_detail("occasion", metadata={"type": "string"})
    mpesa_receipt_number = fields.String(attribute="receipt", allow_none=True)
    paid_amount = fields.Integer(allow_none=True, metadata={"description": "Cents M-Pesa paid"})
    transaction_date = fields.DateTime(allow_none=True)
    receiver_public_name = result_detail("receiver_public_name", metadata={"type": "string"})
    bill_reference_number = result_detail("bill_reference_number", metadata={"type": "string"})
    debit_account_balance = result_detail("debit_account_balance", metadata=CENTS)
    initiator_account_balance = result_detail("initiator_account_balance", metadata=CENTS)
    debit_party_charges = result_detail("debit_party_charges", metadata=CENTS)
    debit_party_affected_account = ResultNested(
        "debit_party_affected_account",
        BalanceAccountSchema,
        metadata={"description": "The paying account after the payment, from the Result"},
    )


B2BPaymentListSchema = list_schema(B2BPaymentSchema, "B2BPaymentList")


def new_b2b_payment(data: dict[str, Any]) -> NewPayment:
    asked = ("command_id", "receiver_shortcode", "account_reference", "requester")
    details = {k: data[k] for k in (*asked, "remarks", "occasion") if data.get(k)}
    details.setdefault("remarks", data.get("reference") or "B2B payment")
    return NewPayment(
        amount=data["amount"],
        currency=data["currency"],
        phone_number=None,
        reference=data.get("reference", ""),
        metadata=data.get("metadata"),
        payment_method_type="mpesa_b2b",
        details=details,
        account_id=data.get("account_id"),
    )


@blp.route("", methods=["POST"])
@blp.arguments(B2BPaymentCreateSchema)
@blp.idempotent(recover=recover_with(B2BPaymentSchema(), TYPES))
@blp.response(201, B2BPaymentSchema, description="Accepted by M-Pesa: the Result comes later")
@blp.alt_response(200, schema=B2BPaymentSchema, description=RECOVERED, success=True)
@blp.errors(403, 409, 415, 422, 424, 429, 502, 503, 504)
def create_b2b_payment(data: dict[str, Any]) -> PaymentTransaction:
    """Pay another business's paybill or till from your shortcode; the answer is `processing`."""
    key = g.get("idempotency_key")
    new = new_b2b_payment(data)
    return services().payments.initiate(g.tenant.id, new, idempotency_key=key, key_mode=g.key_mode)


@blp.route("", methods=["GET"])
@blp.arguments(OperationListQuerySchema, location="query")
@blp.response(200, B2BPaymentListSchema)
@blp.errors(404)
def list_b2b_payments(query: dict[str, Any]) -> Page:
    """List B2B payments, newest first, with cursor pagination."""
    return listing(viewer(), TYPES, query)


@blp.route("/<b2b_payment_id>", methods=["GET"])
@blp.response(200, B2BPaymentSchema)
@blp.errors(404)
def get_b2b_payment(b2b_payment_id: str) -> PaymentTransaction:
    """Fetch one B2B payment: `completed` with a receipt once M-Pesa's Result arrived."""
    return queries.get_payment(viewer(), b2b_payment_id, TYPES, noun="B2B payment")
