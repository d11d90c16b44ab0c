"""What /ops/stats shows, per tenant and overall: operations by type and status over a window,
success rate, callbacks received / processed / failed, reconciliation anomalies, merchant
webhook deliveries, and this worker's Daraja latency. Grouped queries that read only indexes
(each holds every column its query groups by), in time proportional to the window: under
100 ms for 24 hours of a million transactions over 90 days (bench/results/explain_1m.txt)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from apg.extensions import db
from apg.notifications.delivery import PENDING
from apg.notifications.models import WebhookDelivery
from apg.ops.latency import DARAJA_CALLS, stats_of
from apg.payments.lifecycle import FINAL_STATUSES, PaymentStatus
from apg.payments.models import OutboxEvent
from apg.payments.models import PaymentTransaction as P
from apg.processors.mpesa.accounts import MpesaAccount
from apg.webhooks.models import CallbackOutcome as Outcome
from apg.webhooks.models import InboundCallback as C

# Every status, spelled out: `status IN (…) AND created_at >= …` is a range scan per status on
# ix_payment_transactions_status_created, where `created_at >= …` alone would read the table.
ALL_STATUSES = [s.value for s in PaymentStatus]
DECIDED = sorted(s.value for s in FINAL_STATUSES)
ANOMALIES = [PaymentStatus.REVIEW.value, PaymentStatus.UNKNOWN.value]
FAILED_CALLBACKS = frozenset(
    {
        Outcome.MALFORMED,
        Outcome.UNKNOWN_TENANT,
        Outcome.RETIRED_TOKEN,
        Outcome.SOURCE_REFUSED,
        Outcome.TOO_LARGE,
    }
)
NO_TENANT = "none"  # callbacks whose URL token matched no tenant


def ops_stats(since: datetime) -> dict[str, Any]:
    """Operations, success rates and callbacks since `since`; anomalies of all time."""
    tenants: dict[str, dict[str, Any]] = defaultdict(_empty)
    overall = _empty()
    for tenant_id, kind, status, count in _operations(since):
        for bucket in (tenants[tenant_id], overall):
            ops = bucket["operations"].setdefault(kind, {})
            ops[status] = ops.get(status, 0) + count
    for tenant_id, outcome, count, processed in _callbacks(since):
        for bucket in (tenants[tenant_id or NO_TENANT], overall):
            _add_callbacks(bucket["callbacks"], outcome, count, processed)
    for tenant_id, status, count in _anomalies():
        for bucket in (tenants[tenant_id], overall):
            bucket["anomalies"][status] += count
    for tenant_id, conflicts in _conflicts(since):
        for bucket in (tenants[tenant_id], overall):
            bucket["anomalies"]["conflicts"] += int(conflicts)
    for tenant_id, latency in _latency_by_tenant().items():
        tenants[tenant_id]["daraja_latency"] = latency
    for bucket in (overall, *tenants.values()):
        bucket["success_rate"] = _rate(bucket["operations"])
    return {
        "since": since.isoformat(),
        "overall": overall,
        "tenants": dict(sorted(tenants.items())),
        "webhook_deliveries": webhook_deliveries(since),
        "daraja_latency": DARAJA_CALLS.summary(),
    }


def _latency_by_tenant() -> dict[str, dict[str, Any]]:
    """This worker's recent Daraja latency per tenant (all its accounts' calls)."""
    by_account = DARAJA_CALLS.times_by_account()
    if not by_account:
        return {}
    owners = db.session.execute(
        select(MpesaAccount.id, MpesaAccount.tenant_id).where(MpesaAccount.id.in_(by_account))
    ).all()
    times: dict[str, list[float]] = defaultdict(list)
    for account_id, tenant_id in owners:
        times[tenant_id] += by_account[account_id]
    return {tenant_id: stats_of(found) for tenant_id, found in times.items()}


def success_rate(since: datetime) -> float | None:
    """Completed / decided (final) operations created since `since`; None when none are."""
    rows = db.session.execute(
        select(P.status, func.count())
        .where(P.status.in_(DECIDED), P.created_at >= since)
        .group_by(P.status)
    ).all()
    return _rate({"all": {status: count for status, count in rows}})


def webhook_deliveries(since: datetime | None = None) -> dict[str, int]:
    """Merchant webhook deliveries by status (pending, delivered, failed): all of them, or
    with `since` those made since then, and every one still pending, however old (the
    backlog: few, on the status index)."""
    query = select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
    if since is None:
        return {str(status): int(count) for status, count in db.session.execute(query).all()}
    found = {
        str(status): int(count)
        for status, count in db.session.execute(
            query.where(WebhookDelivery.created_at >= since, WebhookDelivery.status != PENDING)
        ).all()
    }
    pending = db.session.execute(
        select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.status == PENDING)
    ).scalar_one()
    return {**({PENDING: int(pending)} if pending else {}), **found}


def legacy_stats() -> dict[str, Any]:
    """GET /stats' original shape: payments by status, conflicts, callbacks by outcome."""
    by_status = db.session.execute(select(P.status, func.count()).group_by(P.status)).all()
    conflicts = db.session.execute(select(func.coalesce(func.sum(P.conflicts), 0)))
    callbacks = db.session.execute(select(C.outcome, func.count()).group_by(C.outcome)).all()
    return {
        "payments": dict(by_status),
        "conflicts": int(conflicts.scalar_one()),
        "callbacks": dict(callbacks),
    }


def _operations(since: datetime) -> Any:
    return db.session.execute(
        select(P.tenant_id, P.transaction_type, P.status, func.count())
        .where(P.status.in_(ALL_STATUSES), P.created_at >= since)
        .group_by(P.tenant_id, P.transaction_type, P.status)
    ).all()


def _callbacks(since: datetime) -> Any:
    return db.session.execute(
        select(C.tenant_id, C.outcome, func.count(), func.count(C.processed_at))
        .where(C.received_at >= since)
        .group_by(C.tenant_id, C.outcome)
    ).all()


def _anomalies() -> Any:
    return db.session.execute(
        select(P.tenant_id, P.status, func.count())
        .where(P.status.in_(ANOMALIES))
        .group_by(P.tenant_id, P.status)
    ).all()


def _conflicts(since: datetime) -> Any:
    return db.session.execute(
        select(P.tenant_id, func.sum(P.conflicts))
        .where(P.status.in_(ALL_STATUSES), P.created_at >= since, P.conflicts > 0)
        .group_by(P.tenant_id)
    ).all()


def _empty() -> dict[str, Any]:
    return {
        "operations": {},
        "success_rate": None,
        "callbacks": {"received": 0, "processed": 0, "failed": 0, "by_outcome": {}},
        "anomalies": {status: 0 for status in (*ANOMALIES, "conflicts")},
    }


def _add_callbacks(into: dict[str, Any], outcome: str, count: int, processed: int) -> None:
    into["received"] += count
    into["processed"] += processed
    into["failed"] += count if outcome in FAILED_CALLBACKS else 0
    into["by_outcome"][outcome] = into["by_outcome"].get(outcome, 0) + count


def _rate(operations: dict[str, dict[str, int]]) -> float | None:
    decided = completed = 0
    for statuses in operations.values():
        decided += sum(n for status, n in statuses.items() if status in DECIDED)
        completed += statuses.get(PaymentStatus.COMPLETED.value, 0)
    return round(completed / decided, 4) if decided else None


def outbox_backlog() -> int:
    """Outbox events not yet delivered (ix on delivered_at)."""
    return int(
        db.session.execute(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.delivered_at.is_(None))
        ).scalar_one()
    )
