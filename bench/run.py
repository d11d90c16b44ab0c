"""`make bench`: APG against bare-Flask baselines on this machine, in one run, as one table.

Starts (all on 127.0.0.1, free ports, under the shipped gunicorn.conf.py): the Daraja
emulator, APG (`wsgi:app`) on PostgreSQL + Redis, and the bare Flask baselines
(`bench.baselines:app`) on the same database. Drives each with wrk over prepared requests,
bounded in requests and seconds, and prints req/s, p50, p99 and the ratios to the baselines,
then checks the targets of issue 11. See bench/README.md.

    .venv/bin/python bench/run.py [--database-url postgresql://postgres@127.0.0.1/apg_bench]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis
import requests
import yaml
from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `apg`, `bench` importable

from bench import rows, spy
from bench.baselines import create_table
from bench.load import Load, Request, Result, drive, wrk_path
from bench.report import Row, Targets, machine, render
from bench.stack import ROOT, Stack, flask, free_port, gunicorn, wait_for

JSON = {"Content-Type": "application/json"}


@dataclass
class Gateway:
    url: str
    emulator: str
    baselines: str
    tenant: rows.Tenant
    env: dict[str, str]


def main() -> int:
    args = parse_args()
    wrk_path()
    if not urlsplit(args.database_url).path.lstrip("/").startswith("apg_bench"):
        raise SystemExit("--database-url must name a database called apg_bench*: it is recreated")
    recreate(args.database_url)
    store = redis.Redis.from_url(args.redis_url)
    with ExitStack() as cleanup:
        logs = Path(tempfile.mkdtemp(prefix="apg-bench-"))
        stack = Stack(logs)
        cleanup.callback(store.flushdb)  # the run's own Redis database
        cleanup.callback(stack.stop)
        store.flushdb()
        try:
            table = run(args, stack)
        except Exception:
            for name, _ in stack.processes:
                print(f"--- {name} (last lines)\n{stack.tail(name)}", file=sys.stderr)
            print(f"process logs kept in {logs}", file=sys.stderr)
            raise
    print(table)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(table + "\n")
    return 0


def run(args: argparse.Namespace, stack: Stack) -> str:
    gateway = start(args, stack)
    seconds = args.seconds
    api = {**JSON, "Authorization": f"Bearer {gateway.tenant.api_key}"}
    results: list[Row] = []
    profiles: dict[str, str] = {}

    def measure(
        name: str, base: str, requests_: list[Request], load: Load, headers: dict
    ) -> Result:
        stack.check_alive()
        letter = name[1] if name.startswith("(") else ""
        sampler = None
        if letter and letter in args.profile.split(","):
            samples = stack.logs / f"profile-{letter}.raw"
            sampler = spy.start(_pid(stack, "apg"), load.seconds, samples)
        result = drive(base, requests_, load, headers)
        if sampler is not None:
            spy.finish(sampler, load.seconds)
            profiles[name] = spy.summary(samples)
        results.append(Row(name, result))
        drain(stack)  # requests wrk gave up on may still be running: not in the next row
        print(
            f"  {name:44} {result.rate:8.0f} req/s  p50 {result.p50_ms:7.1f} ms  "
            f"p99 {result.p99_ms:7.1f} ms  {result.codes} {result.errors}",
            file=sys.stderr,
        )
        return result

    callback = Request("POST", "", _sample_callback())
    load = Load(threads=2, connections=args.connections, seconds=seconds)
    many = args.requests
    measure(
        "baseline: parse JSON, answer",
        gateway.baselines,
        [_at(callback, "/echo")] * many,
        load,
        JSON,
    )
    measure(
        "baseline: INSERT + commit",
        gateway.baselines,
        [_at(callback, "/insert")] * many,
        load,
        JSON,
    )
    measure("baseline: two commits", gateway.baselines, [_at(callback, "/two")] * many, load, JSON)

    run_id = secrets.token_hex(3)
    set_latency(gateway.emulator, 0)
    measure(
        "(c) initiation, Daraja latency 0",
        gateway.url,
        rows.initiations(many, run_id, 10_000_000),
        Load(2, 16, seconds),
        api,
    )
    set_latency(gateway.emulator, args.latency)
    measure(
        f"(d) initiation, Daraja latency {args.latency:g} s",
        gateway.url,
        rows.initiations(many, run_id, 20_000_000),
        Load(2, args.latency_connections, seconds + 5, timeout_seconds=10),
        api,
    )
    set_latency(gateway.emulator, 0)
    measure(
        "(a) STK callback ingest",
        gateway.url,
        rows.stk_callbacks(args.database_url, gateway.tenant, many),
        load,
        JSON,
    )
    measure(
        "(b) C2B confirmation ingest",
        gateway.url,
        rows.c2b_confirmations(gateway.tenant, many),
        load,
        JSON,
    )
    ids = rows.payment_ids(args.database_url, gateway.tenant, 1000)
    measure(
        "(e) payment status GET",
        gateway.url,
        rows.status_gets(ids, many),
        Load(2, 16, seconds),
        api,
    )
    for name, query in rows.list_filters(datetime.now(UTC)).items():
        measure(
            f"(f) list, {name}", gateway.url, rows.lists(query, many), Load(2, 16, seconds), api
        )

    oauth = requests.get(f"{gateway.emulator}/_emulator/stats", timeout=10).json()
    for name, text in profiles.items():
        path = args.output.parent if args.output else stack.logs
        (path / f"profile-{name[1]}.txt").write_text(f"{name}\n\n{text}\n")
    return render(
        machine(args.database_url, stack),
        results,
        Targets(oauth_tokens=oauth.get("oauth_tokens_issued"), rss_mb=worker_rss_mb(stack)),
    )


def _at(request: Request, path: str) -> Request:
    return Request(request.method, path, request.body)


def _sample_callback() -> str:
    """An STK success callback as Daraja sends it (the official sample): the baselines' body."""
    path = ROOT / "tests" / "fixtures" / "daraja" / "stk_callback_success_daraja-docs.json"
    return json.dumps(json.loads(path.read_text()), separators=(",", ":"))


def start(args: argparse.Namespace, stack: Stack) -> Gateway:
    emulator = f"http://127.0.0.1:{free_port()}"
    url = f"http://127.0.0.1:{free_port()}"
    baselines = f"http://127.0.0.1:{free_port()}"
    config = write_config(stack.logs, emulator)
    env = {
        **os.environ,
        "APG_CONFIG": str(config),
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "APG_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "APG_SECRET_KEY": secrets.token_urlsafe(48),
        "APG_OPS_TOKEN": secrets.token_urlsafe(32),
        "APG_CALLBACK_ALLOWLIST": "127.0.0.1",  # the bench's callbacks come from loopback
        "APG_DEFAULT_TENANT_ENABLED": "false",
        "MPESA_CALLBACK_BASE_URL": url,
        "BENCH_DATABASE_URL": args.database_url,
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # gunicorn.conf.py: one per master
    flask("db", "upgrade", env=env, app="apg.dbapp")
    create_table(args.database_url)
    port = str(urlsplit(emulator).port)
    stack.start(
        "emulator",
        [sys.executable, "-m", "daraja_emulator", "--port", port, "--config", str(config)],
        env,
    )
    stack.start("apg", gunicorn(url.removeprefix("http://"), "wsgi:app"), env)
    stack.start(
        "baselines", gunicorn(baselines.removeprefix("http://"), "bench.baselines:app"), env
    )
    wait_for(f"{emulator}/_emulator/health", stack, "the emulator")
    wait_for(f"{url}/health/ready", stack, "APG")
    made = json.loads(flask("apg", "create-tenant", "--name", "Bench", env=env))
    with psycopg.connect(args.database_url) as connection:
        token, shortcode = connection.execute(
            "SELECT t.callback_token, a.shortcode FROM tenants t JOIN mpesa_accounts a "
            "ON a.tenant_id = t.id WHERE a.id = %s",
            (made["account_id"],),
        ).fetchone()
    tenant = rows.Tenant(made["tenant_id"], made["account_id"], made["api_key"], token, shortcode)
    return Gateway(url, emulator, baselines, tenant, env)


def write_config(directory: Path, emulator_url: str) -> Path:
    """config/mpesa.yaml as shipped, but: Daraja is the emulator, which sends no callbacks
    of its own (the bench sends them, as rows a and b), and the per-key API rate limit is
    far above what the run sends (a merchant's quota is policy, not the gateway's speed)."""
    document = yaml.safe_load((ROOT / "config" / "mpesa.yaml").read_text())
    document["environments"]["emulator"] = emulator_url
    document["emulator"]["auto_deliver"] = False
    document.setdefault("security", {})["api_rate_limit"] = "1000000/minute"
    path = directory / "apg.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def set_latency(emulator_url: str, seconds: float) -> None:
    answer = requests.put(
        f"{emulator_url}/_emulator/latency", json={"answer_latency_seconds": seconds}, timeout=10
    )
    answer.raise_for_status()


def recreate(database_url: str) -> None:
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def drain(stack: Stack, quiet_seconds: float = 2.0, at_most: float = 90.0) -> None:
    """Wait until no process of the stack has written to its log for `quiet_seconds` (every
    request writes an access line), or `at_most` seconds."""
    logs = [stack.logs / f"{name}.log" for name, _ in stack.processes]
    deadline = time.monotonic() + at_most
    sizes, quiet_since = None, time.monotonic()
    while time.monotonic() < deadline:
        now_sizes = [path.stat().st_size if path.exists() else 0 for path in logs]
        if now_sizes != sizes:
            sizes, quiet_since = now_sizes, time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_seconds:
            return
        time.sleep(0.25)


def _pid(stack: Stack, name: str) -> int:
    return next(process.pid for each, process in stack.processes if each == name)


def worker_rss_mb(stack: Stack) -> float:
    """The largest resident set of APG's gunicorn workers (the master's children)."""
    master = _pid(stack, "apg")
    done = subprocess.run(
        ["ps", "-o", "rss=", "--ppid", str(master)], capture_output=True, text=True, check=True
    )
    return max(int(line) for line in done.stdout.split()) / 1024


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/apg_bench"
        ),
        help="a PostgreSQL database named apg_bench*: dropped and created again",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"),
        help="a Redis database the run may flush",
    )
    parser.add_argument("--seconds", type=int, default=10, help="at most, per row")
    parser.add_argument("--requests", type=int, default=3000, help="at most, per row")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--latency", type=float, default=1.0, help="Daraja's answer time, row d")
    parser.add_argument("--latency-connections", type=int, default=300)
    parser.add_argument("--output", type=Path, help="also write the table here")
    parser.add_argument(
        "--profile",
        default="",
        help="rows to sample with py-spy, e.g. a,c,e: profile-<row>.txt beside --output",
    )
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main())
