"""GET /health (liveness: the database, and each processor's view of its upstream; open),
GET /stats (what needs an operator's eye: unknown and review payments, conflicts, callbacks)
and GET /ops/security-events (the security event log); all but /health behind the ops token
(APG_OPS_TOKEN)."""

from __future__ import annotations

import hmac
import logging
from typing import Any

from flask import Blueprint, current_app, request
from sqlalchemy import func, select, text

from apg.errors import InvalidRequestError, OpsAuthenticationError
from apg.extensions import db
from apg.payments.models import PaymentTransaction
from apg.security import events as security_events
from apg.services import services
from apg.webhooks.models import InboundCallback

log = logging.getLogger(__name__)

blp = Blueprint("ops", __name__)
OPEN_ENDPOINTS = {"ops.health"}  # liveness probes carry no credentials


@blp.before_request
def require_ops_token() -> None:
    """Every ops endpoint but /health needs `Authorization: Bearer <ops token>`.

    Development without a token configured leaves them open (warned once per app);
    production cannot start without one (apg.config_checks).
    """
    if request.endpoint in OPEN_ENDPOINTS:
        return
    expected = services().settings.security.ops_token
    if not expected:
        _warn_open_once()
        return
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # compare_digest on bytes: constant time, and no TypeError on non-ASCII input.
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), expected.encode()
    ):
        security_events.record(
            security_events.SecurityEventKind.OPS_AUTH_FAILED,
            services().clock.now(),
            source_ip=request.remote_addr,
            path=request.path,
            reason="missing" if not given.strip() else "wrong token",
        )
        raise OpsAuthenticationError()


def _warn_open_once() -> None:
    if not current_app.extensions.get("apg.ops_open_warned"):
        current_app.extensions["apg.ops_open_warned"] = True
        log.warning("ops endpoints are open: no ops token (APG_OPS_TOKEN) in development")


@blp.route("/health", methods=["GET"])
def health() -> tuple[dict[str, Any], int]:
    checks: dict[str, Any] = {"database": _database()}
    for name, processor in services().processors.all().items():
        result = processor.health()
        checks[name] = {"healthy": result.healthy, **result.detail}
    # Only the database decides liveness: an upstream outage must not get us restarted.
    status = "ok" if checks["database"] == "ok" else "unavailable"
    return {"status": status, "checks": checks}, 200 if status == "ok" else 503


@blp.route("/stats", methods=["GET"])
def stats() -> dict[str, Any]:
    """Counts across tenants (no tenant data): payments by status, conflicts, callbacks."""
    by_status = db.session.execute(
        select(PaymentTransaction.status, func.count()).group_by(PaymentTransaction.status)
    ).all()
    conflicts = db.session.execute(select(func.coalesce(func.sum(PaymentTransaction.conflicts), 0)))
    callbacks = db.session.execute(
        select(InboundCallback.outcome, func.count()).group_by(InboundCallback.outcome)
    ).all()
    return {
        "payments": {status: count for status, count in by_status},
        "conflicts": int(conflicts.scalar_one()),
        "callbacks": {outcome: count for outcome, count in callbacks},
    }


def _database() -> str:
    try:
        db.session.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:  # reported, not raised: this is the health endpoint
        db.session.rollback()
        return f"error: {type(exc).__name__}"


@blp.route("/ops/security-events", methods=["GET"])
def security_event_log() -> dict[str, Any]:
    """Newest first. Filters: kind, tenant_id, limit (1-200, default 50), before (an id:
    the next page of older events)."""
    known = {"kind", "tenant_id", "limit", "before"}
    for name in request.args:
        if name not in known:
            raise InvalidRequestError(
                f"Unknown query parameter {name[:40]!r}; this endpoint accepts:"
                f" {', '.join(sorted(known))}.",
                param=name[:40],
            )
    kind = request.args.get("kind")
    if kind is not None and kind not in security_events.KINDS:
        raise InvalidRequestError(
            f"kind must be one of {', '.join(security_events.KINDS)}.", param="kind"
        )
    limit = _int_arg("limit", 50, 1, 200)
    before = _int_arg("before", 0, 1, 2**62) or None
    found = security_events.recent(
        kind=kind, tenant_id=request.args.get("tenant_id"), before_id=before, limit=limit
    )
    return {
        "data": [event.as_dict() for event in found],
        "next_before": found[-1].id if len(found) == limit else None,
    }


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidRequestError(
            f"{name} must be a whole number from {low} to {high}.", param=name
        )
    return int(raw)
