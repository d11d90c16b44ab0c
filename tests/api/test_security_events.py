"""GET /ops/security-events: the security event log, for ops (the ops token), newest first."""

from __future__ import annotations

import dataclasses
import secrets
from datetime import timedelta

import pytest
from flask import Flask

from apg.security import events
from tests.support.clock import ShiftableClock

OPS_TOKEN = secrets.token_urlsafe(32)
OPS = {"Authorization": f"Bearer {OPS_TOKEN}"}


@pytest.fixture
def guarded(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Flask:
    services = app.extensions["apg"]
    security = dataclasses.replace(services.settings.security, ops_token=OPS_TOKEN)
    monkeypatch.setattr(
        services, "settings", dataclasses.replace(services.settings, security=security)
    )
    return app


def record(app: Flask, clock: ShiftableClock, kind: str, tenant_id: str | None = None) -> None:
    with app.app_context():
        events.record(kind, clock.now(), tenant_id=tenant_id, source_ip="203.0.113.9", why=kind)


def test_the_log_needs_the_ops_token_and_a_wrong_one_is_itself_an_event(guarded: Flask) -> None:
    client = guarded.test_client()
    assert client.get("/ops/security-events").status_code == 401
    wrong = client.get("/ops/security-events", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    listed = client.get("/ops/security-events", headers=OPS).json["data"]
    assert [(e["kind"], e["detail"]["reason"]) for e in listed] == [
        ("ops_auth_failed", "wrong token"),
        ("ops_auth_failed", "missing"),
    ]
    assert OPS_TOKEN not in str(listed) and "nope" not in str(listed)


def test_events_are_newest_first_filtered_and_paged(guarded: Flask, clock: ShiftableClock) -> None:
    for n in range(5):
        record(guarded, clock, "callback_unknown_token" if n % 2 else "auth_failed", f"ten_{n}")
        clock.shift(timedelta(seconds=1))
    client = guarded.test_client()

    everything = client.get("/ops/security-events", headers=OPS).json
    assert [e["tenant_id"] for e in everything["data"]] == [f"ten_{n}" for n in (4, 3, 2, 1, 0)]
    assert everything["next_before"] is None
    first = everything["data"][0]
    assert set(first) == {"id", "kind", "tenant_id", "source_ip", "path", "detail", "occurred_at"}
    assert first["detail"] == {"why": "auth_failed"}

    unknown = client.get("/ops/security-events?kind=callback_unknown_token", headers=OPS).json
    assert [e["tenant_id"] for e in unknown["data"]] == ["ten_3", "ten_1"]
    one = client.get("/ops/security-events?tenant_id=ten_2", headers=OPS).json
    assert [e["tenant_id"] for e in one["data"]] == ["ten_2"]

    page = client.get("/ops/security-events?limit=2", headers=OPS).json
    assert [e["tenant_id"] for e in page["data"]] == ["ten_4", "ten_3"]
    after = client.get(f"/ops/security-events?limit=2&before={page['next_before']}", headers=OPS)
    assert [e["tenant_id"] for e in after.json["data"]] == ["ten_2", "ten_1"]


@pytest.mark.parametrize(
    "query", ["kind=nonsense", "limit=0", "limit=201", "limit=x", "before=-1", "colour=red"]
)
def test_a_bad_filter_is_a_400_that_names_it(guarded: Flask, query: str) -> None:
    response = guarded.test_client().get(f"/ops/security-events?{query}", headers=OPS)
    assert response.status_code == 400
    assert response.json["error"]["param"] == query.split("=")[0]


def test_a_failed_merchant_authentication_is_recorded_by_key_prefix(guarded: Flask) -> None:
    presented = "apg_test_" + "x" * 43
    response = guarded.test_client().get(
        "/api/v1/payments", headers={"Authorization": f"Bearer {presented}"}
    )
    assert response.status_code == 401
    [event] = guarded.test_client().get("/ops/security-events", headers=OPS).json["data"]
    assert event["kind"] == "auth_failed"
    assert event["detail"]["key_prefix"] == presented[:13]
    assert presented not in str(event)
