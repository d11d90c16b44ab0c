"""Forged callbacks credit nothing: a wrong URL token, a source outside Safaricom's addresses
(in production), a wrong amount, an unknown checkout id, a replay. Each refusal is kept raw and
is a security event; a refused source's callback can still be replayed by ops."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from apg.extensions import db
from apg.payments.models import PaymentTransaction
from apg.security.events import SecurityEvent
from apg.security.sources import CallbackSources
from apg.settings import SAFARICOM_CALLBACK_IPS
from apg.tenants.models import Tenant
from apg.webhooks.models import InboundCallback
from tests.support.clock import ShiftableClock
from tests.support.factories import make_payment

SAFARICOM = SAFARICOM_CALLBACK_IPS[0]
STRANGER = "203.0.113.9"  # TEST-NET-3: nobody's callback host


def stk_success(checkout_id: str, amount: Any = 100.00) -> dict[str, Any]:
    items = [
        {"Name": "Amount", "Value": amount},
        {"Name": "MpesaReceiptNumber", "Value": "UKN1ABCDEF"},
        {"Name": "TransactionDate", "Value": 20261126143000},
        {"Name": "PhoneNumber", "Value": 254708374149},
    ]
    callback = {
        "MerchantRequestID": "29115-34620561-1",
        "CheckoutRequestID": checkout_id,
        "ResultCode": 0,
        "ResultDesc": "The service request is processed successfully.",
        "CallbackMetadata": {"Item": items},
    }
    return {"Body": {"stkCallback": callback}}


def token_of(app: Flask, tenant_id: str) -> str:
    with app.app_context():
        return str(db.session.get(Tenant, tenant_id).callback_token)


def post(client: FlaskClient, token: str, body: Any, source: str = "127.0.0.1") -> Any:
    return client.post(
        f"/webhooks/daraja/{token}/stk", json=body, environ_base={"REMOTE_ADDR": source}
    )


def status_of(app: Flask, payment_id: str) -> str:
    with app.app_context():
        return str(db.session.get(PaymentTransaction, payment_id).status)


def security_events(app: Flask) -> list[SecurityEvent]:
    with app.app_context():
        return list(db.session.execute(select(SecurityEvent).order_by(SecurityEvent.id)).scalars())


def callbacks(app: Flask) -> list[InboundCallback]:
    with app.app_context():
        query = select(InboundCallback).order_by(InboundCallback.id)
        return list(db.session.execute(query).scalars())


@pytest.fixture
def enforced(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """The allowlist enforced, as in production."""
    inbox = app.extensions["apg"].inbox
    monkeypatch.setattr(inbox, "sources", dataclasses.replace(inbox.sources, enforced=True))
    return app


@pytest.fixture
def pending(app: Flask, tenant: tuple[str, str]) -> str:
    return make_payment(app, tenant[0], checkout_request_id="ws_CO_auth")


def test_a_wrong_url_token_is_404_and_a_security_event(
    app: Flask, client: FlaskClient, tenant: tuple[str, str], pending: str
) -> None:
    forged = "f" * 40
    response = post(client, forged, stk_success("ws_CO_auth"))
    assert response.status_code == 404
    assert response.json["error"]["code"] == "resource_missing"
    assert status_of(app, pending) == "processing"
    [row] = callbacks(app)
    assert (row.outcome, row.tenant_id) == ("unknown_tenant", None)
    [event] = security_events(app)
    assert (event.kind, event.source_ip) == ("callback_unknown_token", "127.0.0.1")
    assert forged not in (event.path or "") + event.detail  # a token is never logged


def test_a_token_that_differs_in_one_character_is_unknown(
    app: Flask, client: FlaskClient, tenant: tuple[str, str], pending: str
) -> None:
    token = token_of(app, tenant[0])
    almost = token[:-1] + ("0" if token[-1] != "0" else "1")
    assert post(client, almost, stk_success("ws_CO_auth")).status_code == 404
    assert status_of(app, pending) == "processing"


def test_a_callback_from_outside_the_allowlist_is_refused_kept_and_replayable(
    enforced: Flask, client: FlaskClient, tenant: tuple[str, str], pending: str
) -> None:
    token = token_of(enforced, tenant[0])
    response = post(client, token, stk_success("ws_CO_auth"), source=STRANGER)
    assert response.status_code == 403
    assert response.json["error"]["code"] == "source_not_allowed"
    assert status_of(enforced, pending) == "processing"
    [row] = callbacks(enforced)
    assert (row.outcome, row.source_ip, row.tenant_id) == ("source_refused", STRANGER, tenant[0])
    assert json.loads(bytes(row.raw_body)) == stk_success("ws_CO_auth")  # whole
    [event] = security_events(enforced)
    assert (event.kind, event.tenant_id) == ("callback_source_refused", tenant[0])
    # Safaricom added an address: ops replays what was refused.
    with enforced.app_context():
        was, verdict = enforced.extensions["apg"].inbox.replay(row.id)
    assert (was, verdict) == ("source_refused", "applied")
    assert status_of(enforced, pending) == "completed"


def test_a_callback_from_safaricom_is_applied_when_the_allowlist_is_enforced(
    enforced: Flask, client: FlaskClient, tenant: tuple[str, str], pending: str
) -> None:
    response = post(client, token_of(enforced, tenant[0]), stk_success("ws_CO_auth"), SAFARICOM)
    assert response.status_code == 200
    assert response.json == {"ResultCode": 0, "ResultDesc": "Accepted"}
    assert status_of(enforced, pending) == "completed"
    assert security_events(enforced) == []


def test_x_forwarded_for_is_ignored_without_trusted_proxies(
    enforced: Flask, client: FlaskClient, tenant: tuple[str, str], pending: str
) -> None:
    """security.trusted_proxy_hops = 0: a client cannot claim to be Safaricom."""
    response = client.post(
        f"/webhooks/daraja/{token_of(enforced, tenant[0])}/stk",
        json=stk_success("ws_CO_auth"),
        headers={"X-Forwarded-For": SAFARICOM},
        environ_base={"REMOTE_ADDR": STRANGER},
    )
    assert response.status_code == 403
    assert status_of(enforced, pending) == "processing"


def test_the_allowlist_is_off_in_development_and_on_in_production() -> None:
    from apg.settings import SecuritySettings

    assert not CallbackSources.from_settings(SecuritySettings(), production=False).enforced
    assert CallbackSources.from_settings(SecuritySettings(), production=True).enforced
    forced = SecuritySettings(enforce_callback_allowlist=True)
    assert CallbackSources.from_settings(forced, production=False).refuses("127.0.0.1")
    sources = CallbackSources.from_settings(SecuritySettings(), production=True)
    assert [sources.refuses(ip) for ip in (SAFARICOM, STRANGER, "not an ip", None)] == [
        False,
        True,
        True,
        True,
    ]
    assert len(SAFARICOM_CALLBACK_IPS) == 14  # the union of the published lists (API.md §15.5)


def test_a_wrong_amount_credits_nothing_and_is_a_security_event(
    app: Flask, client: FlaskClient, tenant: tuple[str, str], pending: str
) -> None:
    response = post(client, token_of(app, tenant[0]), stk_success("ws_CO_auth", amount=1.00))
    assert response.status_code == 200  # acknowledged: Daraja must not resend it forever
    assert status_of(app, pending) == "review"
    [event] = security_events(app)
    assert (event.kind, event.tenant_id) == ("callback_mismatch", tenant[0])
    detail = json.loads(event.detail)
    assert detail["payment_id"] == pending and "amount" in detail["reason"]


def test_an_unknown_checkout_id_credits_nothing(
    app: Flask, client: FlaskClient, tenant: tuple[str, str], pending: str
) -> None:
    response = post(client, token_of(app, tenant[0]), stk_success("ws_CO_nobody_asked"))
    assert response.status_code == 200
    assert status_of(app, pending) == "processing"
    [row] = callbacks(app)
    assert (row.outcome, row.payment_id) == ("unmatched", None)


def test_a_replayed_callback_applies_once(
    app: Flask, client: FlaskClient, tenant: tuple[str, str], pending: str
) -> None:
    token = token_of(app, tenant[0])
    for _ in range(3):
        assert post(client, token, stk_success("ws_CO_auth")).status_code == 200
    assert [row.outcome for row in callbacks(app)] == ["applied", "duplicate", "duplicate"]
    with app.app_context():
        txn = db.session.get(PaymentTransaction, pending)
        assert (txn.status, txn.paid_amount) == ("completed", 10000)


def test_another_tenants_token_cannot_reach_this_tenants_payment(
    app: Flask, client: FlaskClient, tenant: tuple[str, str], pending: str
) -> None:
    from tests.support.factories import make_tenant

    other_id, _ = make_tenant(app, "Tenant B")
    response = post(client, token_of(app, other_id), stk_success("ws_CO_auth"))
    assert response.status_code == 200  # B's URL, B's books: no such checkout there
    assert status_of(app, pending) == "processing"
    assert [row.outcome for row in callbacks(app)] == ["unmatched"]


def test_a_rotated_token_works_through_its_grace_period_then_stops(
    app: Flask, client: FlaskClient, clock: ShiftableClock, tenant: tuple[str, str]
) -> None:
    first = make_payment(app, tenant[0], checkout_request_id="ws_CO_first")
    second = make_payment(app, tenant[0], checkout_request_id="ws_CO_second")
    old = token_of(app, tenant[0])
    result = app.test_cli_runner().invoke(
        args=["apg", "rotate-callback-token", "--tenant", tenant[0], "--grace-hours", "2"]
    )
    assert result.exit_code == 0, result.output
    rotated = json.loads(result.output)
    new = token_of(app, tenant[0])
    assert new != old and rotated["callback_url_base"].endswith(f"/webhooks/daraja/{new}")
    assert post(client, old, stk_success("ws_CO_first")).status_code == 200  # in grace
    assert status_of(app, first) == "completed"

    clock.shift(timedelta(hours=2, seconds=1))
    assert post(client, old, stk_success("ws_CO_second")).status_code == 404
    assert status_of(app, second) == "processing"
    assert callbacks(app)[-1].outcome == "retired_token"
    assert [e.kind for e in security_events(app)] == ["callback_retired_token"]
    assert post(client, new, stk_success("ws_CO_second")).status_code == 200
    assert status_of(app, second) == "completed"
