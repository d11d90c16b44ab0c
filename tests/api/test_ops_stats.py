"""GET /ops/stats (per tenant and overall) and GET /ops/webhook-logs (the inbound callback log,
never a body): behind the ops token, like /metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from apg.extensions import db
from apg.ops.latency import LatencyWindow
from apg.webhooks.models import InboundCallback
from tests.api.test_ops_auth import OPS_TOKEN, guarded  # noqa: F401  (a fixture)
from tests.support.factories import make_payment, make_tenant, payment_body

SECRET_BODY = b'{"Body": {"stkCallback": {"PhoneNumber": 254708374149}}}'


def make_callback(app: Flask, tenant_id: str | None, outcome: str, **fields: Any) -> int:
    """Insert an inbound callback row directly; its id."""
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "kind": "stk",
        "processor": "mpesa",
        "tenant_id": tenant_id,
        "raw_body": SECRET_BODY,
        "body_size": len(SECRET_BODY),
        "source_ip": "196.201.214.200",
        "received_at": now,
        "outcome": outcome,
        "processed_at": None if outcome in ("received", "malformed") else now,
        **fields,
    }
    with app.app_context():
        row = InboundCallback(**values)
        db.session.add(row)
        db.session.commit()
        return row.id


@pytest.mark.parametrize("path", ["/ops/stats", "/ops/webhook-logs", "/metrics"])
def test_stats_logs_and_metrics_need_the_ops_token(guarded: Flask, path: str) -> None:  # noqa: F811
    client = guarded.test_client()
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"Authorization": f"Bearer {OPS_TOKEN}"}).status_code == 200


def test_ops_stats_counts_per_tenant_and_overall(app: Flask, client: FlaskClient) -> None:
    first, _ = make_tenant(app, "Stats One")
    second, _ = make_tenant(app, "Stats Two")
    for status in ("completed", "completed", "failed", "review"):
        make_payment(app, first, status=status)
    make_payment(app, first, status="completed", conflicts=2)
    make_payment(app, second, status="unknown")
    make_payment(app, second, status="cancelled", transaction_type="b2c")
    make_payment(app, second, status="completed", created_at=datetime.now(UTC) - timedelta(days=3))
    make_callback(app, first, "applied")
    make_callback(app, first, "duplicate")
    make_callback(app, None, "unknown_tenant")
    make_callback(app, second, "received")

    body = client.get("/ops/stats").json
    one, two, overall = body["tenants"][first], body["tenants"][second], body["overall"]
    assert one["operations"] == {"stk_push": {"completed": 3, "failed": 1, "review": 1}}
    assert one["success_rate"] == 0.75
    assert one["anomalies"] == {"review": 1, "unknown": 0, "conflicts": 2}
    assert one["callbacks"] == {
        "received": 2,
        "processed": 2,
        "failed": 0,
        "by_outcome": {"applied": 1, "duplicate": 1},
    }
    assert two["operations"] == {"stk_push": {"unknown": 1}, "b2c": {"cancelled": 1}}
    assert two["success_rate"] == 0.0  # the completed one is older than the window
    assert body["tenants"]["none"]["callbacks"]["failed"] == 1
    assert overall["anomalies"] == {"review": 1, "unknown": 1, "conflicts": 2}
    assert overall["callbacks"]["received"] == 4 and overall["callbacks"]["failed"] == 1
    assert overall["success_rate"] == 0.6
    assert body["daraja_latency"]["latency_scope"].startswith("this worker, last ")
    assert body["webhook_deliveries"] == {}  # none yet

    wider = client.get("/ops/stats?hours=96").json["tenants"][second]
    assert wider["operations"]["stk_push"] == {"unknown": 1, "completed": 1}


@pytest.mark.parametrize("query", ["hours=0", "hours=721", "hours=x", "days=1"])
def test_ops_stats_refuses_a_bad_window(client: FlaskClient, query: str) -> None:
    response = client.get(f"/ops/stats?{query}")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_request"


def test_the_old_stats_endpoint_keeps_its_shape(client: FlaskClient) -> None:
    assert set(client.get("/stats").json) == {"payments", "conflicts", "callbacks"}


def test_webhook_logs_are_newest_first_without_body_or_token_and_page_by_cursor(
    app: Flask, client: FlaskClient
) -> None:
    ids = [make_callback(app, None, outcome) for outcome in ("applied", "malformed", "received")]
    with app.app_context():
        db.session.get(InboundCallback, ids[1]).error = "no Body"
        db.session.commit()

    page = client.get("/ops/webhook-logs?limit=2").json
    assert [entry["id"] for entry in page["data"]] == [ids[2], ids[1]]
    newest = page["data"][0]
    assert set(newest) == {
        "id",
        "kind",
        "tenant_id",
        "outcome",
        "processed",
        "error",
        "received_at",
        "source_ip",
        "body_size",
    }
    assert newest["processed"] is False and newest["body_size"] == len(SECRET_BODY)
    assert page["data"][1]["error"] == "no Body"
    assert b"PhoneNumber" not in client.get("/ops/webhook-logs").data

    older = client.get(f"/ops/webhook-logs?limit=2&before={page['next_before']}").json
    assert [entry["id"] for entry in older["data"]] == [ids[0]]
    assert older["data"][0]["processed"] is True and older["next_before"] is None


def test_webhook_logs_filter_by_tenant(app: Flask, client: FlaskClient) -> None:
    tenant_id, _ = make_tenant(app, "Logs Ltd")
    mine = make_callback(app, tenant_id, "applied")
    make_callback(app, None, "unknown_tenant")
    found = client.get(f"/ops/webhook-logs?tenant_id={tenant_id}").json["data"]
    assert [entry["id"] for entry in found] == [mine]


def test_the_latency_window_keeps_the_last_calls_and_reports_a_nearest_rank_p95() -> None:
    window = LatencyWindow(size=20)
    for ms in range(1, 31):  # 1..30 ms: the window keeps 11..30
        window.record("/mpesa/stkpush/v1/processrequest", ms / 1000)
    summary = window.summary()
    assert summary["calls"] == 20
    assert summary["average_ms"] == 20.5
    assert summary["p95_ms"] == 29.0
    assert summary["latency_scope"] == "this worker, last 20 calls"
    assert summary["by_path"]["/mpesa/stkpush/v1/processrequest"]["calls"] == 20
    assert LatencyWindow().summary()["average_ms"] is None


def test_daraja_uptime_is_the_share_of_recent_calls_it_answered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 4xx is Daraja's answer; a 5xx or no answer at all is not."""
    from apg.ops import metrics

    window = LatencyWindow(size=10)
    assert window.uptime_percent() is None
    monkeypatch.setattr(metrics, "DARAJA_CALLS", window)
    for error in (None, "http_400", "http_503", "NotSentError"):
        metrics.observe_daraja_call("/oauth/v1/generate", 0.01, error)
    assert window.uptime_percent() == 50.0


def test_ops_stats_shows_each_tenants_daraja_latency(app: Flask, client: FlaskClient) -> None:
    payer, key = make_tenant(app, "Latency Ltd")
    quiet, _ = make_tenant(app, "Quiet Ltd")
    response = client.post(
        "/api/v1/payments", json=payment_body(), headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 201, response.json
    tenants = client.get("/ops/stats").json["tenants"]
    latency = tenants[payer]["daraja_latency"]
    assert latency["calls"] >= 1 and latency["average_ms"] > 0  # the push (and any token)
    assert "daraja_latency" not in tenants.get(quiet, {})
