"""/api/v1/api-keys: your own API keys: list them, create one, rotate or revoke one, within the
calling key's mode (a test key never mints, rotates or revokes a live key)."""

from __future__ import annotations

import numbers
from datetime import timedelta
from typing import Any

import marshmallow as ma
from flask import g
from marshmallow import fields, validate

from apg.api.blueprint import Blueprint
from apg.api.error_schemas import ErrorSchema
from apg.api.schemas import OutputSchema, constant
from apg.services import services
from apg.tenants import keys
from apg.tenants.service import KEY_MODES, api_keys_of

DAY = 24 * 3600
SHOWN = ("id", "mode", "prefix", "created_at", "last_used_at", "revoked_at")  # never key_hash
MAX_GRACE_SECONDS = int(keys.MAX_GRACE.total_seconds())

blp = Blueprint(
    "api keys",
    __name__,
    url_prefix="/api/v1/api-keys",
    description="Your API keys: list, create, rotate (with a grace period) and revoke them.",
)


class ApiKeyDetailsSchema(OutputSchema):
    """A key as its tenant may see it: never the key itself, nor its hash."""

    object = constant("api_key")
    id = fields.String(metadata={"example": "key_01JD3M8Q2ZC5W7K9V4N6R8T0XY"})
    mode = fields.String(
        metadata={
            "enum": list(KEY_MODES),
            "description": "test: emulator and sandbox accounts only; live: production only",
        }
    )
    prefix = fields.String(
        metadata={"description": "The key's first 13 characters, to tell keys apart"}
    )
    created_at = fields.DateTime()
    last_used_at = fields.DateTime(
        allow_none=True,
        metadata={"description": "When it last authenticated a request (to the minute)"},
    )
    revoked_at = fields.DateTime(
        allow_none=True,
        metadata={
            "description": "When it stops working (a rotated key's grace period ends) or"
            " stopped; null while it has no end"
        },
    )
    active = fields.Boolean(metadata={"description": "Whether it works now"})
    calling_key = fields.Boolean(
        metadata={"description": "true for the key that made this request"}
    )

    @ma.pre_dump
    def state(self, key: Any, **kwargs: Any) -> dict[str, Any]:
        """What the row cannot say alone: whether it works now, whether it is asking."""
        return {
            **{name: getattr(key, name) for name in SHOWN},
            "active": key.works_at(services().clock.now()),
            "calling_key": key.id == g.get("key_id"),
        }


class NewApiKeySchema(ApiKeyDetailsSchema):
    api_key = fields.String(
        metadata={
            "description": "The key itself, shown this once: APG keeps only its hash",
            "example": "apg_test_…",
        }
    )

    @ma.pre_dump
    def state(self, issued: Any, **kwargs: Any) -> dict[str, Any]:
        return {**super().state(issued.row), "api_key": issued.api_key}


class ApiKeyRotationSchema(NewApiKeySchema):
    replaces = fields.Nested(
        ApiKeyDetailsSchema,
        metadata={"description": "The rotated key: it works until its revoked_at"},
    )

    @ma.pre_dump
    def state(self, issued: Any, **kwargs: Any) -> dict[str, Any]:
        return {**super().state(issued), "replaces": issued.replaces}


class RevokedApiKeySchema(ApiKeyDetailsSchema):
    already_revoked = fields.Boolean(
        metadata={"description": "It had stopped working before this request (nothing changed)"}
    )

    @ma.pre_dump
    def state(self, revoked: Any, **kwargs: Any) -> dict[str, Any]:
        return {**super().state(revoked.row), "already_revoked": revoked.already_revoked}


class ApiKeyListSchema(OutputSchema):
    object = constant("list")
    data = fields.List(fields.Nested(ApiKeyDetailsSchema))


class ApiKeyCreateSchema(ma.Schema):
    """Nothing to choose: the new key has the calling key's mode."""


class WholeSeconds(fields.Integer):
    """A JSON integer: no strings, floats or booleans."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ma.ValidationError("must be a whole number of seconds")
        return int(value)


class ApiKeyRotateSchema(ma.Schema):
    grace_seconds = WholeSeconds(
        load_default=DAY,
        validate=validate.Range(0, MAX_GRACE_SECONDS),
        metadata={
            "description": "How long the old key keeps working, to deploy the new one: 0 (stop"
            " it now) to 604800 (7 days); 86400 (a day) by default",
            "example": 3600,
        },
    )


def conflict(description: str) -> Any:
    """A 409 in these routes is the key's state, not an Idempotency-Key in flight."""
    return blp.alt_response(409, schema=ErrorSchema, description=description)


@blp.route("", methods=["GET"])
@blp.response(200, ApiKeyListSchema)
@blp.errors()
def list_api_keys() -> dict[str, Any]:
    """Your keys of both modes, oldest first, revoked ones too: never a key itself."""
    return {"data": api_keys_of(g.tenant.id)}


@blp.route("", methods=["POST"])
@blp.arguments(ApiKeyCreateSchema)
@blp.response(201, NewApiKeySchema, description="The key itself is in `api_key`, shown once")
@blp.errors(415)
def create_api_key(data: dict[str, Any]) -> keys.Issued:
    """Create another key of the calling key's mode (send `{}`): test keys make test keys.

    Idempotency-Key is not honoured: a replay would have to store the key itself, which APG
    only ever stores hashed. A retry after a lost answer makes another key: list your keys and
    revoke the one you never received.
    """
    return keys.issue(g.tenant.id, g.key_mode, services().clock.now())


@blp.route("/<key_id>/rotate", methods=["POST"])
@blp.arguments(ApiKeyRotateSchema)
@blp.response(201, ApiKeyRotationSchema, description="The new key, shown once, and the old one")
@conflict("api_key_not_active: the key is already revoked or retiring")
@blp.errors(403, 404, 415)
def rotate_api_key(data: dict[str, Any], key_id: str) -> keys.Issued:
    """Replace a key: the new one works now, the old one until its grace period ends.

    The old key may be the one making this request (`replaces.calling_key` says so): a leaked
    key's drill. Idempotency-Key is not honoured, as for creating a key.
    """
    grace = timedelta(seconds=data["grace_seconds"])
    return keys.rotate(g.tenant.id, key_id, g.key_mode, grace, services().clock.now())


@blp.route("/<key_id>/revoke", methods=["POST"])
@blp.response(200, RevokedApiKeySchema)
@conflict("last_active_key: the tenant's last active key of its mode (rotate it instead)")
@blp.errors(403, 404)
def revoke_api_key(key_id: str) -> keys.Revoked:
    """Stop a key now, or end its grace period.

    It may be the key making this request (`calling_key` says so). The last active key of a
    mode cannot be revoked (the tenant would be locked out): rotate it instead.
    """
    return keys.revoke(g.tenant.id, key_id, g.key_mode, services().clock.now())
