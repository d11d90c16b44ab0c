"""Webhook endpoints: create, read, change, delete, and rotate their signing secret.

Every call is scoped to a tenant and the calling key's mode. The secret is random, shown on
creation and rotation only, and stored encrypted (signing needs it back, unlike an API key).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete as delete_rows
from sqlalchemy import select

from apg.crypto import SecretBox
from apg.dbtypes import new_id
from apg.errors import InvalidRequestError, NotFoundError
from apg.extensions import db
from apg.notifications import destinations
from apg.notifications.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

SECRET_PREFIX = "whsec_"
ALL = "*"


@dataclass(frozen=True)
class WithSecret:
    """An endpoint and its secret in clear, the one time it is shown."""

    row: WebhookEndpoint
    secret: str


@dataclass(frozen=True)
class Owner:
    """Whose endpoints a call sees: a tenant's, of one key mode."""

    tenant_id: str
    mode: str


def new_secret() -> str:
    return f"{SECRET_PREFIX}{secrets.token_urlsafe(32)}"


def check_url(url: str, *, production: bool) -> str:
    """An absolute http(s) URL with a host; in production https (the body is not encrypted)
    to a public address (apg.notifications.destinations)."""
    parts = urlsplit(url)
    allowed = ("https",) if production else ("https", "http")
    if parts.scheme not in allowed or not parts.hostname:
        needs = "an https URL" if production else "an http or https URL"
        raise InvalidRequestError(f"url must be {needs} with a host.", param="url")
    refusal = destinations.literal_refusal(parts.hostname) if production else None
    if refusal:
        raise InvalidRequestError(f"url must point at a public address: {refusal}.", param="url")
    return url


def create(
    owner: Owner, data: dict[str, Any], box: SecretBox, now: datetime, *, production: bool
) -> WithSecret:
    secret = new_secret()
    row = WebhookEndpoint(
        id=new_id("we"),
        tenant_id=owner.tenant_id,
        mode=owner.mode,
        url=check_url(data["url"], production=production),
        description=data.get("description"),
        event_types=sorted(set(data["event_types"])),
        enabled=data.get("enabled", True),
        secret_encrypted=box.encrypt(secret),
        created_at=now,
        updated_at=now,
    )
    db.session.add(row)
    db.session.commit()
    return WithSecret(row, secret)


def list_endpoints(owner: Owner) -> list[WebhookEndpoint]:
    """Oldest first (a tenant has a handful)."""
    query = _owned(owner).order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    return list(db.session.execute(query).scalars())


def get(owner: Owner, endpoint_id: str) -> WebhookEndpoint:
    found = db.session.execute(_owned(owner).where(WebhookEndpoint.id == endpoint_id)).scalar()
    if found is None:
        raise NotFoundError(f"No such webhook endpoint: {endpoint_id[:64]!r}.", param="id")
    return found


def update(
    owner: Owner, endpoint_id: str, data: dict[str, Any], now: datetime, *, production: bool
) -> WebhookEndpoint:
    """Change the fields given; the others keep their values."""
    row = get(owner, endpoint_id)
    if "url" in data:
        row.url = check_url(data["url"], production=production)
    if "event_types" in data:
        row.event_types = sorted(set(data["event_types"]))
    for name in ("description", "enabled"):
        if name in data:
            setattr(row, name, data[name])
    row.updated_at = now
    db.session.commit()
    return row


def delete(owner: Owner, endpoint_id: str) -> WebhookEndpoint:
    """Gone with its pending deliveries (and their history): nothing more is sent to it."""
    row = get(owner, endpoint_id)
    deliveries = select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == row.id)
    db.session.execute(
        delete_rows(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries))
    )
    db.session.execute(delete_rows(WebhookDelivery).where(WebhookDelivery.endpoint_id == row.id))
    db.session.delete(row)
    db.session.commit()
    return row


def rotate_secret(owner: Owner, endpoint_id: str, box: SecretBox, now: datetime) -> WithSecret:
    """A new secret signs from now on; the old one stops at once."""
    row = get(owner, endpoint_id)
    secret = new_secret()
    row.secret_encrypted = box.encrypt(secret)
    row.updated_at = now
    db.session.commit()
    return WithSecret(row, secret)


def _owned(owner: Owner) -> Any:
    return select(WebhookEndpoint).where(
        WebhookEndpoint.tenant_id == owner.tenant_id, WebhookEndpoint.mode == owner.mode
    )
