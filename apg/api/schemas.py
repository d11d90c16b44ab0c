"""Request and response schemas: the validation rules and the OpenAPI document in one place."""

from __future__ import annotations

import numbers
from datetime import UTC
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from apg.payments.lifecycle import PaymentStatus
from apg.payments.models import MERCHANT_EVENT_KINDS
from apg.payments.phone import InvalidPhoneNumber, normalise_msisdn

# Daraja: AccountReference ≤ 12, TransactionDesc ≤ 13 (API.md §2); symbols like @#& break prompts.
REFERENCE = validate.Regexp(
    r"^[A-Za-z0-9][A-Za-z0-9 ._\-]*$",
    error=(
        "use ASCII letters, digits, space, dot (.), dash (-) and underscore (_) only, starting"
        " with a letter or digit: M-Pesa shows it on the customer's phone, where other"
        " characters (#, &, accents, emoji) break the prompt"
    ),
)
# M-Pesa takes whole shillings; amounts travel in cents so that money is never a float.
AMOUNT_RULE = "minimum 100 (KES 1); whole shillings, so a multiple of 100 (10000 = KES 100.00)"


class MultipleOf(validate.Validator):
    """value % base == 0; documented as OpenAPI's multipleOf by the field's metadata."""

    def __init__(self, base: int, error: str) -> None:
        self.base, self.message = base, error

    def __call__(self, value: int) -> int:
        if value % self.base:
            raise ma.ValidationError(self.message)
        return value


class MaxProperties(validate.Validator):
    """At most `limit` keys (validate.Length would be documented as a string's maxLength)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def __call__(self, value: dict[str, Any]) -> dict[str, Any]:
        if len(value) > self.limit:
            raise ma.ValidationError(f"at most {self.limit} keys")
        return value


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
    """ISO 8601; naive times are UTC, and in UTC it must fall in years 1-9999 (it is compared
    in UTC). A space where the offset's `+` was gets a hint: in a query string an unencoded `+`
    arrives as a space."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(default_timezone=UTC, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        moment = self._parse(value, attr, data, **kwargs)
        try:
            moment.astimezone(UTC)
        except OverflowError:  # 9999-12-31T23:59:59-12:00 is in year 10000 in UTC
            raise ma.ValidationError(
                "out of range: in UTC it is before year 1 or after 9999"
            ) from None
        return moment

    def _parse(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        try:
            return super()._deserialize(value, attr, data, **kwargs)
        except ma.ValidationError:
            if isinstance(value, str) and " " in value.strip():
                raise ma.ValidationError(
                    "not an ISO 8601 date-time: a '+' in a URL query string means a space, so"
                    " URL-encode the offset's '+' as %2B (2026-03-01T00:00:00%2B03:00) or use Z"
                ) from None
            raise ma.ValidationError(
                "not an ISO 8601 date-time, e.g. 2026-03-01T00:00:00Z or 2026-03-01"
            ) from None


def amount_field(limits: str = "at least 100 (KES 1)") -> MinorUnits:
    """Cents, whole shillings: every M-Pesa amount field."""
    return MinorUnits(
        required=True,
        validate=[validate.Range(min=100, error=AMOUNT_RULE), MultipleOf(100, AMOUNT_RULE)],
        metadata={
            "description": "Cents (minor units), an integer: 10000 = KES 100.00. M-Pesa takes"
            f" whole shillings, so a multiple of 100; {limits}, and at most"
            " payments.max_amount (default 25000000 = KES 250,000, Daraja's cap).",
            "multipleOf": 100,
            "example": 10000,
        },
    )


def metadata_field() -> fields.Dict:
    return fields.Dict(
        keys=fields.String(validate=validate.Length(1, 40)),
        values=fields.String(validate=validate.Length(max=500)),
        validate=MaxProperties(20),
        metadata={
            "description": "Your own key-value pairs (strings), returned as given; up to 20",
            "maxProperties": 20,
            "example": {"order_id": "42"},
        },
    )


class PaymentCreateSchema(ma.Schema):
    amount = amount_field()
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
        metadata={
            "description": "Shown to the customer (Daraja AccountReference): 1-12 ASCII letters,"
            " digits, space, dot, dash or underscore, starting with a letter or digit",
            "example": "INV-001",
        },
    )
    description = fields.String(
        validate=[validate.Length(1, 13), REFERENCE],
        metadata={
            "description": "Daraja TransactionDesc: 1-13 characters, the same alphabet as"
            " `reference`; defaults to the reference",
            "example": "Order 42",
        },
    )
    customer_id = fields.String(validate=validate.Length(1, 64))
    metadata = metadata_field()
    payment_method_type = fields.String(
        load_default="mpesa_stk", metadata={"description": "Processor; only mpesa_stk today"}
    )


class OutputSchema(ma.Schema):
    """A response body: every field is always present (null where it says so), so the
    document marks them all required and generated clients need no "maybe unset" checks."""

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        field_obj.required = True


def constant(value: str) -> fields.Constant:
    return fields.Constant(value, metadata={"type": "string", "enum": [value]})


def ref(kind: str, description: str) -> fields.Function:
    return fields.Function(
        lambda p: p.ref(kind),
        allow_none=True,
        metadata={"type": "string", "description": description},
    )


class PaymentSchema(OutputSchema):
    id = fields.String(metadata={"example": "pay_01JD3M8Q2ZC5W7K9V4N6R8T0XY"})
    object = constant("payment")
    amount = fields.Integer(
        allow_none=True, metadata={"description": "Cents: 10000 = KES 100.00; null for inquiries"}
    )
    currency = fields.String(metadata={"example": "KES"})
    status = fields.String(metadata={"enum": [s.value for s in PaymentStatus]})
    status_reason = fields.String(
        allow_none=True,
        metadata={"description": "Why it is unknown, in review or failed without M-Pesa's code"},
    )
    transaction_type = fields.String(metadata={"example": "stk_push"})
    phone_number = fields.String(allow_none=True, metadata={"example": "254708374149"})
    reference = fields.String(metadata={"example": "INV-001"})
    description = fields.String(allow_none=True)
    customer_id = fields.String(allow_none=True)
    metadata = fields.Dict(
        keys=fields.String(), values=fields.String(), attribute="metadata_", allow_none=True
    )
    payment_method_type = fields.String(metadata={"example": "mpesa_stk"})
    merchant_request_id = ref("merchant_request_id", "Daraja MerchantRequestID")
    checkout_request_id = ref("checkout_request_id", "Daraja CheckoutRequestID")
    mpesa_receipt_number = fields.String(
        attribute="receipt", allow_none=True, metadata={"example": "NLJ7RT61SV"}
    )
    paid_amount = fields.Integer(
        allow_none=True, metadata={"description": "Cents M-Pesa reports as paid"}
    )
    conflicts = fields.Integer(
        metadata={"description": "Upstream reports that contradicted the settled status"}
    )
    result_code = fields.String(allow_none=True, metadata={"description": "M-Pesa's code"})
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
    starting_after = fields.String(
        validate=validate.Length(1, 40),
        metadata={"description": "Last payment id of the previous page"},
    )
    status = fields.String(validate=validate.OneOf([s.value for s in PaymentStatus]))
    reference = fields.String(
        validate=validate.Length(1, 12), metadata={"description": "Exact match"}
    )
    created_gte = AwareDateTime(
        metadata={"description": "ISO 8601; naive times are UTC; URL-encode `+` as %2B"}
    )
    created_lt = AwareDateTime(metadata={"description": "ISO 8601, exclusive"})


class PaymentEventSchema(OutputSchema):
    id = fields.Integer()
    kind = fields.String(metadata={"enum": list(MERCHANT_EVENT_KINDS)})
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    source = fields.String(metadata={"example": "callback"})
    detail = fields.Dict(allow_none=True)
    created_at = fields.DateTime()


class PaymentEventListSchema(OutputSchema):
    object = constant("list")
    data = fields.List(fields.Nested(PaymentEventSchema))


class PaymentListSchema(OutputSchema):
    object = constant("list")
    has_more = fields.Boolean()
    data = fields.List(fields.Nested(PaymentSchema))
