"""Reading the merchant's events (outbox rows), scoped like the transactions they announce."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, select

from apg.errors import NotFoundError
from apg.extensions import db
from apg.payments.models import OutboxEvent
from apg.payments.queries import Scope

PREFIX = "evt_"


def public_id(event: OutboxEvent) -> str:
    return f"{PREFIX}{event.id}"


@dataclass(frozen=True)
class EventPage:
    data: list[OutboxEvent] = field(default_factory=list)
    has_more: bool = False


def get_event(scope: Scope, event_id: str, param: str = "id") -> OutboxEvent:
    """The scope's event by its public id (evt_<n>); 404 for anyone else's or a malformed id."""
    number = event_id.removeprefix(PREFIX)
    found = None
    if event_id.startswith(PREFIX) and number.isascii() and number.isdigit() and len(number) < 19:
        found = db.session.execute(_scoped(scope).where(OutboxEvent.id == int(number))).scalar()
    if found is None:
        raise NotFoundError(f"No such event: {event_id[:64]!r}.", param=param)
    return found


def list_events(
    scope: Scope, limit: int = 20, starting_after: str | None = None, type: str | None = None
) -> EventPage:
    """Newest first; `starting_after` is the last id of the previous page (ids only grow)."""
    query = _scoped(scope)
    if starting_after:
        anchor = get_event(scope, starting_after, param="starting_after")
        query = query.where(OutboxEvent.id < anchor.id)
    if type:
        query = query.where(OutboxEvent.type == type)
    rows = list(
        db.session.execute(query.order_by(OutboxEvent.id.desc()).limit(limit + 1)).scalars()
    )
    return EventPage(data=rows[:limit], has_more=len(rows) > limit)


def _scoped(scope: Scope) -> Select[Any]:
    """Events of the transactions the scope may read (a test key never sees a live event).

    The tenant is the event's own column (an event's transaction is of its tenant): the same
    condition on the transaction too would make the planner expect few rows and read every
    tenant's events in parallel (bench/explain.py, a quiet tenant of a million payments)."""
    return select(OutboxEvent).where(
        OutboxEvent.tenant_id == scope.tenant_id, *scope.account_clauses(OutboxEvent.account_id)
    )


def as_dict(event: OutboxEvent) -> dict[str, Any]:
    """The event as GET /events/{id} shows it: the body a webhook POSTs."""
    return {
        "id": public_id(event),
        "object": "event",
        "type": event.type,
        "created_at": event.created_at.isoformat(),
        "data": event.payload,
    }
