"""The ops console (/ops/): signed in with the ops token, CSRF on every form, every section shown
with data the test made, the activity chart's numbers; the JSON ops endpoints stay as they
were. Its answers to held operations: test_console_held.py."""

from __future__ import annotations

import dataclasses
import re
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from apg.console import charts
from apg.extensions import db
from apg.notifications.models import WorkerHeartbeat
from apg.payments import transitions
from apg.payments.models import PaymentTransaction
from apg.security.events import SecurityEvent, SecurityEventKind
from apg.security_headers import PAGE_CSP
from apg.webhooks.models import InboundCallback
from tests.support.console import OPS_TOKEN, SECTIONS, Console
from tests.support.factories import make_payment

# --- signing in -----------------------------------------------------------------------------


def test_without_a_session_the_console_shows_only_the_sign_in_form(guarded: Flask) -> None:
    response = guarded.test_client().get("/ops/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<label for="token">Ops token</label>' in html and 'type="password"' in html
    assert not any(section in html for section in SECTIONS)


def test_the_ops_token_signs_in_with_a_strict_session_cookie(guarded: Flask) -> None:
    console = Console(guarded.test_client())
    response = console.sign_in()
    assert response.status_code == 303 and response.headers["Location"] == "/ops/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Expires=" in cookie
    assert "Secure" not in cookie  # development over http; production adds it
    html = console.page()
    assert all(f">{section}</h2>" in html for section in SECTIONS)


def test_a_wrong_token_is_refused_and_recorded_as_a_security_event(guarded: Flask) -> None:
    console = Console(guarded.test_client())
    response = console.sign_in("not-the-token")
    assert response.status_code == 401
    assert "That is not the ops token" in response.get_data(as_text=True)
    with guarded.app_context():
        [event] = db.session.execute(select(SecurityEvent)).scalars()
        assert event.kind == SecurityEventKind.OPS_AUTH_FAILED and event.path == "/ops/sign-in"
        assert event.as_dict()["detail"] == {"reason": "wrong token"}
    assert "Health and readiness" not in console.page()


def test_signing_out_ends_the_session(console: Console) -> None:
    assert console.post("/ops/sign-out").status_code == 303
    assert "Health and readiness" not in console.page()


@pytest.mark.parametrize("csrf", [None, "", "forged"], ids=["missing", "empty", "wrong"])
@pytest.mark.parametrize("path", ["/ops/sign-in", "/ops/payments/pay_x/resolve"])
def test_a_post_without_the_session_csrf_token_is_refused(
    console: Console, path: str, csrf: str | None
) -> None:
    form = {"token": OPS_TOKEN, "status": "completed", "note": "n"}
    response = console.client.post(
        path, data=form if csrf is None else {**form, "csrf_token": csrf}
    )
    assert response.status_code == 400
    assert "CSRF token is missing or wrong" in response.get_data(as_text=True)


def test_development_without_a_token_opens_the_console_with_a_warning(client: FlaskClient) -> None:
    html = client.get("/ops/").get_data(as_text=True)
    assert "Open console:" in html and "Health and readiness" in html


def test_the_json_ops_endpoints_keep_their_bearer_token(console: Console) -> None:
    assert console.client.get("/stats").status_code == 401  # a console session is not a token
    bearer = {"Authorization": f"Bearer {OPS_TOKEN}"}
    assert set(console.client.get("/stats", headers=bearer).json) == {
        "payments",
        "conflicts",
        "callbacks",
    }
    assert console.client.get("/health").status_code == 200
    anonymous = FlaskClient(console.client.application).get("/ops/", headers=bearer)
    assert "Health and readiness" not in anonymous.get_data(as_text=True)


def test_pages_carry_the_strict_csp_and_no_inline_script_or_style(console: Console) -> None:
    response = console.client.get("/ops/")
    assert response.headers["Content-Security-Policy"] == PAGE_CSP
    html = response.get_data(as_text=True)
    assert "<script" not in html and " style=" not in html and "<style" not in html
    with console.client.get("/ops/assets/console.css") as css:
        assert css.status_code == 200 and "Content-Security-Policy" not in css.headers


# --- the sections ---------------------------------------------------------------------------


def test_every_section_shows_what_is_there(
    app: Flask, console: Console, tenant: tuple[str, str]
) -> None:
    now = datetime.now(UTC)
    make_payment(app, tenant[0], status="completed")
    held = make_payment(app, tenant[0], status="review", status_reason="amount 5 not 100")
    with app.app_context():
        db.session.add(WorkerHeartbeat(name="reconciler", beat_at=now - timedelta(seconds=7)))
        db.session.add(_callback(tenant[0], now))
        txn = db.session.get(PaymentTransaction, make_payment(app, tenant[0]))
        transitions.transition(txn, "timeout", source="reconcile", now=now)  # type: ignore[arg-type]
        db.session.commit()
    html = console.page()
    assert "Worker reconciler" in html and "<td>196.201.214.200</td>" in html
    assert f"<code>{held}</code>" in html and "amount 5 not 100" in html
    assert "Confirm by query" in html and "Mark reviewed" in html
    assert "3 payments since" in html  # the chart's description
    assert re.search(r"<dt>timeout</dt><dd>1</dd>", html)  # reconciliation's moves, 24 h
    assert "Outbox backlog" in html and "Tenant A" in html


def test_the_chart_counts_each_bucket_from_the_rows(app: Flask, tenant: tuple[str, str]) -> None:
    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    for minutes_ago, status in [(5.5, "completed")] * 3 + [(5.2, "failed"), (5.1, "processing")]:
        make_payment(app, tenant[0], status=status, created_at=now - timedelta(minutes=minutes_ago))
    make_payment(app, tenant[0], status="cancelled", created_at=now - timedelta(minutes=30))
    make_payment(app, tenant[0], status="completed", created_at=now - timedelta(minutes=61))
    make_payment(app, tenant[0], status="completed", transaction_type="b2c_payment",
                 created_at=now - timedelta(minutes=5))  # fmt: skip
    with app.app_context():
        chart = charts.activity(now, 60, product="stk_push")
        other = charts.activity(now, 60, tenant="ten_nobody")
        wide = charts.activity(now, 1440)
    assert len(chart.buckets) == 60 and chart.bucket_minutes == 1
    busy = chart.buckets[54]  # 11:54-11:55
    assert (busy.total, busy.completed, busy.decided) == (5, 3, 4)
    assert busy.success_rate == 0.75 and busy.per_minute == 5
    assert chart.buckets[30].success_rate == 0.0 and chart.buckets[30].decided == 1
    assert sum(b.total for b in chart.buckets) == 6
    assert sum(b.total for b in other.buckets) == 0
    assert len(wide.buckets) == 60 and wide.bucket_minutes == 24
    assert sum(b.total for b in wide.buckets) == 8 and wide.buckets[-1].total == 6
    assert "<polyline" in charts.svg(chart) and "<rect" in charts.svg(chart)


def test_the_activity_filters_are_checked(console: Console) -> None:
    assert console.client.get("/ops/?minutes=5").status_code == 400
    html = console.page("/ops/?minutes=15&product=stk_push")
    assert '<option value="stk_push" selected>' in html and '<option value="15" selected>' in html


def _callback(tenant_id: str, now: datetime) -> InboundCallback:
    return InboundCallback(
        kind="stk",
        processor="mpesa",
        tenant_id=tenant_id,
        raw_body=b"{}",
        body_size=2,
        source_ip="196.201.214.200",
        received_at=now,
        outcome="duplicate",
        error=None,
    )


def test_a_new_ops_token_signs_earlier_sessions_out(
    console: Console, guarded: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "Held for review and in conflict" in console.page()
    services = guarded.extensions["apg"]
    rotated = dataclasses.replace(services.settings.security, ops_token=secrets.token_urlsafe(32))
    monkeypatch.setattr(
        services, "settings", dataclasses.replace(services.settings, security=rotated)
    )
    html = console.client.get("/ops/").get_data(as_text=True)
    assert "Held for review and in conflict" not in html and "Ops token" in html
