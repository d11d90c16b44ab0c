"""EXPLAIN (ANALYZE, BUFFERS) of every query behind the read endpoints, as the app sends them.

    .venv/bin/python bench/explain.py --database-url postgresql://postgres@127.0.0.1/apg_seed1m \
        --output bench/results/explain_1m.txt

Calls the real functions (apg.payments.queries, apg.notifications.events, apg.ops.stats) in an
app context on a seeded database (bench/seed.py), for its busiest and its quietest tenant as
each tenant's test key sees it (apg.api.auth.viewer): the status GET and audit trail, the
payments list unfiltered, by each status, reference, created range, status and range, a page-2
and a mid-history cursor, payouts, C2B payments, events; then /ops/stats' ops_stats() for 24
hours and 7 days. Records every statement SQLAlchemy sends (an engine event) and runs EXPLAIN
(ANALYZE, BUFFERS) of each with the same parameters; then times each call warm (median of
--repeat). Prints a summary (per query: the call's time, EXPLAIN's execution time, the pages
it touched, which do not depend on the machine's load, and the indexes the plans read or a
Seq Scan) and every statement with its plan.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from flask import Flask, g
from sqlalchemy import event, func, select, text

# Run as a file: `apg` and `bench` are importable from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.seed import bench_app

SCANS = re.compile(
    r"(Index Only Scan(?: Backward)? using \S+|Index Scan(?: Backward)? using \S+"
    r"|Bitmap Index Scan on \S+|Seq Scan on \S+)"
)


@dataclass
class Case:
    label: str
    call: Callable[[], Any]
    statements: list[tuple[str, Any]] = field(default_factory=list)
    plans: list[str] = field(default_factory=list)
    execution_ms: list[float] = field(default_factory=list)
    call_ms: float = 0.0


@contextmanager
def recorded(engine: Any) -> Iterator[list[tuple[str, Any]]]:
    found: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        found.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield found
    finally:
        event.remove(engine, "before_cursor_execute", record)


def cases(app: Flask, which: str) -> list[Case]:
    """What each read endpoint runs, for the busiest or the quietest tenant (its test key's
    Scope)."""
    from apg.api.auth import viewer
    from apg.extensions import db
    from apg.notifications import events
    from apg.ops import stats, webhook_logs
    from apg.payments import queries
    from apg.payments.models import PaymentTransaction as P
    from apg.payments.queries import PaymentFilter
    from apg.services import services
    from apg.tenants.models import Tenant

    by_size = func.count().desc() if which == "busiest" else func.count()
    tenant_id = db.session.execute(
        select(P.tenant_id).group_by(P.tenant_id).order_by(by_size).limit(1)
    ).scalar_one()
    g.tenant = db.session.get(Tenant, tenant_id)
    g.key_mode = "test"
    g.pop("scope", None)
    scope = viewer()
    total = db.session.execute(select(func.count()).where(P.tenant_id == tenant_id)).scalar_one()
    # A payment from the middle of the tenant's history: its id, reference and day.
    middle = db.session.execute(
        select(P)
        .where(P.tenant_id == tenant_id, P.transaction_type == "stk_push")
        .order_by(P.created_at)
        .offset(total // 2)
        .limit(1)
    ).scalar_one()
    day = middle.created_at.replace(hour=0, minute=0, second=0, microsecond=0)
    anchor = queries.list_payments(scope, PaymentFilter(limit=20)).data[-1].id
    event_id = events.list_events(scope, limit=1).data[0]
    now = services().clock.now()
    since = now - timedelta(hours=24)
    print(f"{which} tenant {tenant_id}: {total:,} operations; {middle.id}, {middle.reference}")

    def listing(**query: Any) -> Callable[[], Any]:
        return lambda: queries.list_payments(scope, PaymentFilter(**query))

    found = [
        Case("GET /payments/<id>", lambda: queries.get_payment(scope, middle.id)),
        Case("GET /payments/<id>/events", lambda: queries.events_of(scope, middle.id)),
        Case("GET /payments", listing()),
        Case("GET /payments?starting_after (page 2)", listing(starting_after=anchor)),
        Case("GET /payments?starting_after (mid-history page)", listing(starting_after=middle.id)),
        Case("GET /payments?status=completed", listing(status="completed")),
        Case("GET /payments?status=failed", listing(status="failed")),
        Case("GET /payments?status=cancelled", listing(status="cancelled")),
        Case("GET /payments?status=review", listing(status="review")),
        Case("GET /payments?status=processing", listing(status="processing")),
        Case(f"GET /payments?reference={middle.reference}", listing(reference=middle.reference)),
        Case(
            "GET /payments?created_gte&created_lt (one day)",
            listing(created_gte=day, created_lt=day + timedelta(days=1)),
        ),
        Case(
            "GET /payments?status=failed&created_gte&created_lt (one day)",
            listing(status="failed", created_gte=day, created_lt=day + timedelta(days=1)),
        ),
        Case("GET /payouts", listing(types=("b2c_payment",))),
        Case("GET /payouts?status=failed", listing(types=("b2c_payment",), status="failed")),
        Case("GET /c2b/payments", listing(types=("c2b_payment",))),
        Case("GET /events", lambda: events.list_events(scope)),
        Case(
            "GET /events?type=payment.failed",
            lambda: events.list_events(scope, type="payment.failed"),
        ),
        Case("GET /events/<id>", lambda: events.get_event(scope, events.public_id(event_id))),
        Case(
            "GET /ops/webhook-logs?tenant_id",
            lambda: webhook_logs.recent(limit=50, tenant_id=tenant_id),
        ),
    ]
    for case in found:
        case.label = f"[{which}] {case.label}"
    if which == "busiest":  # not per tenant
        found += [
            Case("GET /ops/stats (24 h)", lambda: stats.ops_stats(since)),
            Case("GET /ops/stats?hours=168 (7 days)", lambda: stats.ops_stats(now - timedelta(7))),
            Case("GET /ops/webhook-logs", lambda: webhook_logs.recent(limit=50)),
        ]
    return found


def explain(app: Flask, repeat: int) -> tuple[list[Case], dict[str, Any]]:
    from apg.extensions import db

    with app.test_request_context():
        found = cases(app, "busiest") + cases(app, "quietest")
        engine = db.engine
        for case in found:
            with recorded(engine) as statements:
                case.call()
            case.statements = statements
            db.session.rollback()
            for statement, parameters in statements:
                rows = db.session.connection().exec_driver_sql(
                    f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters
                )
                lines = [row[0] for row in rows]
                case.plans.append("\n".join(lines))
                timing = next((line for line in lines if line.startswith("Execution Time")), "")
                case.execution_ms.append(float(re.findall(r"[\d.]+", timing)[0]) if timing else 0)
            db.session.rollback()
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                case.call()
                times.append((time.perf_counter() - started) * 1000)
                db.session.rollback()
            case.call_ms = statistics.median(times)
        counts = {
            table: db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("payment_transactions", "payment_events", "inbound_callbacks")
        }
    return found, counts


def pages(plan: str) -> int:
    """The buffers the top node touched (its line covers every node under it)."""
    found = re.search(r"Buffers: shared((?: \w+=\d+)+)", plan)
    if not found:
        return 0
    counts = dict(part.split("=") for part in found.group(1).split())
    return int(counts.get("hit", 0)) + int(counts.get("read", 0))


def report(found: list[Case], counts: dict[str, Any], database: str) -> str:
    lines = [
        f"EXPLAIN (ANALYZE, BUFFERS) on {database} at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "rows: " + ", ".join(f"{table} {n:,}" for table, n in counts.items()),
        "",
        "Summary. call ms: the real function, warm, median of the timed calls. SQL ms: EXPLAIN"
        " ANALYZE's execution times, added up (instrumented: slower than the call's share)."
        " pages: buffers the statements touched (shared hit + read), a measure of work that"
        " does not depend on the machine's load.",
        f"{'query':<68} {'call ms':>8} {'SQL ms':>8} {'pages':>7}  plan",
    ]
    for case in found:
        scans = sorted({s for plan in case.plans for s in SCANS.findall(plan)})
        lines.append(
            f"{case.label[:68]:<68} {case.call_ms:>8.2f} {sum(case.execution_ms):>8.2f}"
            f" {sum(pages(plan) for plan in case.plans):>7}  {'; '.join(scans)}"
        )
    for case in found:
        lines += ["", "=" * 100, case.label, "=" * 100]
        for (statement, parameters), plan in zip(case.statements, case.plans, strict=True):
            lines += ["", statement.strip(), f"-- parameters: {parameters!r}", "", plan]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a database bench/seed.py filled")
    parser.add_argument("--repeat", type=int, default=7, help="timed calls per query (7)")
    parser.add_argument("--output", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    from sqlalchemy.engine import make_url

    url = make_url(args.database_url).set(drivername="postgresql+psycopg")
    # Reads decrypt nothing: any Fernet key will do.
    app = bench_app(url.render_as_string(hide_password=False), Fernet.generate_key().decode())
    found, counts = explain(app, args.repeat)
    text_report = report(found, counts, url.database or "")
    print(text_report)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text_report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
