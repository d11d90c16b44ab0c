"""Round trips to the database per request, counted: each statement is a round trip, and on
the hot paths they are most of a request's cost (bench/RESULTS.md). A new query on one of
these paths must be a choice, made here, not an accident."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from apg.extensions import db
from tests.support.factories import EmulatorControl, Merchant

# Statements (BEGIN/COMMIT are not statements; SAVEPOINTs are) a request may send.
STATUS_GET = 2  # the key with its tenant; the payment with its refs (mode's accounts joined)
LIST = 3  # the key; the page; the page's refs
STK_CALLBACK = 9  # tenant by URL token, raw INSERT | payment, refs, account, UPDATE, outbox,
#                   audit, callback UPDATE
# the key; idempotency claim; account; payment method (upsert in a savepoint: 4); payment and
# its audit row; credentials; callback URL token | refs, UPDATE, audit, refs for the answer,
# callbacks that raced ahead; the stored answer. (A key's first use in a minute and an OAuth
# token's mint add theirs: the warm-up pays them. The token store is not counted: with Redis
# configured it is a Redis GET, else a SELECT.) SQLite inserts the two refs one at a time.
STK_PUSH = {"postgresql": 17, "sqlite": 18}


@contextmanager
def counted(app: Flask) -> Iterator[list[str]]:
    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def statement(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        if "oauth_tokens" not in sql:
            seen.append(" ".join(sql.split())[:120])

    event.listen(engine, "before_cursor_execute", statement)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", statement)


@pytest.fixture
def paid(merchant: Merchant, emulator_control: EmulatorControl) -> dict[str, Any]:
    payment = merchant.create_payment().json()
    emulator_control.settle(payment["checkout_request_id"])
    return payment


def test_a_status_get_is_two_statements(
    app: Flask, merchant: Merchant, paid: dict[str, Any]
) -> None:
    with counted(app) as seen:
        assert merchant.get_payment(paid["id"]).status_code == 200
    assert len(seen) == STATUS_GET, seen


def test_a_filtered_list_is_three_statements(
    app: Flask, merchant: Merchant, paid: dict[str, Any]
) -> None:
    with counted(app) as seen:
        page = merchant.list_payments(status="completed")
    assert page.status_code == 200 and page.json()["data"], page.text
    assert len(seen) == LIST, seen


def test_an_stk_callback_is_nine_statements(
    app: Flask, merchant: Merchant, emulator_control: EmulatorControl
) -> None:
    payment = merchant.create_payment().json()
    with counted(app) as seen:
        delivery = emulator_control.settle(payment["checkout_request_id"])
    assert delivery["status_code"] == 200
    assert merchant.get_payment(payment["id"]).json()["status"] == "completed"
    assert len(seen) == STK_CALLBACK, seen


def test_an_stk_push_is_seventeen_statements(app: Flask, merchant: Merchant) -> None:
    assert merchant.create_payment(idempotency_key="budget-0").status_code == 201
    with counted(app) as seen:
        created = merchant.create_payment(idempotency_key="budget-1", phone_number="0712000001")
    assert created.status_code == 201, created.text
    with app.app_context():
        dialect = db.engine.dialect.name
    assert len(seen) == STK_PUSH[dialect], "\n".join(seen)
