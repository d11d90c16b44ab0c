"""The seeds' endpoint shapes: thin aliases over the v1 payment services (a migration path)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import marshmallow as ma
from flask import g
from marshmallow import fields, validate

from apg.api.auth import viewer
from apg.api.blueprint import Blueprint, Recover
from apg.api.schemas import REFERENCE, MsisdnField, OutputSchema, constant, ref
from apg.errors import APGError, NotFoundError, OutcomeUnknownError, PaymentFailedError
from apg.payments import ports, queries
from apg.payments.lifecycle import PaymentStatus
from apg.payments.models import PaymentTransaction
from apg.payments.service import NewPayment
from apg.services import services

blp = Blueprint(
    "seed aliases",
    __name__,
    description="Migration path: the endpoints of APG's earlier prototypes (the seeds) over the"
    " v1 payments API, with its API key, errors and Idempotency-Key. New code: /api/v1/payments.",
)

PROCESSOR = "mpesa"  # the seeds only ever spoke M-Pesa Express (STK Push)
ACCEPTED = "Success. Request accepted for processing"  # Daraja's STK Push answer
QUERY_ACCEPTED = "The service request has been accepted successfully"  # Daraja's STK Query
PENDING_CODE, PENDING_MESSAGE = "500.001.1001", "The transaction is being processed"


class Shillings(fields.Integer):
    """Whole shillings as a JSON integer; loads as cents, the unit the payment services take."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ma.ValidationError("must be an integer number of whole shillings (100 = KES 100)")
        limits = services().settings.payments
        low, high = limits.min_amount // 100, limits.max_amount // 100
        if not low <= value <= high:
            raise ma.ValidationError(f"must be from {low} to {high} shillings")
        return value * 100


class OrderId(fields.Field):
    """The seed's order id, a string or a non-negative integer; loads as a string."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return str(value)
        if not isinstance(value, str):
            raise ma.ValidationError("must be a string or a non-negative integer")
        return value


def shillings(**kwargs: Any) -> Shillings:
    description = "Whole shillings, not cents (100 = KES 100); at most payments.max_amount / 100"
    metadata = {"minimum": 1, "description": f"{description} (default 250000)", "example": 100}
    return Shillings(required=True, metadata=metadata, **kwargs)


def daraja_text(size: int, description: str, **kwargs: Any) -> fields.String:
    meta = {"description": f"{description}, 1-{size} characters (the v1 `reference` rules)"}
    return fields.String(validate=[validate.Length(1, size), REFERENCE], metadata=meta, **kwargs)


class SeedCheckoutSchema(ma.Schema):
    phone_number = MsisdnField(required=True, metadata={"example": "0708374149"})
    amount = shillings()
    reference = daraja_text(12, "Daraja AccountReference", required=True)
    description = daraja_text(13, "Daraja TransactionDesc; defaults to the reference")

    @ma.post_load
    def new_payment(self, data: dict[str, Any], **kwargs: Any) -> NewPayment:
        return NewPayment(currency="KES", **data)


class SeedQuerySchema(ma.Schema):
    checkout_request_id = fields.String(required=True, validate=validate.Length(1, 64))


class SeedInitiateSchema(ma.Schema):
    order_id = OrderId(
        required=True,
        validate=[validate.Length(1, 12), REFERENCE],
        metadata={
            "oneOf": [{"type": "string"}, {"type": "integer", "minimum": 0}],
            "description": "Your order: the payment's reference (1-12 characters, the v1 rules)"
            " and metadata.order_id. An integer is taken as its decimal digits.",
            "example": "ORD-42",
        },
    )
    phone_number = MsisdnField(required=True, metadata={"example": "0708374149"})
    amount = shillings(
        error_messages={
            "required": "APG keeps no orders (the seed looked the amount up from its own):"
            " send the order's amount in whole shillings."
        }
    )

    @ma.post_load
    def new_payment(self, data: dict[str, Any], **kwargs: Any) -> NewPayment:
        order = data.pop("order_id")
        return NewPayment(currency="KES", reference=order, metadata={"order_id": order}, **data)


def daraja_ref(kind: str, daraja_name: str, allow_none: bool = False) -> fields.Function:
    metadata = {"type": "string", "description": f"Daraja {daraja_name}"}
    return fields.Function(
        lambda p: p.ref(kind), data_key=daraja_name, allow_none=allow_none, metadata=metadata
    )


def daraja_constant(value: str, daraja_name: str) -> fields.Constant:
    metadata = {"type": "string", "enum": [value]}
    return fields.Constant(value, data_key=daraja_name, metadata=metadata)


def whole_shillings() -> fields.Function:
    return fields.Function(lambda p: p.amount // 100, metadata={"type": "integer", "example": 100})


class SeedCheckoutAnswerSchema(OutputSchema):
    """Daraja's STK Push answer, for the payment APG created."""

    merchant_request_id = daraja_ref("merchant_request_id", "MerchantRequestID", allow_none=True)
    checkout_request_id = daraja_ref("checkout_request_id", "CheckoutRequestID")
    response_code = daraja_constant("0", "ResponseCode")
    response_description = daraja_constant(ACCEPTED, "ResponseDescription")
    customer_message = daraja_constant(ACCEPTED, "CustomerMessage")


class SeedLocalTransactionSchema(OutputSchema):
    transaction_no = fields.String(attribute="id", metadata={"description": "The payment id"})
    phone_number = fields.Function(
        lambda p: f"+{p.phone_number}", metadata={"type": "string", "example": "+254708374149"}
    )
    amount = whole_shillings()
    status = fields.Function(
        lambda p: "0" if p.status == PaymentStatus.COMPLETED else "1",
        metadata={"type": "string", "enum": ["0", "1"], "description": '"0": completed; paid'},
    )
    receipt_no = fields.String(attribute="receipt", allow_none=True)
    created = fields.DateTime(attribute="created_at")


class SeedQueryAnswerSchema(ma.Schema):
    """Either Daraja's STK Query result (ResponseCode … ResultDesc) or, before the payment is
    final, Daraja's "being processed" envelope (requestId, errorCode, errorMessage)."""

    response_code = fields.String(data_key="ResponseCode", metadata={"enum": ["0"]})
    response_description = fields.String(data_key="ResponseDescription")
    merchant_request_id = fields.String(data_key="MerchantRequestID", allow_none=True)
    checkout_request_id = fields.String(data_key="CheckoutRequestID")
    result_code = fields.String(data_key="ResultCode", metadata={"example": "0"})
    result_desc = fields.String(data_key="ResultDesc")
    request_id = fields.String(data_key="requestId", metadata={"description": "CheckoutRequestID"})
    error_code = fields.String(data_key="errorCode", metadata={"enum": [PENDING_CODE]})
    error_message = fields.String(data_key="errorMessage", metadata={"enum": [PENDING_MESSAGE]})
    local_transaction = fields.Nested(SeedLocalTransactionSchema, required=True)


class SeedPaymentSchema(OutputSchema):
    success = fields.Constant(True, metadata={"type": "boolean", "enum": [True]})
    payment_id = fields.String(attribute="id")
    order_id = fields.String(attribute="metadata_.order_id", allow_none=True, dump_default=None)
    amount = whole_shillings()
    phone_number = fields.String(metadata={"example": "254708374149"})
    checkout_request_id = ref("checkout_request_id", "Daraja CheckoutRequestID")


class SeedInitiateAnswerSchema(SeedPaymentSchema):
    message = constant(ACCEPTED)


class SeedStatusAnswerSchema(SeedPaymentSchema):
    status = fields.String(metadata={"enum": [s.value for s in PaymentStatus]})
    receipt_no = fields.String(attribute="receipt", allow_none=True)


def daraja_result(txn: PaymentTransaction) -> tuple[str, str] | None:
    """(ResultCode, ResultDesc) once final, else None: M-Pesa's words, or "1" and why if APG's
    verdict differs (failed by an operator, reversed). "0" means completed, always."""
    status = PaymentStatus(txn.status)
    if not status.is_final:
        return None
    paid = status is PaymentStatus.COMPLETED
    why = txn.status_reason or f"The payment is {status}."
    if txn.result_code is not None and (txn.result_code == "0") == paid:
        return txn.result_code, txn.result_desc or why
    return ("0" if paid else "1"), why


def stk_query_answer(txn: PaymentTransaction) -> dict[str, Any]:
    """The payment as Daraja's STK Query would answer for it, plus `local_transaction`."""
    checkout, result = txn.ref("checkout_request_id"), daraja_result(txn)
    if result is None:
        pending = {"request_id": checkout, "error_code": PENDING_CODE}
        return {**pending, "error_message": PENDING_MESSAGE, "local_transaction": txn}
    return {
        "response_code": "0",
        "response_description": QUERY_ACCEPTED,
        "merchant_request_id": txn.ref("merchant_request_id"),
        "checkout_request_id": checkout,
        "result_code": result[0],
        "result_desc": result[1],
        "local_transaction": txn,
    }


def recover_as(schema: ma.Schema) -> Recover:
    """A request that died after recording its payment: answered for it as the route would."""

    def recover(tenant_id: str, key: str, since: datetime) -> tuple[str, int] | None:
        txn = queries.by_idempotency_key(tenant_id, key, since)
        if txn is None:
            return None
        if txn.ref("checkout_request_id"):
            return json.dumps(schema.dump(txn)), 200
        error: APGError = PaymentFailedError(txn.status_reason, payment=txn)
        if txn.status in (PaymentStatus.PENDING, PaymentStatus.UNKNOWN):
            error = OutcomeUnknownError(payment=txn)
        return json.dumps(error.to_dict()), error.status

    return recover


def initiate(new: NewPayment) -> PaymentTransaction:
    key = g.get("idempotency_key")
    return services().payments.initiate(g.tenant.id, new, idempotency_key=key, key_mode=g.key_mode)


def by_checkout_request_id(checkout_request_id: str) -> PaymentTransaction:
    """The tenant's payment with this CheckoutRequestID, refreshed if still processing."""
    found = ports.Ref("checkout_request_id", checkout_request_id)
    txn = services().payments.events.find(g.tenant.id, PROCESSOR, (found,))
    if txn is None or not queries.visible(viewer(), txn.id):  # the key's mode's only
        message = f"No payment has CheckoutRequestID {checkout_request_id!r}."
        raise NotFoundError(message, param="checkout_request_id")
    return services().payments.refresh(g.tenant.id, txn.id)


@blp.route("/payments/checkout/", methods=["POST"])
@blp.arguments(SeedCheckoutSchema)
@blp.idempotent(recover=recover_as(SeedCheckoutAnswerSchema()))
@blp.response(
    200, SeedCheckoutAnswerSchema, description="Daraja's answer: the customer is prompted"
)
@blp.errors(409, 415, 422, 424, 429, 502, 503, 504)
def seed_checkout(new: NewPayment) -> PaymentTransaction:
    """Seed alias: start an STK Push (amount in shillings), answered as Daraja answers.

    Migration path, replaced by `POST /api/v1/payments` (amount in cents; 201 with the payment).
    """
    return initiate(new)


@blp.route("/payments/query/", methods=["POST"])
@blp.arguments(SeedQuerySchema)
@blp.response(200, SeedQueryAnswerSchema, description="Daraja's STK Query answer, plus APG's")
@blp.errors(404, 415, 429, 502, 503, 504)
def seed_query(data: dict[str, str]) -> dict[str, Any]:
    """Seed alias: Daraja's STK Query answer for a payment, plus `local_transaction`.

    Migration path, replaced by `GET /api/v1/payments/{id}?refresh=true`. Asks M-Pesa first if
    still processing. Final: Daraja's result (ResultCode "0" only if completed). Not final
    (pending, processing, unknown, review): Daraja's "being processed" envelope, errorCode
    500.001.1001 — with HTTP 200, not Daraja's 500: nothing failed.
    """
    return stk_query_answer(by_checkout_request_id(data["checkout_request_id"]))


@blp.route("/api/payments/initiate_mpesa/", methods=["POST"])
@blp.arguments(SeedInitiateSchema)
@blp.idempotent(recover=recover_as(SeedInitiateAnswerSchema()))
@blp.response(200, SeedInitiateAnswerSchema, description="The customer is being prompted")
@blp.errors(409, 415, 422, 424, 429, 502, 503, 504)
def seed_initiate_mpesa(new: NewPayment) -> PaymentTransaction:
    """Seed alias: pay for an order by STK Push; `amount` (shillings) is required here.

    Migration path, replaced by `POST /api/v1/payments` (the order id as `reference` and
    `metadata.order_id`). The seed looked the amount up from its order; APG keeps no orders.
    """
    return initiate(new)


@blp.route("/api/payments/<payment_id>/check_status/", methods=["GET"])
@blp.response(200, SeedStatusAnswerSchema, description="The payment, in the seed's shape")
@blp.errors(404, 429, 502, 503, 504)
def seed_check_status(payment_id: str) -> PaymentTransaction:
    """Seed alias: a payment's status, asking M-Pesa (STK Query) when still processing.

    Migration path, replaced by `GET /api/v1/payments/{id}?refresh=true`. `success` is true on
    every 200 (the call worked); `status` says whether the customer paid (`completed`)."""
    visible = queries.get_payment(viewer(), payment_id)  # the other mode's: 404, not asked
    return services().payments.refresh(g.tenant.id, visible.id)
