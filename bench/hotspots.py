"""Where one request's time goes: each bench row through the app in process, profiled.

For each row: SQL statements and commits per request (counted on the engine: deterministic,
whatever else the machine does), wall time per request, and cProfile's top entries. Uses a
private PostgreSQL database (recreated) and the emulator in process, at zero latency.

    .venv/bin/python bench/hotspots.py [--database-url postgresql://…/apg_bench_profile]
        [--redis-url redis://127.0.0.1:6379/12] [--requests 300] [--top 20] [--rows a,c,e]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from cryptography.fernet import Fernet
from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apg import create_app
from apg.cli.merchants import emulator_defaults
from apg.extensions import db
from apg.onboarding import create_merchant
from apg.processors.mpesa.accounts import NewAccount
from apg.services import services
from bench import rows
from bench.load import Request
from bench.run import recreate
from daraja_emulator import EmulatorServer, load_config

# Profile lines shown: the gateway's code and the libraries on its hot path, not the harness.
FOCUS = r"apg/|sqlalchemy/(orm|engine)/|psycopg/|flask_|limits/|redis/|marshmallow/|logging/"


@dataclass
class Counts:
    statements: int = 0
    commits: int = 0
    shown: list[str] | None = None  # the statements of one request, when asked


def main() -> int:
    args = parse_args()
    recreate(args.database_url)
    redis.Redis.from_url(args.redis_url).flushdb()
    config = load_config({"auto_deliver": False})
    with EmulatorServer(config) as emulator:
        app = create_app(
            {
                "app.database_url": args.database_url,
                "app.redis_url": args.redis_url,
                "environments.emulator": emulator.url,
                "callbacks.public_base_url": "http://127.0.0.1:9",
                "security.encryption_key": Fernet.generate_key().decode(),
                "security.secret_key": "profile",
                "security.api_rate_limit": "1000000/minute",
                "security.callback_allowlist": "127.0.0.1",
                "monitoring.log_level": "WARNING",
            }
        )
        counts = Counts()
        with app.app_context():
            import flask_migrate

            flask_migrate.upgrade()
            _count(counts)
            tenant = _tenant(args.database_url)
        client = app.test_client()
        api = {"Authorization": f"Bearer {tenant.api_key}", "Content-Type": "application/json"}
        n = args.requests
        plan: dict[str, Callable[[], list[Request]]] = {
            "c": lambda: rows.initiations(n, "p", 10_000_000),
            "a": lambda: rows.stk_callbacks(args.database_url, tenant, n),
            "b": lambda: rows.c2b_confirmations(tenant, n),
            "e": lambda: rows.status_gets(rows.payment_ids(args.database_url, tenant, n), n),
            "f": lambda: rows.lists("status=completed&limit=20", n),
        }
        for name in args.rows.split(","):
            prepared = plan[name]()
            _profile(name, client, prepared, api, counts, args.top)
    return 0


def _count(counts: Counts) -> None:
    @event.listens_for(db.engine, "before_cursor_execute")
    def statement(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        counts.statements += 1
        if counts.shown is not None:
            counts.shown.append(" ".join(sql.split())[:160])

    @event.listens_for(db.engine, "commit")
    def commit(*_: Any) -> None:
        counts.commits += 1


def _tenant(database_url: str) -> rows.Tenant:
    made, account, key = create_merchant(
        services(), "Profile", NewAccount("emulator", **emulator_defaults())
    )
    return rows.Tenant(made.id, account.id, key, made.callback_token, account.shortcode)


def _profile(
    name: str, client: Any, prepared: list[Request], api: dict[str, str], counts: Counts, top: int
) -> None:
    def send(request: Request) -> int:
        headers = dict(api)
        if request.idempotency_key:
            headers["Idempotency-Key"] = request.idempotency_key
        answer = client.open(
            request.path, method=request.method, data=request.body or None, headers=headers
        )
        return int(answer.status_code)

    for request in prepared[:4]:  # warm: first-use imports and caches
        send(request)
    counts.shown = []
    send(prepared[4])
    print(f"== row {name}: the statements of one request")
    print("\n".join(f"   {sql}" for sql in counts.shown))
    counts.shown = None
    counts.statements = counts.commits = 0
    profiler = cProfile.Profile()
    started = time.perf_counter()
    cpu = time.thread_time()  # this thread runs the app (the emulator has threads of its own)
    statuses: dict[int, int] = {}
    if top:
        profiler.enable()
    for request in prepared[5:]:
        status = send(request)
        statuses[status] = statuses.get(status, 0) + 1
    profiler.disable()
    done = len(prepared) - 5
    seconds = time.perf_counter() - started
    cpu = time.thread_time() - cpu
    print(
        f"== row {name}: {done} requests {statuses}: {seconds / done * 1000:.2f} ms each "
        f"({cpu / done * 1000:.2f} ms CPU{', profiled' if top else ''}), "
        f"{counts.statements / done:.1f} SQL statements and {counts.commits / done:.1f} "
        f"commits per request"
    )
    for order in ("tottime", "cumulative") if top else ():
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats(order).print_stats(FOCUS, top)
        print(f"-- by {order}")
        print("\n".join(text.getvalue().splitlines()[6:]))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/apg_bench_profile"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--rows", default="c,a,b,e,f")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main())
