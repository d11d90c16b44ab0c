"""/api/v1/account: the tenant an API key belongs to, its M-Pesa accounts and the key itself."""

from __future__ import annotations

import marshmallow as ma
from flask import g
from marshmallow import fields

from apg import onboarding
from apg.api.blueprint import Blueprint
from apg.api.schemas import OutputSchema, constant
from apg.services import services

blp = Blueprint(
    "account",
    __name__,
    url_prefix="/api/v1/account",
    description="Who you are to the gateway: your tenant, M-Pesa accounts and this API key.",
)


class MpesaAccountSchema(OutputSchema):
    """An M-Pesa account without its secrets: only whether each one is set."""

    id = fields.String()
    environment = fields.String(metadata={"description": "emulator | sandbox | production"})
    shortcode = fields.String()
    kind = fields.String(metadata={"description": "paybill | till | b2c | b2b"})
    store_number = fields.String(allow_none=True)
    initiator_name = fields.String(allow_none=True)
    has_passkey = fields.Function(
        lambda account: account.passkey_enc is not None, metadata={"type": "boolean"}
    )
    has_initiator_password = fields.Function(
        lambda account: account.initiator_password_enc is not None, metadata={"type": "boolean"}
    )
    created_at = fields.DateTime()


class ApiKeySchema(ma.Schema):
    """Never the key itself, nor its hash: the prefix is what support chats quote."""

    id = fields.String()
    prefix = fields.String(metadata={"example": "apg_test_AbCd"})
    mode = fields.String(metadata={"description": "test | live"})
    created_at = fields.DateTime()
    revoked_at = fields.DateTime(
        allow_none=True, metadata={"description": "When the key stops (or stopped) working"}
    )


class AccountSchema(OutputSchema):
    object = constant("account")
    id = fields.String(attribute="tenant.id", metadata={"description": "The tenant id"})
    name = fields.String(attribute="tenant.name")
    created_at = fields.DateTime(attribute="tenant.created_at")
    callback_url_base = fields.String(
        metadata={
            "description": "Where M-Pesa posts this tenant's callbacks (+ /<kind>). Its token "
            "routes callbacks to you: keep it as private as an API key."
        }
    )
    mpesa_accounts = fields.List(fields.Nested(MpesaAccountSchema))
    api_key = fields.Nested(
        ApiKeySchema(only=("id", "prefix", "mode")),
        metadata={"description": "The key that made this request"},
    )


@blp.route("", methods=["GET"])
@blp.response(200, AccountSchema)
@blp.errors()
def get_account() -> onboarding.MerchantOverview:
    """Your tenant: its name, callback URL base, M-Pesa accounts (no secrets) and this key."""
    return onboarding.describe_merchant(services(), g.tenant.id, api_key=g.api_key)
