"""What the console's dashboard shows, gathered in one place so the route stays a render call:
health, activity, callbacks, held operations, breakers, merchant webhooks, reconciliation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from apg.console import charts
from apg.extensions import db
from apg.ops import health, webhook_logs
from apg.ops import stats as ops_stats
from apg.payments import review
from apg.payments.models import PaymentEvent
from apg.services import Services
from apg.tenants.models import Tenant

RECENT_CALLBACKS = 20
HELD = 20
RECONCILE_SOURCE = "reconcile"  # PaymentEvent.source of reconciliation's moves
RECENT_RECONCILED = 10


@dataclass(frozen=True)
class Filters:
    """The activity chart's window (minutes, 15-1440) and optional product and tenant."""

    minutes: int = 60
    product: str | None = None
    tenant: str | None = None


def dashboard(services: Services, filters: Filters) -> dict[str, Any]:
    """Every section's data, for console/dashboard.html."""
    now = services.clock.now()
    ready_body, ready = health.readiness(services)
    checks = ready_body["checks"]
    processors = services.processors.all()
    activity = charts.activity(now, filters.minutes, product=filters.product, tenant=filters.tenant)
    return {
        "now": now,
        "ready": ready,
        "checks": {k: v for k, v in checks.items() if k not in processors},
        "processors": {name: checks.get(name, {}) for name in processors},
        "summary": ready_body.get("summary"),
        "filters": filters,
        "products": sorted({t for p in processors.values() for t in p.lifecycles}),
        "tenants": _tenants(),
        "activity": activity,
        "chart": charts.svg(activity),
        "callbacks": webhook_logs.recent(limit=RECENT_CALLBACKS),
        "held": review.held(services.payments, HELD),
        "breakers": {name: checks.get(name, {}).get("circuit_breakers", {}) for name in processors},
        "outbox_backlog": ops_stats.outbox_backlog(),
        "deliveries": ops_stats.webhook_deliveries(now - timedelta(hours=24)),
        "heartbeats": checks.get("worker_heartbeats"),
        "reconciled": reconciled(now - timedelta(hours=24)),
    }


def reconciled(since: datetime) -> dict[str, Any]:
    """Reconciliation's moves since `since` by the status they made, and its latest moves.
    (It keeps no report of its own: its audit rows are the record.)"""
    recent_rows = (
        PaymentEvent.source == RECONCILE_SOURCE,
        PaymentEvent.created_at >= since,
    )
    by_status = db.session.execute(
        select(PaymentEvent.to_status, func.count())
        .where(*recent_rows)
        .group_by(PaymentEvent.to_status)
        .order_by(PaymentEvent.to_status)
    ).all()
    latest = db.session.execute(
        select(
            PaymentEvent.payment_id,
            PaymentEvent.kind,
            PaymentEvent.from_status,
            PaymentEvent.to_status,
            PaymentEvent.created_at,
        )
        .where(PaymentEvent.source == RECONCILE_SOURCE)
        .order_by(PaymentEvent.id.desc())
        .limit(RECENT_RECONCILED)
    ).all()
    return {"by_status": dict(by_status), "latest": latest}


def _tenants() -> list[tuple[str, str]]:
    rows = db.session.execute(select(Tenant.id, Tenant.name).order_by(Tenant.name))
    return [(row.id, row.name) for row in rows]
