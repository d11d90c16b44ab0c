"""/api/v1/events: what happened to your transactions, the bodies webhooks deliver."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import g
from marshmallow import fields, validate

from apg.api.auth import viewer
from apg.api.blueprint import Blueprint
from apg.api.operations import list_schema
from apg.api.schemas import OutputSchema, constant
from apg.notifications import delivery, events
from apg.payments.announcements import event_types
from apg.payments.models import OutboxEvent
from apg.services import services

blp = Blueprint(
    "events",
    __name__,
    url_prefix="/api/v1/events",
    description="Events: every outcome of your transactions, as webhooks deliver them.",
)


class EventSchema(OutputSchema):
    """The body a webhook POSTs, and what GET /events/{id} answers."""

    id = fields.Function(events.public_id, metadata={"type": "string", "example": "evt_42"})
    object = constant("event")
    type = fields.String(metadata={"enum": event_types(), "example": "payment.completed"})
    created_at = fields.DateTime()
    data = fields.Dict(
        attribute="payload",
        metadata={
            "description": "The transaction as it was then: id, object (payment, payout…),"
            " status, previous_status, amount, currency, reference, receipt, result_code,"
            " result_desc, created_at, updated_at"
        },
    )


class RedeliverySchema(OutputSchema):
    object = constant("event_redelivery")
    event_id = fields.String(metadata={"example": "evt_42"})
    webhook_endpoints = fields.List(
        fields.String(), metadata={"description": "The endpoints it is queued to, due now"}
    )


EventListSchema = list_schema(EventSchema, "EventList")


class EventListQuerySchema(ma.Schema):
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100))
    starting_after = fields.String(
        validate=validate.Length(1, 40), metadata={"description": "Last id of the previous page"}
    )
    type = fields.String(validate=validate.OneOf(event_types()))


@blp.route("", methods=["GET"])
@blp.arguments(EventListQuerySchema, location="query")
@blp.response(200, EventListSchema)
@blp.errors(404)
def list_events(query: dict[str, Any]) -> events.EventPage:
    """List events, newest first, with cursor pagination; `type` filters by event type."""
    return events.list_events(viewer(), **query)


@blp.route("/<event_id>", methods=["GET"])
@blp.response(200, EventSchema)
@blp.errors(404)
def get_event(event_id: str) -> OutboxEvent:
    """Fetch one event."""
    return events.get_event(viewer(), event_id)


@blp.route("/<event_id>/redeliver", methods=["POST"])
@blp.response(202, RedeliverySchema, description="Queued: the worker POSTs it on its next pass")
@blp.errors(404)
def redeliver_event(event_id: str) -> dict[str, Any]:
    """Send an event again to every enabled endpoint that wants it, on a fresh schedule."""
    event = events.get_event(viewer(), event_id)
    queued = delivery.redeliver(event, g.key_mode, services().clock.now())
    return {"event_id": events.public_id(event), "webhook_endpoints": queued}
