"""Lists and /ops/stats built to stay as fast at a million rows as at a thousand (issue 11):
a page of several types is the newest of one ordered scan per type, a cursor is an index bound
(a row comparison), and on PostgreSQL every list shape has an index that returns its rows in
order (no sort of the tenant's rows), and /ops/stats reads indexes only. bench/explain.py shows
the plans on a seeded million; these pin the results and the plans' shape."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from apg.extensions import db
from apg.ops import stats
from apg.payments import queries
from apg.payments.queries import PaymentFilter, Scope
from tests.support.factories import make_outbox_event, make_payment

START = datetime(2026, 2, 1, tzinfo=UTC)
C2B_RESULT = {  # what a C2B confirmation leaves (apg.processors.mpesa.products.c2b)
    "result": {
        "msisdn": "2547 ***** 149",
        "msisdn_format": "masked",
        "first_name": "John",
        "middle_name": None,
        "last_name": None,
        "business_short_code": "174379",
        "mpesa_transaction_type": "Pay Bill",
        "invoice_number": None,
        "org_account_balance": 100010000,
        "third_party_trans_id": None,
    }
}
KINDS = ("stk_push", "c2b_payment", "b2c_payment")
DETAILS: dict[str, dict[str, Any]] = {
    "stk_push": {},
    "c2b_payment": {
        "payment_method_type": "mpesa_c2b",
        "phone_number": None,
        "receipt": "UKQ44LMRGJ",
        "processor_data": C2B_RESULT,
    },
    "b2c_payment": {"payment_method_type": "mpesa_b2c"},
}
POSTGRES = (os.environ.get("APG_TEST_DATABASE_URL") or "").startswith("postgresql")


def every_page(client: FlaskClient, headers: dict[str, str], path: str, limit: int) -> list[str]:
    seen: list[str] = []
    cursor = ""
    while True:
        page = client.get(
            f"{path}{'&' if '?' in path else '?'}limit={limit}{cursor}", headers=headers
        )
        assert page.status_code == 200, page.json
        seen += [p["id"] for p in page.json["data"]]
        if not page.json["has_more"]:
            return seen
        cursor = f"&starting_after={seen[-1]}"


@pytest.fixture
def mixed(app: Flask, tenant: tuple[str, str]) -> list[tuple[datetime, str, str, str]]:
    """STK Pushes, C2B payments and payouts of one tenant, interleaved in time, some at the same
    instant across types; (created_at, id, type, status) each."""
    made = []
    for i in range(14):
        kind = KINDS[i % 3]
        status = "failed" if i % 4 == 0 else "completed"
        at = START + timedelta(minutes=i // 2)  # pairs at one instant, of two types
        payment_id = make_payment(
            app, tenant[0], created_at=at, transaction_type=kind, status=status, **DETAILS[kind]
        )
        made.append((at, payment_id, kind, status))
    return made


def newest_first(rows: list[tuple[datetime, str, str, str]]) -> list[str]:
    return [payment_id for _, payment_id, _, _ in sorted(rows, reverse=True)]


@pytest.mark.parametrize("limit", [1, 2, 5, 100])
def test_pages_of_several_types_are_their_newest_in_order_whatever_the_page_size(
    client: FlaskClient, api_headers: dict[str, str], mixed: list[Any], limit: int
) -> None:
    payments = [row for row in mixed if row[2] in ("stk_push", "c2b_payment")]
    assert every_page(client, api_headers, "/api/v1/payments", limit) == newest_first(payments)
    failed = [row for row in payments if row[3] == "failed"]
    found = every_page(client, api_headers, "/api/v1/payments?status=failed", limit)
    assert found == newest_first(failed)


def test_a_one_type_list_pages_through_ties_and_keeps_to_its_type(
    client: FlaskClient, api_headers: dict[str, str], mixed: list[Any]
) -> None:
    payouts = [row for row in mixed if row[2] == "b2c_payment"]
    assert every_page(client, api_headers, "/api/v1/payouts", 2) == newest_first(payouts)
    c2b = [row for row in mixed if row[2] == "c2b_payment"]
    assert every_page(client, api_headers, "/api/v1/c2b/payments", 1) == newest_first(c2b)


def test_filters_combine_with_a_cursor_across_types(
    app: Flask,
    client: FlaskClient,
    api_headers: dict[str, str],
    tenant: tuple[str, str],
    mixed: list[Any],
) -> None:
    window = "created_gte=2026-02-01T00:02:00Z&created_lt=2026-02-01T00:06:00Z"
    inside = [
        row
        for row in mixed
        if row[2] != "b2c_payment"
        and START + timedelta(minutes=2) <= row[0] < START + timedelta(minutes=6)
    ]
    found = every_page(client, api_headers, f"/api/v1/payments?{window}", 1)
    assert found == newest_first(inside)
    reference = make_payment(app, tenant[0], reference="R-9")
    assert every_page(client, api_headers, "/api/v1/payments?reference=R-9", 1) == [reference]


# --- the plans (PostgreSQL) ---------------------------------------------------------------


@pytest.fixture
def postgres_plans(app: Flask, tenant: tuple[str, str]) -> Iterator[Any]:
    """EXPLAIN of what a call sends, with sorting and sequential scans priced out: a plan
    that still sorts, or reads a table whole, has no index to do without."""
    if not POSTGRES:
        pytest.skip("plans are PostgreSQL's (APG_TEST_DATABASE_URL)")
    for i in range(60):
        kind = KINDS[i % 3]
        make_payment(
            app,
            tenant[0],
            created_at=START + timedelta(minutes=i),
            transaction_type=kind,
            status=("completed", "failed", "review")[i % 3],
            reference=f"R-{i}",
            **DETAILS[kind],
        )

    def plans(
        call: Any, priced_out: tuple[str, ...] = ("seqscan", "sort", "bitmapscan")
    ) -> list[str]:
        with app.app_context():
            # As autovacuum leaves a table: statistics, and the visibility map that lets a
            # scan answer from an index alone.
            tables = ("payment_transactions", "outbox_events", "inbound_callbacks")
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                for table in (*tables, "webhook_deliveries"):
                    conn.exec_driver_sql(f"VACUUM ANALYZE {table}")
            sent: list[tuple[str, Any]] = []

            def record(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
                sent.append((statement, params))

            event.listen(db.engine, "before_cursor_execute", record)
            try:
                call()
            finally:
                event.remove(db.engine, "before_cursor_execute", record)
            found = []
            connection = db.session.connection()
            for setting in priced_out:
                connection.exec_driver_sql(f"SET LOCAL enable_{setting} = off")
            for statement, params in sent:
                rows = connection.exec_driver_sql(f"EXPLAIN {statement}", params)
                found.append("\n".join(row[0] for row in rows))
            db.session.rollback()
            return found

    yield plans


SHAPES = {
    "newest": {},
    "status": {"status": "failed"},
    "rare status": {"status": "review"},
    "reference": {"reference": "R-7"},
    "created range": {
        "created_gte": START + timedelta(minutes=10),
        "created_lt": START + timedelta(minutes=20),
    },
    "status in a range": {"status": "failed", "created_gte": START + timedelta(minutes=10)},
}


@pytest.mark.parametrize("types", [queries.COLLECTIONS, ("b2c_payment",)], ids=["2 types", "1"])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_list_shape_reads_an_index_in_order(
    app: Flask, tenant: tuple[str, str], postgres_plans: Any, shape: str, types: tuple[str, ...]
) -> None:
    scope = Scope(tenant[0], frozenset({_account(app, tenant[0])}))

    def call() -> None:
        with app.test_request_context():
            queries.list_payments(scope, PaymentFilter(types=types, **SHAPES[shape]))

    for plan in postgres_plans(call):
        assert "Seq Scan" not in plan, plan
        assert not any(_is_sort(line) for line in plan.splitlines()), plan


def test_a_deep_cursor_is_an_index_bound_not_a_filter(
    app: Flask, tenant: tuple[str, str], postgres_plans: Any
) -> None:
    with app.app_context():
        anchor = queries.list_payments(tenant[0], PaymentFilter(limit=30)).data[-1].id

    def call() -> None:
        with app.test_request_context():
            queries.list_payments(tenant[0], PaymentFilter(starting_after=anchor))

    plans = postgres_plans(call)
    page = next(plan for plan in plans if "UNION" in plan or "Merge Append" in plan)
    bounds = [line for line in page.splitlines() if "Index Cond:" in line]
    assert bounds and all("ROW(created_at, (id)::text) < ROW(" in line for line in bounds), page


def test_events_of_a_tenant_read_in_order_without_a_sort(
    app: Flask, tenant: tuple[str, str], postgres_plans: Any
) -> None:
    from apg.notifications import events

    scope = Scope(tenant[0], frozenset({_account(app, tenant[0])}))

    def call() -> None:
        with app.test_request_context():
            events.list_events(scope)
            events.list_events(scope, type="payment.failed")

    for plan in postgres_plans(call):
        assert "Seq Scan" not in plan and not any(_is_sort(x) for x in plan.splitlines()), plan


def test_ops_stats_read_indexes_only(
    app: Flask, tenant: tuple[str, str], postgres_plans: Any
) -> None:
    from apg.webhooks.models import InboundCallback

    with app.app_context():
        for minutes in range(0, 3000, 60):
            at = datetime.now(UTC) - timedelta(minutes=minutes)
            body = b'{"Body": {}}'
            db.session.add(
                InboundCallback(
                    kind="stk",
                    processor="mpesa",
                    tenant_id=tenant[0],
                    raw_body=body,
                    body_size=len(body),
                    received_at=at,
                    outcome="applied",
                    processed_at=at,
                )
            )
        db.session.commit()

    def call() -> None:
        with app.app_context():
            stats.ops_stats(datetime.now(UTC) - timedelta(hours=24))

    found = postgres_plans(call, priced_out=("seqscan", "bitmapscan"))  # group as it likes
    plans = [plan for plan in found if "mpesa_accounts" not in plan]
    assert len(plans) >= 5, plans  # operations, callbacks, anomalies, conflicts, deliveries
    for plan in plans:
        assert "Seq Scan" not in plan, plan  # every query has an index to read
        if "payment_transactions" in plan or "inbound_callbacks" in plan:
            assert "Index Only Scan" in plan, plan  # and, where there are rows, only that


def _is_sort(line: str) -> bool:
    node = line.strip().removeprefix("->").strip()
    return node.startswith(("Sort  (", "Incremental Sort  ("))


def _account(app: Flask, tenant_id: str) -> str:
    from apg.processors.mpesa.accounts import stk_account_id

    with app.app_context():
        return str(stk_account_id(tenant_id))


# --- /ops/stats' webhook deliveries ---------------------------------------------------------


def test_ops_stats_count_deliveries_made_in_the_window_and_every_pending_one(
    app: Flask, client: FlaskClient, tenant: tuple[str, str]
) -> None:
    now = datetime.now(UTC)
    for status, age in (
        ("delivered", timedelta(hours=1)),
        ("delivered", timedelta(days=3)),  # outside the window
        ("failed", timedelta(hours=2)),
        ("pending", timedelta(days=3)),  # still retrying: the backlog counts however old
        ("pending", timedelta(minutes=1)),
    ):
        make_outbox_event(app, tenant[0], now - age, status)

    assert client.get("/ops/stats").json["webhook_deliveries"] == {
        "delivered": 1,
        "failed": 1,
        "pending": 2,
    }
    wider = client.get("/ops/stats?hours=96").json["webhook_deliveries"]
    assert wider == {"delivered": 2, "failed": 1, "pending": 2}
    with app.app_context():  # /metrics' gauge: every delivery there is
        assert stats.webhook_deliveries() == {"delivered": 2, "failed": 1, "pending": 2}


def test_a_keys_accounts_are_one_array_on_postgresql(app: Flask, tenant: tuple[str, str]) -> None:
    """An API key's scope is a SELECT of its mode's accounts, joined in the read's statement;
    on PostgreSQL as `= ANY(array)`, which the planner estimates right (an `IN (SELECT …)`
    semi-join it underestimates twentyfold, and reads a busy tenant's events in parallel)."""
    from sqlalchemy import select as select_

    from apg.processors.mpesa.accounts import MpesaAccount

    with app.app_context():
        ids = select_(MpesaAccount.id).where(MpesaAccount.tenant_id == tenant[0])
        [clause] = Scope(tenant[0], ids).account_clauses()
        sql = str(clause.compile(dialect=db.engine.dialect))
        made = make_payment(app, tenant[0])
        found = queries.list_payments(Scope(tenant[0], ids), PaymentFilter())
        assert [p.id for p in found.data] == [made]
    if POSTGRES:
        assert "= ANY (CAST((SELECT array_agg(" in sql, sql
    else:
        assert " IN (SELECT " in sql, sql
