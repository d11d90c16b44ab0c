"""/api/v1/webhook-endpoints: where your events are POSTed, signed with the endpoint's secret."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import g
from marshmallow import fields, validate

from apg.api.blueprint import Blueprint
from apg.api.schemas import OutputSchema, constant
from apg.notifications import endpoints
from apg.notifications.endpoints import Owner, WithSecret
from apg.notifications.models import WebhookEndpoint
from apg.payments.announcements import event_types
from apg.services import services

SUBSCRIBABLE = [endpoints.ALL, *event_types()]

blp = Blueprint(
    "webhook endpoints",
    __name__,
    url_prefix="/api/v1/webhook-endpoints",
    description="Webhook endpoints: the URLs your events are POSTed to, and their secrets.",
)


def url_field(**kwargs: Any) -> fields.String:
    return fields.String(
        validate=validate.Length(1, 2048),
        metadata={
            "description": "https (http only in development); receives POSTs of events",
            "example": "https://shop.example/apg/webhooks",
        },
        **kwargs,
    )


def event_types_field(**kwargs: Any) -> fields.List:
    return fields.List(
        fields.String(validate=validate.OneOf(SUBSCRIBABLE)),
        validate=validate.Length(1, len(SUBSCRIBABLE)),
        metadata={"description": 'The event types to send ("*" = all)', "example": ["*"]},
        **kwargs,
    )


class WebhookEndpointCreateSchema(ma.Schema):
    url = url_field(required=True)
    event_types = event_types_field(required=True)
    description = fields.String(validate=validate.Length(0, 255), allow_none=True)
    enabled = fields.Boolean(load_default=True)


class WebhookEndpointUpdateSchema(ma.Schema):
    url = url_field()
    event_types = event_types_field()
    description = fields.String(validate=validate.Length(0, 255), allow_none=True)
    enabled = fields.Boolean()


class WebhookEndpointSchema(OutputSchema):
    object = constant("webhook_endpoint")
    id = fields.String(metadata={"example": "we_3f2a9c0d1e2b3a4c5d6e7f80"})
    url = fields.String()
    description = fields.String(allow_none=True)
    event_types = fields.List(fields.String())
    enabled = fields.Boolean()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class NewWebhookEndpointSchema(WebhookEndpointSchema):
    secret = fields.String(
        metadata={
            "description": "The signing secret, shown this once (and on rotation)",
            "example": "whsec_…",
        }
    )

    @ma.pre_dump
    def unwrap(self, shown: WithSecret, **kwargs: Any) -> dict[str, Any]:
        names = WebhookEndpointSchema().fields
        return {
            **{n: getattr(shown.row, n) for n in names if n != "object"},
            "secret": shown.secret,
        }


class WebhookEndpointListSchema(OutputSchema):
    object = constant("list")
    data = fields.List(fields.Nested(WebhookEndpointSchema))


class DeletedWebhookEndpointSchema(OutputSchema):
    object = constant("webhook_endpoint")
    id = fields.String()
    deleted = fields.Constant(True, metadata={"type": "boolean", "enum": [True]})


def owner() -> Owner:
    return Owner(g.tenant.id, g.key_mode)


def production() -> bool:
    return services().settings.is_production


@blp.route("", methods=["POST"])
@blp.arguments(WebhookEndpointCreateSchema)
@blp.response(201, NewWebhookEndpointSchema, description="The secret is in `secret`, shown once")
@blp.errors(415)
def create_webhook_endpoint(data: dict[str, Any]) -> WithSecret:
    """Add an endpoint for the calling key's mode; it hears events of that mode only."""
    found = services()
    return endpoints.create(
        owner(), data, found.secrets, found.clock.now(), production=production()
    )


@blp.route("", methods=["GET"])
@blp.response(200, WebhookEndpointListSchema)
@blp.errors()
def list_webhook_endpoints() -> dict[str, Any]:
    """Your endpoints of the calling key's mode, oldest first: never their secrets."""
    return {"data": endpoints.list_endpoints(owner())}


@blp.route("/<endpoint_id>", methods=["GET"])
@blp.response(200, WebhookEndpointSchema)
@blp.errors(404)
def get_webhook_endpoint(endpoint_id: str) -> WebhookEndpoint:
    """Fetch one endpoint (not its secret)."""
    return endpoints.get(owner(), endpoint_id)


@blp.route("/<endpoint_id>", methods=["PATCH"])
@blp.arguments(WebhookEndpointUpdateSchema)
@blp.response(200, WebhookEndpointSchema)
@blp.errors(404, 415)
def update_webhook_endpoint(data: dict[str, Any], endpoint_id: str) -> WebhookEndpoint:
    """Change the URL, event types, description or enabled; fields not sent are kept."""
    now = services().clock.now()
    return endpoints.update(owner(), endpoint_id, data, now, production=production())


@blp.route("/<endpoint_id>", methods=["DELETE"])
@blp.response(200, DeletedWebhookEndpointSchema)
@blp.errors(404)
def delete_webhook_endpoint(endpoint_id: str) -> WebhookEndpoint:
    """Delete an endpoint: deliveries still pending to it are dropped."""
    return endpoints.delete(owner(), endpoint_id)


@blp.route("/<endpoint_id>/rotate-secret", methods=["POST"])
@blp.response(200, NewWebhookEndpointSchema, description="The new secret, shown once")
@blp.errors(404)
def rotate_webhook_endpoint_secret(endpoint_id: str) -> WithSecret:
    """Replace the signing secret: the new one signs from now on, the old one no longer."""
    found = services()
    return endpoints.rotate_secret(owner(), endpoint_id, found.secrets, found.clock.now())
