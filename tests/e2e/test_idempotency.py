"""Idempotency-Key: replay, mismatch (422), in flight (409), expiry."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import func, select

from apg.extensions import db
from apg.idempotency.models import IdempotencyKey
from apg.idempotency.service import fingerprint
from apg.payments.models import PaymentTransaction
from tests.support.clock import ShiftableClock
from tests.support.factories import Merchant, claim_in_flight, make_tenant, payment_body
from tests.support.servers import LiveServer


def payment_count(app: Flask) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(PaymentTransaction)).scalar_one()


def test_same_key_and_body_replays_without_a_second_push(app: Flask, merchant: Merchant) -> None:
    first = merchant.create_payment(idempotency_key="order-42")
    second = merchant.create_payment(idempotency_key="order-42")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert payment_count(app) == 1


def test_same_key_with_a_different_body_is_422(app: Flask, merchant: Merchant) -> None:
    merchant.create_payment(idempotency_key="order-42")
    response = merchant.create_payment(idempotency_key="order-42", amount=20000)
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("idempotency_error", "idempotency_key_reused")
    assert payment_count(app) == 1


def test_a_concurrent_duplicate_still_in_flight_is_409(
    app: Flask, merchant: Merchant, tenant: tuple[str, str], clock: ShiftableClock
) -> None:
    now = clock.now()
    with app.app_context():  # the first request has claimed the key and not finished
        db.session.add(
            IdempotencyKey(
                tenant_id=tenant[0],
                key="order-7",
                fingerprint=fingerprint("POST", "/api/v1/payments", payment_body()),
                created_at=now,
                locked_until=now + timedelta(seconds=60),
                expires_at=now + timedelta(hours=24),
            )
        )
        db.session.commit()
    response = merchant.create_payment(idempotency_key="order-7")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_request_in_progress"
    assert payment_count(app) == 0


def test_keys_are_per_tenant(app: Flask, merchant: Merchant, gateway_server: LiveServer) -> None:
    other = Merchant(gateway_server.url, make_tenant(app, "Tenant B")[1])
    a = merchant.create_payment(idempotency_key="shared-key", phone_number="0712345601")
    b = other.create_payment(idempotency_key="shared-key", phone_number="0712345602")
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]


def test_a_failed_payment_replays_its_failure(app: Flask, gateway_server: LiveServer) -> None:
    merchant = Merchant(gateway_server.url, make_tenant(app, "Busy Line")[1])
    assert merchant.create_payment(phone_number="0711000124").status_code == 201
    first = merchant.create_payment(idempotency_key="k1", phone_number="0711000124")  # locked
    second = merchant.create_payment(idempotency_key="k1", phone_number="0711000124")
    assert first.status_code == second.status_code == 424
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert payment_count(app) == 2


def test_a_key_expires_after_its_ttl(app: Flask, merchant: Merchant, clock: ShiftableClock) -> None:
    first = merchant.create_payment(idempotency_key="order-9", phone_number="0712345603")
    clock.shift(timedelta(hours=24, seconds=1))
    # Another phone: the first prompt is still open, and Daraja locks the subscriber.
    second = merchant.create_payment(idempotency_key="order-9", phone_number="0712345604")
    assert second.status_code == 201
    assert second.json()["id"] != first.json()["id"]


def test_validation_errors_do_not_burn_the_key(app: Flask, merchant: Merchant) -> None:
    bad = merchant.create_payment(idempotency_key="order-10", amount="100")
    assert bad.status_code == 400
    good = merchant.create_payment(idempotency_key="order-10")
    assert good.status_code == 201


def test_malformed_key_is_rejected(merchant: Merchant) -> None:
    response = merchant.create_payment(idempotency_key="x" * 256)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "Idempotency-Key"


def test_a_rule_violation_before_any_effect_does_not_burn_the_key(
    app: Flask, merchant: Merchant
) -> None:
    bad = merchant.create_payment(idempotency_key="order-11", amount=25_000_100)  # > max
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "amount_out_of_range"
    fixed = merchant.create_payment(idempotency_key="order-11", amount=10000)
    assert fixed.status_code == 201
    assert payment_count(app) == 1


def test_in_flight_is_409_even_when_the_body_differs(
    app: Flask, merchant: Merchant, tenant: tuple[str, str], clock: ShiftableClock
) -> None:
    claim_in_flight(app, tenant[0], "order-8", payment_body(), clock.now())
    response = merchant.create_payment(idempotency_key="order-8", amount=20000)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_request_in_progress"


def test_the_fingerprint_ignores_key_order() -> None:
    body = payment_body(metadata={"a": "1", "b": "2"})
    reordered = dict(reversed(list(body.items())))
    reordered["metadata"] = {"b": "2", "a": "1"}
    assert fingerprint("POST", "/p", body) == fingerprint("POST", "/p", reordered)
    assert fingerprint("POST", "/p", body) != fingerprint("POST", "/p", payment_body(amount=1))


def test_a_claim_abandoned_by_a_dead_worker_is_taken_over_after_its_lease(
    app: Flask, merchant: Merchant, tenant: tuple[str, str], clock: ShiftableClock
) -> None:
    claim_in_flight(app, tenant[0], "order-12", payment_body(), clock.now())
    assert merchant.create_payment(idempotency_key="order-12").status_code == 409
    clock.shift(timedelta(minutes=5))  # the lease has run out; no payment was ever recorded
    response = merchant.create_payment(idempotency_key="order-12")
    assert response.status_code == 201
    assert payment_count(app) == 1


def test_a_replayed_error_keeps_one_request_id(app: Flask, gateway_server: LiveServer) -> None:
    merchant = Merchant(gateway_server.url, make_tenant(app, "Bad Key", passkey="wrong")[1])
    first = merchant.create_payment(idempotency_key="k2")
    replay = merchant.create_payment(idempotency_key="k2")
    assert replay.status_code == 503  # configuration_error, with its failed payment
    assert replay.json()["error"]["request_id"] == replay.headers["X-Request-ID"]
    assert first.json()["error"]["request_id"] == first.headers["X-Request-ID"]


def test_another_tenants_claim_on_the_same_key_is_not_ours(
    app: Flask, merchant: Merchant, tenant: tuple[str, str], clock: ShiftableClock
) -> None:
    other, _ = make_tenant(app, "Tenant B")
    claim_in_flight(app, other, "shared-2", payment_body(), clock.now())  # B's, in flight
    assert merchant.create_payment(idempotency_key="shared-2").status_code == 201
    again = merchant.create_payment(idempotency_key="shared-2")
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (201, "true")
    with app.app_context():  # B's claim is untouched by ours
        row = db.session.execute(
            select(IdempotencyKey).where(IdempotencyKey.tenant_id == other)
        ).scalar_one()
        assert row.response_status is None
