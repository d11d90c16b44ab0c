"""The ops console (/ops/): signed in with the ops token, CSRF on every form, every section shown
with data the test made, the activity chart's numbers, and the answers to a held operation
(confirm by query against the emulator, mark reviewed, acknowledge a conflict), each audited
and applied once. The JSON ops endpoints stay as they were."""

from __future__ import annotations

import dataclasses
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from apg.console import charts
from apg.extensions import db
from apg.notifications.models import WorkerHeartbeat
from apg.payments import ports, transitions
from apg.payments.lifecycle import PaymentStatus
from apg.payments.models import PaymentEvent, PaymentTransaction
from apg.payments.reconcile_answers import review as reconciliation_gives_up
from apg.security.events import SecurityEvent, SecurityEventKind
from apg.security_headers import PAGE_CSP
from apg.webhooks.models import InboundCallback
from tests.support.factories import EmulatorControl, Merchant, make_payment

OPS_TOKEN = secrets.token_urlsafe(32)
SECTIONS = (
    "Health and readiness",
    "Payments per minute and success rate",
    "Recent callbacks",
    "Held for review and in conflict",
    "Circuit breakers",
    "Merchant webhooks",
    "Reconciliation",
)


@pytest.fixture
def guarded(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """The session app with an ops token configured (restored after the test)."""
    services = app.extensions["apg"]
    security = dataclasses.replace(services.settings.security, ops_token=OPS_TOKEN)
    monkeypatch.setattr(
        services, "settings", dataclasses.replace(services.settings, security=security)
    )
    return app


class Console:
    """A browser's view of the console: its cookie jar, and the CSRF token of the last page."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.csrf = ""

    def page(self, path: str = "/ops/") -> str:
        response = self.client.get(path)
        assert response.status_code == 200, response.status_code
        html = response.get_data(as_text=True)
        self.csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
        return html

    def post(self, path: str, **form: str) -> Any:
        return self.client.post(path, data={"csrf_token": self.csrf, **form})

    def sign_in(self, token: str = OPS_TOKEN) -> Any:
        self.page()
        return self.post("/ops/sign-in", token=token)


@pytest.fixture
def console(guarded: Flask) -> Console:
    signed = Console(guarded.test_client())
    assert signed.sign_in().status_code == 303
    signed.page()  # signing in made a new CSRF token
    return signed


def events(app: Flask, payment_id: str, kind: str | None = None) -> list[PaymentEvent]:
    with app.app_context():
        query = select(PaymentEvent).where(PaymentEvent.payment_id == payment_id)
        if kind:
            query = query.where(PaymentEvent.kind == kind)
        found = list(db.session.execute(query.order_by(PaymentEvent.id)).scalars())
        db.session.expunge_all()
        return found


def status_of(app: Flask, payment_id: str) -> str:
    with app.app_context():
        return db.session.get(PaymentTransaction, payment_id).status  # type: ignore[union-attr]


def flashed(console: Console, response: Any) -> str:
    assert response.status_code == 303 and response.headers["Location"].endswith("/ops/#held")
    return console.page()


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


# --- held operations ------------------------------------------------------------------------


def test_confirm_by_query_completes_a_review_the_emulator_says_succeeded(
    app: Flask, console: Console, merchant: Merchant, emulator_control: EmulatorControl
) -> None:
    payment = merchant.create_payment().json()
    _give_up_on(app, payment["id"])
    emulator_control.settle(payment["checkout_request_id"])  # its callback finds it in review
    assert status_of(app, payment["id"]) == "review"
    html = flashed(console, console.post(f"/ops/payments/{payment['id']}/confirm"))
    assert f"{payment['id']} is now completed: confirmed by query: 0" in html
    assert status_of(app, payment["id"]) == "completed"
    [operator] = events(app, payment["id"], "operator")
    assert operator.detail["action"] == "confirm_by_query"  # type: ignore[index]
    assert operator.detail["remote_addr"] == "127.0.0.1"  # type: ignore[index]
    moved = events(app, payment["id"], "transition")[-1]
    assert (moved.source, moved.to_status) == ("ops", "completed")
    assert moved.detail["note"].startswith("confirmed by query: 0 ")  # type: ignore[index]


def test_confirm_by_query_fails_a_review_the_customer_cancelled(
    app: Flask, console: Console, merchant: Merchant, emulator_control: EmulatorControl
) -> None:
    emulator_control.scenario("254708374149", result_code=1032)
    payment = merchant.create_payment().json()
    _give_up_on(app, payment["id"])
    emulator_control.settle(payment["checkout_request_id"])
    flashed(console, console.post(f"/ops/payments/{payment['id']}/confirm"))
    assert status_of(app, payment["id"]) == "failed"


def test_an_undecided_or_doubtful_answer_changes_nothing_and_is_recorded(
    app: Flask, console: Console, merchant: Merchant, emulator_control: EmulatorControl
) -> None:
    payment = merchant.create_payment().json()
    _give_up_on(app, payment["id"])  # the emulator has not decided it yet
    html = flashed(console, console.post(f"/ops/payments/{payment['id']}/confirm"))
    assert f"{payment['id']} is unchanged: no decision" in html
    emulator_control.settle(payment["checkout_request_id"])
    with app.app_context():  # a later report said the customer paid less than asked
        db.session.execute(
            PaymentTransaction.__table__.update()
            .where(PaymentTransaction.id == payment["id"])
            .values(paid_amount=5000)
        )
        db.session.commit()
    html = flashed(console, console.post(f"/ops/payments/{payment['id']}/confirm"))
    assert "the query says completed" in html and "5000 was reported paid" in html
    assert status_of(app, payment["id"]) == "review"
    answers = [e.detail["answer"] for e in events(app, payment["id"], "operator")]  # type: ignore[index]
    assert len(answers) == 2 and answers[0].startswith("no decision")


def test_a_request_result_product_offers_no_query(
    app: Flask, console: Console, tenant: tuple[str, str]
) -> None:
    held = make_payment(app, tenant[0], status="review", transaction_type="b2c_payment")
    assert "a b2c_payment's status comes by callback" in console.page()
    html = flashed(console, console.post(f"/ops/payments/{held}/confirm"))
    assert "Nothing changed: a b2c_payment&#39;s status comes by callback" in html
    assert status_of(app, held) == "review" and not events(app, held, "operator")


def test_mark_reviewed_resolves_a_review_once_with_its_audit(
    app: Flask, console: Console, tenant: tuple[str, str]
) -> None:
    held = make_payment(app, tenant[0], status="review")
    path, form = f"/ops/payments/{held}/resolve", {"status": "failed", "note": "not on statement"}
    assert "is now failed" in flashed(console, console.post(path, **form))
    assert "Nothing changed: payment" in flashed(console, console.post(path, **form))
    assert status_of(app, held) == "failed"
    [operator] = events(app, held, "operator")
    assert operator.detail == {  # type: ignore[comparison-overlap]
        "action": "resolve",
        "note": "not on statement",
        "remote_addr": "127.0.0.1",
    }
    [moved] = events(app, held, "transition")
    assert (moved.source, moved.from_status, moved.to_status) == ("ops", "review", "failed")
    assert f"<code>{held}</code>" not in console.page()


@pytest.mark.parametrize("form", [{"status": "completed"}, {"note": "x"}, {"status": "x"}])
def test_mark_reviewed_needs_a_decision_and_a_note(
    app: Flask, console: Console, tenant: tuple[str, str], form: dict[str, str]
) -> None:
    held = make_payment(app, tenant[0], status="review")
    html = flashed(console, console.post(f"/ops/payments/{held}/resolve", **form))
    assert "Nothing changed: choose completed or failed" in html
    assert status_of(app, held) == "review"


def test_a_conflict_is_listed_until_marked_reviewed_and_again_when_a_new_one_comes(
    app: Flask, console: Console, tenant: tuple[str, str]
) -> None:
    paid = make_payment(app, tenant[0], status="completed")
    _conflict(app, paid)
    assert f"<code>{paid}</code>" in console.page()
    path = f"/ops/payments/{paid}/acknowledge"
    assert "marked reviewed" in flashed(console, console.post(path, note="duplicate report"))
    assert "no conflict left" in flashed(console, console.post(path, note="again"))
    [reviewed] = events(app, paid, "reviewed")
    assert reviewed.source == "ops" and reviewed.detail == {  # type: ignore[comparison-overlap]
        "note": "duplicate report",
        "conflicts": 1,
        "remote_addr": "127.0.0.1",
    }
    assert f"<code>{paid}</code>" not in console.page()
    _conflict(app, paid)
    assert f"<code>{paid}</code>" in console.page()


def _give_up_on(app: Flask, payment_id: str) -> None:
    """Reconciliation's give-up: no decision in time, held for an operator."""
    with app.app_context():
        txn = db.session.get(PaymentTransaction, payment_id)
        reconciliation_gives_up(txn, "no decision in time", datetime.now(UTC))  # type: ignore[arg-type]
        db.session.commit()


def _conflict(app: Flask, payment_id: str) -> None:
    with app.app_context():
        txn = db.session.get(PaymentTransaction, payment_id)
        outcome = ports.Outcome(PaymentStatus.FAILED, result_code="1032", result_desc="Cancelled")
        app.extensions["apg"].payments.events.apply_outcome(txn, outcome, "callback")
        db.session.commit()


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


def test_the_merchant_sees_the_operator_s_decision_but_not_the_ops_audit(
    app: Flask, console: Console, tenant: tuple[str, str], api_headers: dict[str, str]
) -> None:
    held = make_payment(app, tenant[0], status="review")
    form = {"status": "completed", "note": "receipt on the statement"}
    flashed(console, console.post(f"/ops/payments/{held}/resolve", **form))
    assert events(app, held, "operator")  # the audit is kept, for ops
    seen = app.test_client().get(f"/api/v1/payments/{held}/events", headers=api_headers)
    assert seen.status_code == 200
    kinds = [(e["kind"], e["to_status"]) for e in seen.json["data"]]
    assert ("transition", "completed") in kinds
    assert {kind for kind, _ in kinds} <= {"created", "transition", "enrichment", "conflict"}
    assert "127.0.0.1" not in seen.get_data(as_text=True)
