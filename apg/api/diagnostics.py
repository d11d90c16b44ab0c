"""/api/v1/accounts/{account_id}/diagnostics: the credential doctor for one of your M-Pesa
accounts (what Daraja says of each credential, and what to change)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import g
from marshmallow import fields, validate

from apg.api.blueprint import Blueprint
from apg.api.schemas import OutputSchema, constant
from apg.diagnostics import diagnose
from apg.processors.mpesa.doctor import (
    C2B,
    CALLBACKS,
    INITIATOR,
    OAUTH,
    SHORTCODE,
    AccountDiagnosis,
)
from apg.services import services

MAX_WAIT_SECONDS = 10  # the request holds a worker while it waits
CHECK_STATUSES = ["ok", "failed", "warning", "skipped", "pending"]

blp = Blueprint(
    "diagnostics",
    __name__,
    url_prefix="/api/v1/accounts",
    description="The credential doctor: check an M-Pesa account's settings against Daraja.",
)


class DiagnosticsQuerySchema(ma.Schema):
    wait = fields.Float(
        load_default=0,
        validate=validate.Range(0, MAX_WAIT_SECONDS),
        metadata={
            "description": "Seconds (at most 10) to wait for the Result of the balance inquiry"
            " that tests the initiator; 0: answer at once, the initiator check `pending`",
            "example": 5,
        },
    )
    balance_inquiry = fields.String(
        validate=validate.Length(1, 40),
        metadata={
            "description": "Judge this earlier balance inquiry of the account (the id a"
            " `pending` initiator check gave) instead of sending a new one"
        },
    )


class CheckSchema(OutputSchema):
    name = fields.String(metadata={"enum": [OAUTH, SHORTCODE, CALLBACKS, INITIATOR, C2B]})
    status = fields.String(metadata={"enum": CHECK_STATUSES})
    message = fields.String(metadata={"description": "What was found, in plain words"})
    fix = fields.String(
        allow_none=True,
        metadata={"description": "What to change: the setting and the command; null when ok"},
    )
    daraja_code = fields.String(
        allow_none=True,
        metadata={"description": "Daraja's error or result code behind it", "example": "2001"},
    )


class AccountDiagnosisSchema(OutputSchema):
    object = constant("account_diagnosis")
    account_id = fields.String(metadata={"example": "mpa_01JD3M8Q2ZC5W7K9V4N6R8T0XY"})
    environment = fields.String(metadata={"description": "emulator | sandbox | production"})
    kind = fields.String(metadata={"description": "paybill | till | b2c | b2b"})
    shortcode = fields.String()
    status = fields.String(
        metadata={
            "enum": ["ok", "failed", "pending", "warning"],
            "description": "The worst check: failed, then pending, then warning",
        }
    )
    checks = fields.List(
        fields.Nested(CheckSchema),
        metadata={"description": "oauth, shortcode_passkey, callback_urls, initiator, c2b_urls"},
    )


@blp.route("/<account_id>/diagnostics", methods=["GET"])
@blp.arguments(DiagnosticsQuerySchema, location="query")
@blp.response(200, AccountDiagnosisSchema)
@blp.errors(403, 404)
def get_account_diagnostics(query: dict[str, Any], account_id: str) -> AccountDiagnosis:
    """Check an M-Pesa account: OAuth, shortcode and passkey, callback URLs, initiator (by a
    balance inquiry: a real Daraja call that moves no money) and C2B URLs."""
    [found] = diagnose(
        services(),
        g.tenant.id,
        account_id,
        wait_seconds=query["wait"],
        balance_inquiry=query.get("balance_inquiry"),
        key_mode=g.key_mode,
    )
    return found
