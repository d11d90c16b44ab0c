"""Plain make_* factories and a tiny merchant HTTP client."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import requests
from flask import Flask

from apg import onboarding
from apg.dbtypes import new_id
from apg.extensions import db
from apg.notifications.models import WebhookDelivery, WebhookEndpoint
from apg.payments.models import OutboxEvent
from apg.processors.mpesa.accounts import NewAccount
from tests.support.openapi import check_requests_response

# Every Merchant's HTTP session, so the test that made it can close it (an idle pooled socket
# left to the garbage collector raises a ResourceWarning, which this suite treats as an error).
SESSIONS: list[requests.Session] = []

SANDBOX_PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"


def make_account(**overrides: Any) -> NewAccount:
    values: dict[str, Any] = {
        "environment": "emulator",
        "shortcode": "174379",
        "kind": "paybill",
        "consumer_key": "apg-emulator-key",
        "consumer_secret": "apg-emulator-secret",
        "passkey": SANDBOX_PASSKEY,
    }
    values.update(overrides)
    return NewAccount(**values)


def make_tenant(app: Flask, name: str = "Acme Ltd", **account: Any) -> tuple[str, str]:
    """Create a tenant with one M-Pesa account; returns (tenant_id, api_key)."""
    with app.app_context():
        services = app.extensions["apg"]
        tenant, _, api_key = onboarding.create_merchant(services, name, make_account(**account))
        return tenant.id, api_key


def payment_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "amount": 10000,
        "currency": "KES",
        "phone_number": "0708374149",
        "reference": "INV-2024-001",
        "description": "Order 42",
    }
    body.update(overrides)
    return body


class Merchant:
    """A merchant's view of the gateway, over real HTTP."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        SESSIONS.append(self.session)  # closed after the test (conftest), not by the GC
        self.session.headers["Authorization"] = f"Bearer {api_key}"
        self.session.hooks["response"].append(check_requests_response)  # against the document

    def create_payment(self, idempotency_key: str | None = None, **body: Any) -> requests.Response:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return self.session.post(
            f"{self.base_url}/api/v1/payments",
            json=payment_body(**body),
            headers=headers,
            timeout=30,
        )

    def get_payment(self, payment_id: str, **params: Any) -> requests.Response:
        return self.session.get(
            f"{self.base_url}/api/v1/payments/{payment_id}", params=params, timeout=30
        )

    def list_payments(self, **params: Any) -> requests.Response:
        return self.session.get(f"{self.base_url}/api/v1/payments", params=params, timeout=30)


class EmulatorControl:
    """The emulator's /_emulator control API."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def settle(self, checkout_request_id: str) -> dict[str, Any]:
        return self._post(f"/_emulator/stkpush/{checkout_request_id}/settle")

    def redeliver(self, checkout_request_id: str) -> dict[str, Any]:
        return self._post(f"/_emulator/stkpush/{checkout_request_id}/redeliver")

    def push(self, checkout_request_id: str) -> dict[str, Any]:
        response = requests.get(
            f"{self.base_url}/_emulator/stkpush/{checkout_request_id}", timeout=10
        )
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    def settle_result(self, conversation_id: str) -> dict[str, Any]:
        """Decide an asynchronous product's Result now and deliver it (by either id)."""
        return self._post(f"/_emulator/results/{conversation_id}/settle")

    def books(self, shortcode: str) -> dict[str, str]:
        """A shortcode's accounts in the emulator's ledger: {"Utility Account": "1000.00"…}."""
        response = requests.get(f"{self.base_url}/_emulator/accounts/{shortcode}", timeout=10)
        response.raise_for_status()
        return response.json()["accounts"]  # type: ignore[no-any-return]

    def reset(self) -> None:
        self._post("/_emulator/reset")

    def stats(self) -> dict[str, Any]:
        response = requests.get(f"{self.base_url}/_emulator/stats", timeout=10)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    def scenario(self, msisdn: str, **scenario: Any) -> None:
        """Script the outcome for one MSISDN until the next reset."""
        response = requests.put(
            f"{self.base_url}/_emulator/scenarios/{msisdn}", json=scenario, timeout=10
        )
        response.raise_for_status()

    def _post(self, path: str) -> dict[str, Any]:
        response = requests.post(f"{self.base_url}{path}", timeout=30)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]


def make_payment(app: Flask, tenant_id: str, **fields: Any) -> str:
    """Insert a payment row directly (no STK Push); returns its id.

    `checkout_request_id=…` records that processor reference too.
    """
    from datetime import UTC, datetime

    from apg.dbtypes import new_id
    from apg.extensions import db
    from apg.payments.models import PaymentMethod, PaymentTransaction, ProcessorReference
    from apg.processors.mpesa.accounts import stk_account_id

    now = fields.pop("created_at", None) or datetime.now(UTC)
    checkout_id = fields.pop("checkout_request_id", None)
    with app.app_context():
        method = PaymentMethod(
            id=new_id("pm"),
            tenant_id=tenant_id,
            type="mpesa",
            phone_number=new_id("")[1:13],
            created_at=now,
        )
        values: dict[str, Any] = {
            "id": new_id("pay"),
            "tenant_id": tenant_id,
            "transaction_type": "stk_push",
            "processor": "mpesa",
            "account_id": stk_account_id(tenant_id) or "mpa_test",
            "payment_method_id": method.id,
            "payment_method_type": "mpesa_stk",
            "amount": 10000,
            "currency": "KES",
            "reference": "INV-1",
            "phone_number": "254708374149",
            "status": "processing",
            "conflicts": 0,
            "created_at": now,
            "updated_at": now,
        }
        values.update(fields)
        db.session.add(method)
        db.session.flush()
        db.session.add(PaymentTransaction(**values))
        if checkout_id:
            db.session.flush()
            db.session.add(
                ProcessorReference(
                    transaction_id=values["id"],
                    tenant_id=tenant_id,
                    processor="mpesa",
                    kind="checkout_request_id",
                    value=checkout_id,
                    created_at=now,
                )
            )
        db.session.commit()
        return str(values["id"])


def claim_in_flight(app: Flask, tenant_id: str, key: str, body: dict[str, Any], at: Any) -> None:
    """Leave an Idempotency-Key claim as a worker that died mid-request would: leased for 60 s
    from `at`, no response stored."""
    from datetime import timedelta

    from apg.extensions import db
    from apg.idempotency.models import IdempotencyKey
    from apg.idempotency.service import fingerprint

    with app.app_context():
        db.session.add(
            IdempotencyKey(
                tenant_id=tenant_id,
                key=key,
                fingerprint=fingerprint("POST", "/api/v1/payments", body),
                created_at=at,
                locked_until=at + timedelta(seconds=60),
                expires_at=at + timedelta(hours=24),
            )
        )
        db.session.commit()


def make_outbox_event(
    app: Flask, tenant_id: str, created: datetime, delivery: str | None = None
) -> tuple[int, int | None]:
    """A delivered outbox event of a new payment and, given a status, its delivery to a new
    endpoint (due at `created` when pending): the rows housekeeping and the ops counts read.
    Returns (event id, delivery id or None)."""
    payment_id = make_payment(app, tenant_id)
    with app.app_context():
        event = OutboxEvent(
            tenant_id=tenant_id,
            payment_id=payment_id,
            type="payment.completed",
            payload={},
            created_at=created,
            delivered_at=created,
        )
        db.session.add(event)
        db.session.flush()
        delivery_id = None
        if delivery:
            endpoint = WebhookEndpoint(
                id=new_id("we"),
                tenant_id=tenant_id,
                mode="test",
                url="https://example.com/hook",
                event_types=["*"],
                enabled=True,
                secret_encrypted="x",
                created_at=created,
                updated_at=created,
            )
            db.session.add(endpoint)
            db.session.flush()
            sent = WebhookDelivery(
                tenant_id=tenant_id,
                event_id=event.id,
                endpoint_id=endpoint.id,
                status=delivery,
                attempts=1,
                next_attempt_at=created if delivery == "pending" else None,
                created_at=created,
                updated_at=created,
            )
            db.session.add(sent)
            db.session.flush()
            delivery_id = sent.id
        db.session.commit()
        return event.id, delivery_id
