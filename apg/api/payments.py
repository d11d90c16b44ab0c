"""/api/v1/payments: create (STK Push), fetch (optionally refreshed), list, audit trail."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import g

from apg.api.auth import viewer
from apg.api.blueprint import Blueprint
from apg.api.schemas import (
    PaymentCreateSchema,
    PaymentEventListSchema,
    PaymentGetQuerySchema,
    PaymentListQuerySchema,
    PaymentListSchema,
    PaymentSchema,
)
from apg.errors import register_serializer
from apg.payments import queries
from apg.payments.models import PaymentTransaction
from apg.payments.queries import Page, PaymentFilter
from apg.payments.service import NewPayment
from apg.services import services

blp = Blueprint(
    "payments",
    __name__,
    url_prefix="/api/v1/payments",
    description="Collect money by M-Pesa Express (STK Push).",
)

register_serializer(PaymentTransaction, PaymentSchema().dump)
RECOVERED = (
    "An earlier request with this Idempotency-Key recorded this payment and died before"
    " answering: this is that payment as it stands (Idempotent-Replayed: true)"
)


def existing_payment(tenant_id: str, key: str, since: datetime) -> tuple[str, int] | None:
    """What a request that died after recording its payment left behind: that payment."""
    txn = queries.by_idempotency_key(tenant_id, key, since)
    return None if txn is None else (json.dumps(PaymentSchema().dump(txn)), 200)


@blp.route("", methods=["POST"])
@blp.arguments(PaymentCreateSchema)
@blp.idempotent(recover=existing_payment)
@blp.response(201, PaymentSchema, description="Created: the customer is being prompted")
@blp.alt_response(200, schema=PaymentSchema, description=RECOVERED, success=True)
@blp.errors(409, 415, 422, 424, 429, 502, 503, 504)
def create_payment(data: dict[str, Any]) -> PaymentTransaction:
    """Start a payment: the customer gets an M-Pesa prompt; the answer is `processing`."""
    key = g.get("idempotency_key")
    new = NewPayment(**data)  # no account_id: the key's mode picks among the tenant's accounts
    return services().payments.initiate(g.tenant.id, new, idempotency_key=key, key_mode=g.key_mode)


@blp.route("", methods=["GET"])
@blp.arguments(PaymentListQuerySchema, location="query")
@blp.response(200, PaymentListSchema)
@blp.errors(404)
def list_payments(query: dict[str, Any]) -> Page:
    """List payments, newest first, with cursor pagination and filters."""
    return queries.list_payments(viewer(), PaymentFilter(**query))


@blp.route("/<payment_id>", methods=["GET"])
@blp.arguments(PaymentGetQuerySchema, location="query")
@blp.response(200, PaymentSchema)
@blp.errors(404, 429, 502, 503, 504)
def get_payment(query: dict[str, Any], payment_id: str) -> PaymentTransaction:
    """Fetch one payment; `?refresh=true` asks M-Pesa when it is still processing."""
    payment = queries.get_payment(viewer(), payment_id)  # another mode's: 404, nothing asked
    if query["refresh"]:
        return services().payments.refresh(g.tenant.id, payment.id)
    return payment


@blp.route("/<payment_id>/events", methods=["GET"])
@blp.response(200, PaymentEventListSchema)
@blp.errors(404)
def list_payment_events(payment_id: str) -> dict[str, Any]:
    """The payment's audit trail: every transition, enrichment and conflict, oldest first."""
    return {"data": queries.events_of(viewer(), payment_id)}
