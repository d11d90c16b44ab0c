"""/api/v1/payments: create (STK Push), fetch (optionally refreshed), list."""

from __future__ import annotations

from typing import Any

from flask import g

from apg.api.blueprint import Blueprint
from apg.api.schemas import (
    PaymentCreateSchema,
    PaymentGetQuerySchema,
    PaymentListQuerySchema,
    PaymentListSchema,
    PaymentSchema,
)
from apg.errors import register_serializer
from apg.payments import service
from apg.payments.models import PaymentTransaction

blp = Blueprint(
    "payments",
    __name__,
    url_prefix="/api/v1/payments",
    description="Collect money by M-Pesa Express (STK Push).",
)

register_serializer(PaymentTransaction, PaymentSchema().dump)


@blp.route("", methods=["POST"])
@blp.arguments(PaymentCreateSchema)
@blp.idempotent
@blp.response(201, PaymentSchema)
@blp.errors(400, 409, 422, 424, 502, 503, 504)
def create_payment(data: dict[str, Any]) -> PaymentTransaction:
    """Start a payment: the customer gets an M-Pesa prompt; the answer is `processing`."""
    return service.initiate_payment(g.tenant.id, service.NewPayment(**data))


@blp.route("", methods=["GET"])
@blp.arguments(PaymentListQuerySchema, location="query")
@blp.response(200, PaymentListSchema)
@blp.errors(400, 404)
def list_payments(query: dict[str, Any]) -> service.Page:
    """List payments, newest first, with cursor pagination and filters."""
    return service.list_payments(g.tenant.id, service.PaymentFilter(**query))


@blp.route("/<payment_id>", methods=["GET"])
@blp.arguments(PaymentGetQuerySchema, location="query")
@blp.response(200, PaymentSchema)
@blp.errors(404, 502, 503, 504)
def get_payment(query: dict[str, Any], payment_id: str) -> PaymentTransaction:
    """Fetch one payment; `?refresh=true` asks M-Pesa when it is still processing."""
    if query["refresh"]:
        return service.refresh_payment(g.tenant.id, payment_id)
    return service.get_payment(g.tenant.id, payment_id)
