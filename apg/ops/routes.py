"""GET /health: database reachability and each processor's view of its upstream."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from sqlalchemy import text

from apg.extensions import db
from apg.services import services

blp = Blueprint("ops", __name__)


@blp.route("/health", methods=["GET"])
def health() -> tuple[dict[str, Any], int]:
    checks: dict[str, Any] = {"database": _database()}
    for method_type, processor in services().processors.all().items():
        result = processor.health_check()
        checks[method_type] = {"healthy": result.healthy, **result.detail}
    # Only the database decides liveness: an upstream outage must not get us restarted.
    status = "ok" if checks["database"] == "ok" else "unavailable"
    return {"status": status, "checks": checks}, 200 if status == "ok" else 503


def _database() -> str:
    try:
        db.session.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:  # reported, not raised: this is the health endpoint
        db.session.rollback()
        return f"error: {type(exc).__name__}"
