"""GET /health is liveness (no I/O: it answers with the database down); GET /health/ready is
readiness (database, Redis when configured, breakers, worker heartbeats, a summary). Both open."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from apg.extensions import db
from apg.notifications.models import WorkerHeartbeat
from tests.api.test_ops_auth import guarded  # noqa: F401  (a fixture)
from tests.support.apps import sibling_app
from tests.support.factories import make_payment, make_tenant


@pytest.fixture
def no_database(app: Flask) -> Iterator[Flask]:
    """An app whose database refuses connections (nothing listens on port 1)."""
    other = sibling_app(app, **{"app.database_url": "postgresql://apg@127.0.0.1:1/apg"})
    yield other
    with other.app_context():
        db.engine.dispose()


def test_liveness_answers_with_the_database_down(no_database: Flask) -> None:
    response = no_database.test_client().get("/health")
    assert response.status_code == 200
    assert response.json["status"] == "ok"
    assert response.json["uptime_seconds"] >= 0


def test_readiness_is_503_with_the_database_down(no_database: Flask) -> None:
    response = no_database.test_client().get("/health/ready")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"
    assert response.json["checks"]["database"].startswith("error: ")
    assert response.json["summary"] is None


def test_readiness_is_503_when_a_configured_redis_does_not_answer(app: Flask) -> None:
    unreachable = sibling_app(app, **{"app.redis_url": "redis://127.0.0.1:1/0"})
    response = unreachable.test_client().get("/health/ready")
    assert response.status_code == 503
    assert response.json["checks"]["database"] == "ok"
    assert response.json["checks"]["redis"].startswith("error: ")
    with unreachable.app_context():
        db.engine.dispose()


def test_readiness_reports_database_breakers_and_no_redis_unless_configured(
    client: FlaskClient,
) -> None:
    response = client.get("/health/ready")
    assert response.status_code == 200
    checks = response.json["checks"]
    assert checks["database"] == "ok" and "redis" not in checks
    assert "circuit_breakers" in checks["mpesa"]


def test_readiness_reports_each_workers_heartbeat_age(app: Flask, client: FlaskClient) -> None:
    assert client.get("/health/ready").json["checks"]["worker_heartbeats"] == {}
    with app.app_context():
        now = app.extensions["apg"].clock.now()
        db.session.add(WorkerHeartbeat(name="worker", beat_at=now - timedelta(seconds=42)))
        db.session.commit()
    beats = client.get("/health/ready").json["checks"]["worker_heartbeats"]
    assert beats["worker"] == pytest.approx(42, abs=5)


def test_the_summary_counts_completed_over_decided_operations_of_the_last_hour(
    app: Flask, client: FlaskClient
) -> None:
    tenant_id, _ = make_tenant(app, "Summary Ltd")
    for status in ("completed", "completed", "completed", "failed", "processing"):
        make_payment(app, tenant_id, status=status)
    make_payment(app, tenant_id, status="failed", created_at=datetime.now(UTC) - timedelta(hours=2))
    summary = client.get("/health/ready").json["summary"]
    assert summary["status"] == "ok"
    assert summary["success_rate_last_hour"] == 0.75
    assert summary["latency_scope"].startswith("this worker, last ")
    assert summary["uptime_seconds"] >= 0


def test_probes_stay_open_with_an_ops_token_configured(guarded: Flask) -> None:  # noqa: F811
    assert guarded.test_client().get("/health").status_code == 200
    assert guarded.test_client().get("/health/ready").status_code == 200
