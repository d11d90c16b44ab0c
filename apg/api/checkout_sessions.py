"""/api/v1/checkout-sessions: a hosted page to send your customer to; they pay on it."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import marshmallow as ma
from flask import g, request
from marshmallow import fields, validate

from apg.api.auth import viewer
from apg.api.blueprint import Blueprint
from apg.api.schemas import (
    REFERENCE,
    AwareDateTime,
    MsisdnField,
    OutputSchema,
    amount_field,
    constant,
    metadata_field,
)
from apg.checkout import service
from apg.checkout.models import STATUSES, CheckoutSession
from apg.checkout.outcomes import as_dict
from apg.checkout.service import NewSession
from apg.errors import InvalidRequestError
from apg.extensions import db
from apg.notifications.endpoints import check_url
from apg.services import services

blp = Blueprint(
    "checkout sessions",
    __name__,
    url_prefix="/api/v1/checkout-sessions",
    description="Hosted checkout: a page your customer pays on (prompt, Paybill or QR).",
)


def redirect_field() -> fields.String:
    return fields.String(
        required=True,
        validate=validate.Length(1, 2048),
        metadata={
            "description": "Where the page sends the customer, with ?session_id=cs_… added;"
            " https (http only outside production)",
            "example": "https://shop.example/orders/42/paid",
        },
    )


class CheckoutSessionCreateSchema(ma.Schema):
    amount = amount_field()
    currency = fields.String(load_default="KES", validate=validate.OneOf(["KES"]))
    reference = fields.String(
        required=True,
        validate=[validate.Length(1, 12), REFERENCE],
        metadata={"description": "Shown on the page and the customer's phone", "example": "INV-42"},
    )
    description = fields.String(validate=[validate.Length(1, 13), REFERENCE])
    success_url = redirect_field()
    cancel_url = redirect_field()
    phone_number = MsisdnField(
        metadata={"description": "Prefilled on the page (the customer may change it)"}
    )
    expires_at = AwareDateTime(
        metadata={"description": "5 minutes to 24 hours from now; default 30 minutes"}
    )
    metadata = metadata_field()


class CheckoutSessionSchema(OutputSchema):
    object = constant("checkout_session")
    id = fields.String(metadata={"example": "cs_3f2a9c0d1e2b3a4c5d6e7f80"})
    url = fields.String(
        allow_none=True, metadata={"description": "The page, while the session is open"}
    )
    status = fields.String(metadata={"enum": list(STATUSES)})
    amount = fields.Integer()
    currency = fields.String()
    reference = fields.String()
    description = fields.String(allow_none=True)
    phone_number = fields.String(allow_none=True)
    account_number = fields.String(
        metadata={"description": "What a Paybill payment names as its account number"}
    )
    success_url = fields.String()
    cancel_url = fields.String()
    payment_id = fields.String(allow_none=True, metadata={"description": "What paid it"})
    attempts = fields.Integer(metadata={"description": "Prompts sent from the page"})
    metadata = fields.Dict(allow_none=True)
    expires_at = fields.DateTime()
    created_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)
    expired_at = fields.DateTime(allow_none=True)

    @ma.pre_dump
    def shown(self, session: CheckoutSession, **kwargs: Any) -> dict[str, Any]:
        return {**as_dict(session, page_url(session)), "object": "checkout_session"}


class CheckoutSessionListQuerySchema(ma.Schema):
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100))
    starting_after = fields.String(
        validate=validate.Length(1, 40),
        metadata={"description": "Last session id of the previous page"},
    )
    status = fields.String(validate=validate.OneOf(STATUSES))


class CheckoutSessionListSchema(OutputSchema):
    object = constant("list")
    has_more = fields.Boolean()
    data = fields.List(fields.Nested(CheckoutSessionSchema))


def page_url(session: CheckoutSession) -> str | None:
    if session.status != "open":
        return None
    return f"{request.host_url.rstrip('/')}/checkout/{services().checkout.token_of(session)}"


def existing_session(tenant_id: str, key: str, since: datetime) -> tuple[str, int] | None:
    """What a request that died after creating its session left behind: that session."""
    found = db.session.execute(
        db.select(CheckoutSession).where(
            CheckoutSession.tenant_id == tenant_id,
            CheckoutSession.idempotency_key == key,
            CheckoutSession.created_at >= since,
        )
    ).scalar()
    return None if found is None else (json.dumps(CheckoutSessionSchema().dump(found)), 200)


@blp.route("", methods=["POST"])
@blp.arguments(CheckoutSessionCreateSchema)
@blp.idempotent(recover=existing_session)
@blp.response(201, CheckoutSessionSchema, description="Created: send your customer to `url`")
@blp.errors(409, 415, 422)
def create_checkout_session(data: dict[str, Any]) -> CheckoutSession:
    """Create a page for one payment; redirect your customer to its `url`."""
    production = services().settings.is_production
    for name in ("success_url", "cancel_url"):
        try:
            check_url(data[name], production=production)
        except InvalidRequestError as exc:
            message = exc.message.replace("url must", f"{name} must")
            raise InvalidRequestError(message, param=name) from None
    session, _ = services().checkout.create(
        g.tenant.id,
        NewSession(**data),
        key_mode=g.key_mode,
        idempotency_key=g.get("idempotency_key"),
    )
    return session


@blp.route("", methods=["GET"])
@blp.arguments(CheckoutSessionListQuerySchema, location="query")
@blp.response(200, CheckoutSessionListSchema)
@blp.errors(404)
def list_checkout_sessions(query: dict[str, Any]) -> dict[str, Any]:
    """Your checkout sessions, newest first, with cursor pagination."""
    rows, more = service.list_sessions(viewer(), **query)
    return {"data": rows, "has_more": more}


@blp.route("/<session_id>", methods=["GET"])
@blp.response(200, CheckoutSessionSchema)
@blp.errors(404)
def get_checkout_session(session_id: str) -> CheckoutSession:
    """Fetch one session: `status`, and `payment_id` once paid."""
    return service.get_session(viewer(), session_id)
