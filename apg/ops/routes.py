"""Ops endpoints. Open, for probes: GET /health (liveness) and GET /health/ready (readiness).
Behind the ops token (APG_OPS_TOKEN): GET /stats, /ops/stats, /ops/webhook-logs,
/ops/security-events and /metrics (Prometheus)."""

from __future__ import annotations

import hmac
import logging
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, current_app, request

from apg.errors import InvalidRequestError, OpsAuthenticationError
from apg.ops import health as ops_health
from apg.ops import metrics, webhook_logs
from apg.ops import stats as ops_stats
from apg.security import events as security_events
from apg.services import services

log = logging.getLogger(__name__)

blp = Blueprint("ops", __name__)
OPEN_ENDPOINTS = {"ops.health", "ops.ready"}  # probes carry no credentials


@blp.before_request
def require_ops_token() -> None:
    """Every ops endpoint but the probes needs `Authorization: Bearer <ops token>`.

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
def health() -> dict[str, Any]:
    """Liveness: answers while the process does, even with the database down."""
    return ops_health.liveness()


@blp.route("/health/ready", methods=["GET"])
def ready() -> tuple[dict[str, Any], int]:
    """Readiness: 503 while the database (or Redis, when configured) does not answer."""
    body, is_ready = ops_health.readiness(services())
    return body, 200 if is_ready else 503


@blp.route("/stats", methods=["GET"])
def stats() -> dict[str, Any]:
    """Counts across tenants, all time: payments by status, conflicts, callbacks by outcome."""
    return ops_stats.legacy_stats()


@blp.route("/ops/stats", methods=["GET"])
def detailed_stats() -> dict[str, Any]:
    """Per tenant and overall over the last `hours` (1-720, default 24); see apg.ops.stats."""
    _only({"hours"})
    hours = _int_arg("hours", 24, 1, 720)
    return ops_stats.ops_stats(services().clock.now() - timedelta(hours=hours))


@blp.route("/ops/webhook-logs", methods=["GET"])
def webhook_log() -> dict[str, Any]:
    """Inbound callbacks, newest first. Filters: tenant_id, limit (1-200, default 50), before
    (an id: the next page of older callbacks)."""
    _only({"tenant_id", "limit", "before"})
    limit = _int_arg("limit", 50, 1, 200)
    before = _int_arg("before", 0, 1, 2**62) or None
    found = webhook_logs.recent(
        limit=limit, before_id=before, tenant_id=request.args.get("tenant_id")
    )
    return {"data": found, "next_before": found[-1]["id"] if len(found) == limit else None}


@blp.route("/metrics", methods=["GET"])
def prometheus_metrics() -> Response:
    """Prometheus text format: every worker's counters, and scrape-time gauges."""
    metrics.set_breaker_states(_breaker_states())
    body = metrics.render(
        [
            metrics.outbox_backlog(ops_stats.outbox_backlog()),
            metrics.webhook_deliveries(ops_stats.webhook_deliveries()),
        ]
    )
    return Response(body, content_type=metrics.CONTENT_TYPE)


def _breaker_states() -> dict[str, str]:
    states = {}
    for name, processor in services().processors.all().items():
        breakers = processor.health().detail.get("circuit_breakers", {})
        states.update({f"{name} {key}": b["state"] for key, b in breakers.items()})
    return states


@blp.route("/ops/security-events", methods=["GET"])
def security_event_log() -> dict[str, Any]:
    """Newest first. Filters: kind, tenant_id, limit (1-200, default 50), before (an id:
    the next page of older events)."""
    _only({"kind", "tenant_id", "limit", "before"})
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


def _only(known: set[str]) -> None:
    for name in request.args:
        if name not in known:
            raise InvalidRequestError(
                f"Unknown query parameter {name[:40]!r}; this endpoint accepts:"
                f" {', '.join(sorted(known))}.",
                param=name[:40],
            )


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidRequestError(
            f"{name} must be a whole number from {low} to {high}.", param=name
        )
    return int(raw)
