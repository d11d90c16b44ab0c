"""/api/v1/balance-inquiries and /api/v1/transaction-status-queries: ask M-Pesa for the
shortcode's balances or about one transaction; M-Pesa answers later, by Result."""

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
from apg.api.schemas import OutputSchema, constant, metadata_field
from apg.payments import queries
from apg.payments.models import PaymentTransaction
from apg.payments.queries import Page
from apg.payments.service import NewPayment
from apg.services import services

BALANCE = ("balance_inquiry",)
STATUS = ("transaction_status",)
RECEIPT = validate.Regexp(
    r"^[A-Z0-9]{10}$", error="an M-Pesa receipt: 10 uppercase letters and digits (NLJ7RT61SV)"
)
CONVERSATION_ID = validate.Regexp(
    r"^[\x21-\x7e]{1,64}$", error="1-64 printable ASCII characters without spaces"
)
LOOKUPS = ("transaction_id", "originator_conversation_id")
ACCOUNT_ID = {"description": "Which of your M-Pesa accounts asks (mpa_…); defaults to the oldest"}

blp = Blueprint(
    "inquiries",
    __name__,
    url_prefix="/api/v1",
    description="Ask M-Pesa: account balances and transaction status (answered by Result).",
)


# --- account balance ---------------------------------------------------------------------


class BalanceInquiryCreateSchema(ma.Schema):
    account_id = fields.String(metadata=ACCOUNT_ID)
    remarks = remarks_field('defaults to "Account balance"')
    metadata = metadata_field()


class BalanceInquirySchema(OperationSchema):
    object = constant("balance_inquiry")
    remarks = request_detail("remarks", metadata={"type": "string"})
    accounts = ResultNested(
        "accounts",
        BalanceAccountSchema,
        many=True,
        metadata={"description": "The shortcode's accounts, null until M-Pesa's Result arrives"},
    )
    as_of = result_detail(
        "completed_at",
        metadata={
            "type": "string",
            "format": "date-time",
            "description": "When M-Pesa read these balances",
        },
    )


BalanceInquiryListSchema = list_schema(BalanceInquirySchema, "BalanceInquiryList")


def new_balance_inquiry(data: dict[str, Any]) -> NewPayment:
    return NewPayment(
        amount=None,
        currency="KES",
        phone_number=None,
        reference="",
        metadata=data.get("metadata"),
        payment_method_type="mpesa_balance",
        details={"remarks": data["remarks"]} if data.get("remarks") else None,
        account_id=data.get("account_id"),
    )


@blp.route("/balance-inquiries", methods=["POST"])
@blp.arguments(BalanceInquiryCreateSchema)
@blp.idempotent(recover=recover_with(BalanceInquirySchema(), BALANCE))
@blp.response(201, BalanceInquirySchema, description="Accepted by M-Pesa: balances come later")
@blp.alt_response(200, schema=BalanceInquirySchema, description=RECOVERED, success=True)
@blp.errors(403, 409, 415, 422, 424, 429, 502, 503, 504)
def create_balance_inquiry(data: dict[str, Any]) -> PaymentTransaction:
    """Ask M-Pesa for an account's balances (send `{}` for the default account)."""
    key = g.get("idempotency_key")
    new = new_balance_inquiry(data)
    return services().payments.initiate(g.tenant.id, new, idempotency_key=key, key_mode=g.key_mode)


@blp.route("/balance-inquiries", methods=["GET"])
@blp.arguments(OperationListQuerySchema, location="query")
@blp.response(200, BalanceInquiryListSchema)
@blp.errors(404)
def list_balance_inquiries(query: dict[str, Any]) -> Page:
    """List balance inquiries, newest first, with cursor pagination."""
    return listing(viewer(), BALANCE, query)


@blp.route("/balance-inquiries/<inquiry_id>", methods=["GET"])
@blp.response(200, BalanceInquirySchema)
@blp.errors(404)
def get_balance_inquiry(inquiry_id: str) -> PaymentTransaction:
    """Fetch one balance inquiry: `completed` with `accounts` once M-Pesa's Result arrived."""
    return queries.get_payment(viewer(), inquiry_id, BALANCE, noun="balance inquiry")


# --- transaction status --------------------------------------------------------------------


class TransactionStatusQueryCreateSchema(ma.Schema):
    transaction_id = fields.String(
        validate=RECEIPT,
        metadata={
            "description": "The M-Pesa receipt to look up; send this or"
            " originator_conversation_id, not both",
            "example": "NLJ7RT61SV",
        },
    )
    originator_conversation_id = fields.String(
        validate=CONVERSATION_ID,
        metadata={
            "description": "The OriginatorConversationID of an earlier request to look up"
            " (Daraja OriginalConversationID); send this or transaction_id, not both"
        },
    )
    account_id = fields.String(metadata=ACCOUNT_ID)
    remarks = remarks_field('defaults to "Transaction status"')
    occasion = occasion_field()
    metadata = metadata_field()

    @ma.validates_schema
    def exactly_one_lookup(self, data: dict[str, Any], **kwargs: Any) -> None:
        given = [name for name in LOOKUPS if name in data]
        if len(given) != 1:
            raise ma.ValidationError(
                f"send exactly one of transaction_id (an M-Pesa receipt) or"
                f" originator_conversation_id; got {' and '.join(given) or 'neither'}",
                field_name="transaction_id",
            )


class TransactionStatusResultSchema(OutputSchema):
    """The looked-up transaction, as M-Pesa's Result describes it (null where it says nothing)."""

    debit_party_name = fields.String(allow_none=True)
    credit_party_name = fields.String(allow_none=True)
    originator_conversation_id = fields.String(allow_none=True)
    conversation_id = fields.String(allow_none=True)
    initiated_time = fields.String(allow_none=True, metadata={"format": "date-time"})
    finalised_time = fields.String(allow_none=True, metadata={"format": "date-time"})
    debit_account_type = fields.String(allow_none=True)
    debit_party_charges = fields.Integer(allow_none=True, metadata={"description": "Cents"})
    transaction_reason = fields.String(allow_none=True)
    reason_type = fields.String(allow_none=True)
    transaction_status = fields.String(allow_none=True, metadata={"example": "Completed"})
    amount = fields.Integer(allow_none=True, metadata={"description": "Cents"})
    receipt_no = fields.String(allow_none=True)
    occasion = fields.String(allow_none=True)


class TransactionStatusQuerySchema(OperationSchema):
    object = constant("transaction_status_query")
    transaction_id = request_detail("transaction_id", metadata={"type": "string"})
    original_conversation_id = request_detail(
        "original_conversation_id",
        metadata={"type": "string", "description": "The originator_conversation_id asked about"},
    )
    remarks = request_detail("remarks", metadata={"type": "string"})
    occasion = request_detail("occasion", metadata={"type": "string"})
    transaction = ResultNested(
        None,
        TransactionStatusResultSchema,
        metadata={"description": "What M-Pesa knows of it; null until the Result arrives"},
    )


TransactionStatusQueryListSchema = list_schema(
    TransactionStatusQuerySchema, "TransactionStatusQueryList"
)


def new_status_query(data: dict[str, Any]) -> NewPayment:
    asked = {
        "transaction_id": data.get("transaction_id"),
        "original_conversation_id": data.get("originator_conversation_id"),
        "remarks": data.get("remarks"),
        "occasion": data.get("occasion"),
    }
    return NewPayment(
        amount=None,
        currency="KES",
        phone_number=None,
        reference="",
        metadata=data.get("metadata"),
        payment_method_type="mpesa_transaction_status",
        details={k: v for k, v in asked.items() if v},
        account_id=data.get("account_id"),
    )


@blp.route("/transaction-status-queries", methods=["POST"])
@blp.arguments(TransactionStatusQueryCreateSchema)
@blp.idempotent(recover=recover_with(TransactionStatusQuerySchema(), STATUS))
@blp.response(201, TransactionStatusQuerySchema, description="Accepted: the answer comes later")
@blp.alt_response(200, schema=TransactionStatusQuerySchema, description=RECOVERED, success=True)
@blp.errors(403, 409, 415, 422, 424, 429, 502, 503, 504)
def create_transaction_status_query(data: dict[str, Any]) -> PaymentTransaction:
    """Ask M-Pesa about one transaction, by receipt or by OriginatorConversationID."""
    key = g.get("idempotency_key")
    new = new_status_query(data)
    return services().payments.initiate(g.tenant.id, new, idempotency_key=key, key_mode=g.key_mode)


@blp.route("/transaction-status-queries", methods=["GET"])
@blp.arguments(OperationListQuerySchema, location="query")
@blp.response(200, TransactionStatusQueryListSchema)
@blp.errors(404)
def list_transaction_status_queries(query: dict[str, Any]) -> Page:
    """List transaction status queries, newest first, with cursor pagination."""
    return listing(viewer(), STATUS, query)


@blp.route("/transaction-status-queries/<query_id>", methods=["GET"])
@blp.response(200, TransactionStatusQuerySchema)
@blp.errors(404)
def get_transaction_status_query(query_id: str) -> PaymentTransaction:
    """Fetch one status query: `transaction` holds M-Pesa's answer once its Result arrived."""
    return queries.get_payment(viewer(), query_id, STATUS, noun="transaction status query")
