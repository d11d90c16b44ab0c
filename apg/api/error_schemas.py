"""The error object every error response carries: {"error": {"type", "code", "message", ...}}."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from apg.api.schemas import PaymentSchema


class ErrorBodySchema(ma.Schema):
    type = fields.String(
        required=True,
        metadata={
            "enum": [
                "invalid_request_error",
                "authentication_error",
                "idempotency_error",
                "payment_error",
                "upstream_error",
                "configuration_error",
                "rate_limit_error",
                "api_error",
            ]
        },
    )
    code = fields.String(required=True, metadata={"example": "invalid_request"})
    message = fields.String(required=True, metadata={"description": "What to do about it"})
    param = fields.String(metadata={"description": "The field, query parameter or header"})
    errors = fields.Dict(
        metadata={"description": "Every invalid field, by location: {json: {amount: [...]}}"}
    )
    got = fields.String(metadata={"description": "The Content-Type that was sent"})
    setting = fields.String(
        metadata={"description": "configuration_error: which account setting to check"}
    )
    account_id = fields.String(
        metadata={"description": "configuration_error, key_mode_mismatch: the account"}
    )
    retry_after_seconds = fields.Integer(
        metadata={"description": "When the same request may succeed (e.g. customer busy)"}
    )
    daraja_code = fields.String()
    daraja_message = fields.String()
    payment = fields.Nested(
        PaymentSchema, metadata={"description": "The payment this request recorded, if any"}
    )
    request_id = fields.String(required=True, metadata={"example": "req_4f1c2a9b8e7d6c5b"})


class ErrorSchema(ma.Schema):
    error = fields.Nested(ErrorBodySchema, required=True)
