"""The inbound callback log for operators: newest first, what happened to each, and never
its body (payer data) nor the URL token (it is not stored)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from apg.extensions import db
from apg.webhooks.models import InboundCallback as C

COLUMNS = (
    C.id,
    C.kind,
    C.tenant_id,
    C.outcome,
    C.processed_at,
    C.error,
    C.received_at,
    C.source_ip,
    C.body_size,
)


def recent(
    *, limit: int, before_id: int | None = None, tenant_id: str | None = None
) -> list[dict[str, Any]]:
    """Up to `limit` callbacks older than `before_id` (all when None), newest first."""
    query = select(*COLUMNS).order_by(C.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(C.id < before_id)
    if tenant_id is not None:
        query = query.where(C.tenant_id == tenant_id)
    return [_entry(row) for row in db.session.execute(query)]


def _entry(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "tenant_id": row.tenant_id,
        "outcome": row.outcome,
        "processed": row.processed_at is not None,
        "error": row.error,
        "received_at": row.received_at.isoformat(),
        "source_ip": row.source_ip,
        "body_size": row.body_size,
    }
