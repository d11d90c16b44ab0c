"""Request and response schemas: the validation rules and the OpenAPI document in one place."""

from __future__ import annotations

import numbers
from datetime import UTC
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from apg.payments.lifecycle import PaymentStatus
from apg.payments.phone import InvalidPhoneNumber, normalise_msisdn

# Daraja: AccountReference ≤ 12, TransactionDesc ≤ 13 (API.md §2); symbols like @#& break prompts.
REFERENCE = validate.Regexp(
    r"^[A-Za-z0-9][A-Za-z0-9 ._\-]*$",
    error="may contain letters, digits, space, dot, dash and underscore",
)


class MinorUnits(fields.Integer):
    """A JSON integer (no strings, floats or booleans): money never travels as a float."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ma.ValidationError("must be an integer number of minor units (cents)")
        return int(value)


class MsisdnField(fields.String):
    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return normalise_msisdn(text)
        except InvalidPhoneNumber as exc:
            raise ma.ValidationError(str(exc)) from exc


class AwareDateTime(fields.AwareDateTime):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(default_timezone=UTC, **kwargs)


class PaymentCreateSchema(ma.Schema):
    amount = MinorUnits(
        required=True,
        validate=validate.Range(min=1),
        metadata={"description": "Minor units: 10000 = KES 100.00", "example": 10000},
    )
    currency = fields.String(load_default="KES", validate=validate.OneOf(["KES"]))
    phone_number = MsisdnField(
        required=True,
        metadata={
            "description": "07XX…, 01XX…, 7XX…, +2547… or 2547…; stored as 2547…/2541…",
            "example": "0708374149",
        },
    )
    reference = fields.String(
        required=True,
        validate=[validate.Length(1, 12), REFERENCE],
        metadata={"description": "Daraja AccountReference", "example": "INV-001"},
    )
    description = fields.String(
        validate=[validate.Length(1, 13), REFERENCE],
        metadata={"description": "Daraja TransactionDesc", "example": "Order 42"},
    )
    customer_id = fields.String(validate=validate.Length(1, 64))
    metadata = fields.Dict(
        keys=fields.String(validate=validate.Length(1, 40)),
        values=fields.String(validate=validate.Length(max=500)),
        validate=validate.Length(max=20),
    )
    payment_method_type = fields.String(
        load_default="mpesa_stk", metadata={"description": "Processor; only mpesa_stk today"}
    )


class PaymentSchema(ma.Schema):
    id = fields.String()
    object = fields.Constant("payment")
    amount = fields.Integer()
    currency = fields.String()
    status = fields.String(metadata={"enum": [s.value for s in PaymentStatus]})
    status_reason = fields.String(
        allow_none=True,
        metadata={"description": "Why it is unknown, in review or failed without M-Pesa's code"},
    )
    transaction_type = fields.String()
    phone_number = fields.String()
    reference = fields.String()
    description = fields.String(allow_none=True)
    customer_id = fields.String(allow_none=True)
    metadata = fields.Dict(attribute="metadata_", allow_none=True)
    payment_method_type = fields.String()
    merchant_request_id = fields.Function(lambda p: p.ref("merchant_request_id"), allow_none=True)
    checkout_request_id = fields.Function(lambda p: p.ref("checkout_request_id"), allow_none=True)
    mpesa_receipt_number = fields.String(attribute="receipt", allow_none=True)
    paid_amount = fields.Integer(
        allow_none=True, metadata={"description": "Minor units M-Pesa reports as paid"}
    )
    conflicts = fields.Integer(
        metadata={"description": "Upstream reports that contradicted the settled status"}
    )
    result_code = fields.String(allow_none=True)
    result_desc = fields.String(allow_none=True)
    transaction_date = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    finalized_at = fields.DateTime(allow_none=True)


class PaymentGetQuerySchema(ma.Schema):
    refresh = fields.Boolean(
        load_default=False,
        metadata={
            "description": "When still processing, ask M-Pesa (STK Query) and apply its answer"
        },
    )


class PaymentListQuerySchema(ma.Schema):
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100))
    starting_after = fields.String(metadata={"description": "Last payment id of the previous page"})
    status = fields.String(validate=validate.OneOf([s.value for s in PaymentStatus]))
    reference = fields.String(validate=validate.Length(1, 64))
    created_gte = AwareDateTime(metadata={"description": "ISO 8601; naive times are UTC"})
    created_lt = AwareDateTime()


class PaymentEventSchema(ma.Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"enum": ["created", "transition", "enrichment", "conflict"]})
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    source = fields.String()
    detail = fields.Dict(allow_none=True)
    created_at = fields.DateTime()


class PaymentEventListSchema(ma.Schema):
    object = fields.Constant("list")
    data = fields.List(fields.Nested(PaymentEventSchema))


class PaymentListSchema(ma.Schema):
    object = fields.Constant("list")
    has_more = fields.Boolean()
    data = fields.List(fields.Nested(PaymentSchema))


class ErrorBodySchema(ma.Schema):
    type = fields.String()
    code = fields.String()
    message = fields.String()
    param = fields.String()
    daraja_code = fields.String()
    daraja_message = fields.String()
    payment = fields.Nested(PaymentSchema)
    request_id = fields.String()


class ErrorSchema(ma.Schema):
    error = fields.Nested(ErrorBodySchema)
