"""No database transaction stays open while Daraja answers.

Daraja takes 0.3 to 3 s. A request that holds a pooled connection (idle in transaction) for that
long caps the gateway at pool-size requests per Daraja latency, whatever its thread count.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from apg.extensions import db
from apg.processors.mpesa.client import DarajaClient
from tests.e2e.test_async_products import Operator, operator  # noqa: F401  (fixture)
from tests.support.factories import Merchant


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """(path, whether the request's session was in a transaction) of each Daraja call."""
    seen: list[tuple[str, bool]] = []
    original = DarajaClient.post

    def watching(self: DarajaClient, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        seen.append((path, db.session().in_transaction()))
        return original(self, path, payload)

    monkeypatch.setattr(DarajaClient, "post", watching)
    return seen


def test_an_stk_push_and_its_query_hold_no_transaction_while_daraja_answers(
    app: Flask, merchant: Merchant, calls: list[tuple[str, bool]]
) -> None:
    payment = merchant.create_payment().json()
    assert merchant.get_payment(payment["id"], refresh="true").status_code == 200

    paths = [path for path, _ in calls]
    assert paths == ["/mpesa/stkpush/v1/processrequest", "/mpesa/stkpushquery/v1/query"]
    assert [open_ for _, open_ in calls] == [False, False], calls


def test_a_payout_holds_no_transaction_while_daraja_answers(
    operator: Operator,  # noqa: F811
    calls: list[tuple[str, bool]],
) -> None:
    created = operator.post("/api/v1/payouts", {"amount": 10000, "phone_number": "0712345678"})
    assert created.status_code == 201, created.text
    assert [path for path, _ in calls] == ["/mpesa/b2c/v3/paymentrequest"]
    assert [open_ for _, open_ in calls] == [False], calls
