"""Liveness (the process answers: no I/O at all) and readiness (the database, Redis when
configured, each processor's upstream view, the worker's heartbeat), with a summary: success
rate over the last hour, Daraja's average response time, uptime."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text

from apg.extensions import db
from apg.notifications.models import WorkerHeartbeat
from apg.ops import stats
from apg.ops.latency import DARAJA_CALLS
from apg.services import Services

STARTED = time.monotonic()
REDIS_TIMEOUT_SECONDS = 0.5


def liveness() -> dict[str, Any]:
    """The process is up and serving: no database, no Redis, nothing that can hang."""
    return {"status": "ok", "uptime_seconds": uptime_seconds()}


def readiness(services: Services) -> tuple[dict[str, Any], bool]:
    """Every dependency's state; ready when the database (and Redis, if configured) answer.
    An upstream outage does not make us unready: the breakers already handle it."""
    checks: dict[str, Any] = {"database": _database()}
    if services.settings.app.redis_url:
        checks["redis"] = _redis(services.settings.app.redis_url)
    for name, processor in services.processors.all().items():
        checks[name] = _processor(processor)
    ready = all(checks[dep] == "ok" for dep in ("database", "redis") if dep in checks)
    if checks["database"] == "ok":
        checks["worker_heartbeats"] = _heartbeats(services.clock.now())
    body: dict[str, Any] = {"status": "ok" if ready else "unavailable", "checks": checks}
    body["summary"] = health_summary(services.clock.now()) if checks["database"] == "ok" else None
    return body, ready


def health_summary(now: datetime) -> dict[str, Any]:
    """status, success rate (completed / decided operations created in the last hour), this
    worker's average Daraja response time, Daraja's uptime % (the share of this worker's last
    calls it answered without a transport failure or a 5xx), and this process's uptime."""
    rate = stats.success_rate(now - timedelta(hours=1))
    latency = DARAJA_CALLS.summary()
    return {
        "status": "ok",
        "success_rate_last_hour": rate,
        "daraja_average_ms": latency["average_ms"],
        "latency_scope": latency["latency_scope"],
        "daraja_uptime_percent": DARAJA_CALLS.uptime_percent(),
        "uptime_seconds": uptime_seconds(),
    }


def uptime_seconds() -> float:
    """Since this process (worker) imported the app."""
    return round(time.monotonic() - STARTED, 1)


def _database() -> str:
    try:
        db.session.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:  # reported, not raised: this is the health endpoint
        db.session.rollback()
        return f"error: {type(exc).__name__}"


def _redis(url: str) -> str:
    import redis

    client = redis.Redis.from_url(
        url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
    )
    try:
        client.ping()
        return "ok"
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    finally:
        client.close()


def _processor(processor: Any) -> dict[str, Any]:
    try:
        result = processor.health()
    except Exception as exc:  # e.g. breaker state in an unreachable Redis
        return {"healthy": False, "error": type(exc).__name__}
    return {"healthy": result.healthy, **result.detail}


def _heartbeats(now: datetime) -> dict[str, Any] | str:
    """Each worker's heartbeat age in seconds (the worker beats once a pass)."""
    try:
        rows = db.session.execute(select(WorkerHeartbeat.name, WorkerHeartbeat.beat_at)).all()
    except Exception as exc:
        db.session.rollback()
        return f"error: {type(exc).__name__}"
    return {
        name: round((now - beat_at).total_seconds(), 1) if beat_at else None
        for name, beat_at in rows
    }
