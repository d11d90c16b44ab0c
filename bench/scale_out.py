"""Scale-out check on one machine: two gateway instances, two workers, one database, one Redis.

Starts the Daraja emulator, two `gunicorn wsgi:app` masters (2 workers each, each its own
callback URL) and two `flask apg worker` processes on one PostgreSQL database and one Redis
database; fires a burst of STK payments split across both instances; waits until every payment
is completed and a local receiver has every `payment.completed` webhook; then checks that each
event was delivered exactly once with a valid signature and that the emulator issued one OAuth
token. Prints a report and exits 1 if any check fails. See bench/README.md.

    .venv/bin/python bench/scale_out.py --database-url postgresql://postgres@127.0.0.1/apg_scale \
        --redis-url redis://127.0.0.1:6379/13
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis
import requests
import yaml
from cryptography.fernet import Fernet
from prometheus_client.parser import text_string_to_metric_families

# Run as a file: `apg` and `bench` are importable from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apg.notifications.signing import verify_signature
from bench.stack import ROOT, Stack, flask, free_port, gunicorn, wait_for

INSTANCES = ("A", "B")


def write_config(directory: Path, emulator_url: str) -> Path:
    """config/mpesa.yaml with the emulator's URL, a 1 s worker interval and 1 s callbacks."""
    document = yaml.safe_load((ROOT / "config" / "mpesa.yaml").read_text())
    document["environments"]["emulator"] = emulator_url
    document["reconciliation"]["interval_seconds"] = 1
    document["emulator"]["callback_delay_seconds"] = 1
    path = directory / "apg.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def base_env(args: argparse.Namespace, config: Path) -> dict[str, str]:
    return {
        **os.environ,
        "APG_CONFIG": str(config),
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "APG_ENCRYPTION_KEY": Fernet.generate_key().decode(),  # one key for every process
        "APG_SECRET_KEY": secrets.token_urlsafe(48),
        "APG_OPS_TOKEN": secrets.token_urlsafe(32),
        # Callbacks come from 127.0.0.1: as Safaricom's own addresses, never rate limited.
        "APG_CALLBACK_ALLOWLIST": "127.0.0.1",
        "APG_DEFAULT_TENANT_ENABLED": "false",
        "APG_LOG_LEVEL": "WARNING",
    }


def start_everything(stack: Stack, args: argparse.Namespace, env: dict[str, str]) -> dict[str, str]:
    """The emulator, gateways A and B, two workers; {name: base URL} of the HTTP ones."""
    emulator = env["EMULATOR_URL"]
    stack.start(
        "emulator",
        [
            *(sys.executable, "-m", "daraja_emulator", "--host", "127.0.0.1"),
            *("--port", str(urlsplit(emulator).port), "--config", env["APG_CONFIG"]),
        ],
        env,
    )
    wait_for(f"{emulator}/_emulator/health", stack, "the emulator")
    urls = {"emulator": emulator}
    for name in INSTANCES:
        url = f"http://127.0.0.1:{free_port()}"
        gateway_env = {**env, "MPESA_CALLBACK_BASE_URL": url}
        gateway_env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # gunicorn.conf.py: one per master
        stack.start(
            f"gateway-{name}",
            gunicorn(url.removeprefix("http://"), "wsgi:app", "--workers", str(args.workers)),
            gateway_env,
        )
        urls[name] = url
    for name in INSTANCES:
        wait_for(f"{urls[name]}/health/ready", stack, f"gateway {name}")
    for index in (1, 2):
        worker = [sys.executable, "-m", "flask", "--app", "wsgi", "apg", "worker"]
        stack.start(f"worker-{index}", worker, env)
    return urls


# ---------------------------------------------------------------- webhook receiver


class Receiver:
    """A threaded HTTP server recording every POST: event id, type, signature verdict."""

    def __init__(self) -> None:
        self.secret = ""
        self.lock = threading.Lock()
        self.deliveries: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.record(body, self.headers.get("APG-Event-Id"), self.headers)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/apg/webhooks"

    def record(self, body: bytes, event_id: str | None, headers: Any) -> None:
        signature = headers.get("APG-Signature") or ""
        try:
            event = json.loads(body)
        except ValueError:
            event = {}
        with self.lock:
            self.deliveries.append(
                {
                    "event_id": event_id,
                    "type": event.get("type"),
                    "signed": verify_signature(body, signature, self.secret),
                    "body_id": event.get("id"),
                }
            )

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.deliveries)

    @contextmanager
    def running(self) -> Iterator[Receiver]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()


# ---------------------------------------------------------------- the merchant side


def api(api_key: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {api_key}"
    return session


def fire(urls: dict[str, str], api_key: str, count: int, run_id: str, threads: int) -> list[dict]:
    """`count` payments, alternately through A and B, `threads` at a time."""
    local = threading.local()

    def pay(index: int) -> dict[str, Any]:
        if not hasattr(local, "session"):
            local.session = api(api_key)
        instance = INSTANCES[index % 2]
        body = {
            "amount": 100,
            "currency": "KES",
            "phone_number": f"0713{index:06d}",  # one prompt per phone: no subscriber lock
            "reference": f"S-{index}",
            "description": "Scale out",
        }
        started = time.monotonic()
        answer, retries = post_with_retries(
            local.session, f"{urls[instance]}/api/v1/payments", body, f"{run_id}-{index}"
        )
        payment = answer.json()
        return {
            "instance": instance,
            "status_code": answer.status_code,
            "id": payment.get("id"),
            "error": None if answer.status_code == 201 else payment,
            "seconds": time.monotonic() - started,
            "retries": retries,
            "replayed": answer.headers.get("Idempotent-Replayed") == "true",
        }

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(pay, range(count)))


def post_with_retries(
    session: requests.Session, url: str, body: dict[str, Any], key: str, tries: int = 5
) -> tuple[requests.Response, list[str]]:
    """POST as a careful merchant does: a dropped connection (e.g. a kept-alive one the server
    closed as it was reused) or a 409 (the key still in flight) is retried with the SAME
    Idempotency-Key, which can never start a second payment. The answer and what was retried."""
    retries: list[str] = []
    for attempt in range(tries):
        try:
            answer = session.post(url, json=body, headers={"Idempotency-Key": key}, timeout=60)
        except requests.ConnectionError as exc:
            if attempt == tries - 1:
                raise
            retries.append("connection reset" if "reset" in str(exc).lower() else "no answer")
        else:
            if answer.status_code != 409 or attempt == tries - 1:
                return answer, retries
            retries.append("409 in flight")
        time.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")


def list_all(session: requests.Session, url: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a paginated list endpoint (newest first, starting_after)."""
    items: list[dict[str, Any]] = []
    while True:
        page = session.get(url, params={**params, "limit": 100}, timeout=30)
        page.raise_for_status()
        body = page.json()
        items += body["data"]
        if not body["has_more"]:
            return items
        params["starting_after"] = body["data"][-1]["id"]


def wait_until_settled(
    session: requests.Session,
    url: str,
    created: set[str],
    receiver: Receiver,
    stack: Stack,
    timeout: float,
) -> tuple[dict[str, str], float]:
    """Poll until every created payment is completed and every payment.completed event was
    received; the payments' statuses and the seconds it took (or the timeout's)."""
    started = time.monotonic()
    statuses: dict[str, str] = {}
    while time.monotonic() - started < timeout:
        stack.check_alive()
        payments = list_all(session, f"{url}/api/v1/payments")
        statuses = {p["id"]: p["status"] for p in payments if p["id"] in created}
        done = sum(1 for s in statuses.values() if s == "completed")
        received = {d["event_id"] for d in receiver.snapshot() if d["type"] == "payment.completed"}
        if done == len(created) and len(received) >= len(created):
            return statuses, time.monotonic() - started
        time.sleep(1)
    return statuses, time.monotonic() - started


def scrape(url: str, ops_token: str) -> dict[str, float]:
    """The instance's /metrics, summed by metric name and a few labels of interest."""
    text = requests.get(
        f"{url}/metrics", headers={"Authorization": f"Bearer {ops_token}"}, timeout=10
    ).text
    sums: Counter[str] = Counter()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "apg_http_requests_total":
                labels = sample.labels
                sums[f"http {labels['method']} {labels['endpoint']} {labels['status']}"] += (
                    sample.value
                )
            elif sample.name in (
                "apg_callbacks_total",
                "apg_operations_created_total",
                "apg_operation_outcomes_total",
                "apg_daraja_errors_total",
            ):
                detail = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                sums[f"{sample.name}{{{detail}}}"] += sample.value
            elif sample.name == "apg_daraja_request_duration_seconds_count":
                sums[f"daraja calls {sample.labels['path']}"] += sample.value
    return dict(sums)


# ---------------------------------------------------------------- the run


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)

    def say(self, line: str = "") -> None:
        self.lines.append(line)
        print(line, flush=True)

    def check(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append((name, ok, detail))
        self.say(f"  [{'PASS' if ok else 'FAIL'}] {name}: {detail}")

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(ok for _, ok, _ in self.checks)


def run(args: argparse.Namespace, stack: Stack, receiver: Receiver, report: Report) -> None:
    env = base_env(args, write_config(stack.logs, f"http://127.0.0.1:{free_port()}"))
    env["EMULATOR_URL"] = yaml.safe_load(Path(env["APG_CONFIG"]).read_text())["environments"][
        "emulator"
    ]
    flask("db", "upgrade", env=env, app="apg.dbapp")
    urls = start_everything(stack, args, env)
    run_id = f"scale-{int(time.time())}-{secrets.token_hex(3)}"
    tenant = json.loads(flask("apg", "create-tenant", "--name", f"Scale {run_id}", env=env))
    session = api(tenant["api_key"])
    endpoint = session.post(
        f"{urls['A']}/api/v1/webhook-endpoints",
        json={"url": receiver.url, "event_types": ["payment.completed"]},
        timeout=30,
    )
    endpoint.raise_for_status()
    receiver.secret = endpoint.json()["secret"]
    report.say(f"run {run_id}: tenant {tenant['tenant_id']}, endpoint {endpoint.json()['id']}")
    report.say(f"  emulator {urls['emulator']}  gateway A {urls['A']}  gateway B {urls['B']}")
    report.say(f"  each gateway: gunicorn, {args.workers} workers x 4 threads; 2 `apg worker`s")

    started = time.monotonic()
    fired = fire(urls, tenant["api_key"], args.payments, run_id, args.concurrency)
    burst_seconds = time.monotonic() - started
    created = {f["id"] for f in fired if f["status_code"] == 201}
    statuses, settle_seconds = wait_until_settled(
        session, urls["A"], created, receiver, stack, args.timeout
    )
    report.say(
        f"  burst: {args.payments} POSTs in {burst_seconds:.1f}s ({args.concurrency} at a time, "
        f"slowest {max(f['seconds'] for f in fired):.2f}s); all completed and delivered "
        f"{settle_seconds:.1f}s after it; then {args.grace:g}s more for late duplicates"
    )
    time.sleep(args.grace)  # a few more worker passes: a late duplicate would show up now
    summarize(args, stack, urls, env, session, fired, statuses, receiver, report)


def summarize(
    args: argparse.Namespace,
    stack: Stack,
    urls: dict[str, str],
    env: dict[str, str],
    session: requests.Session,
    fired: list[dict[str, Any]],
    statuses: dict[str, str],
    receiver: Receiver,
    report: Report,
) -> None:
    say, check = report.say, report.check
    by_instance = {name: [f for f in fired if f["instance"] == name] for name in INSTANCES}
    created = {
        name: [f["id"] for f in rows if f["status_code"] == 201]
        for name, rows in by_instance.items()
    }
    emulator_stats = requests.get(f"{urls['emulator']}/_emulator/stats", timeout=10).json()
    callbacks = requests.get(f"{urls['emulator']}/_emulator/callbacks", timeout=30).json()
    callback_targets = Counter(urlsplit(c["url"]).netloc for c in callbacks)
    callback_codes = Counter(c["status_code"] for c in callbacks)
    metrics = {name: scrape(urls[name], env["APG_OPS_TOKEN"]) for name in INSTANCES}
    events = list_all(session, f"{urls['B']}/api/v1/events", type="payment.completed")
    deliveries = receiver.snapshot()
    per_event = Counter(d["event_id"] for d in deliveries)
    ops = requests.get(
        f"{urls['A']}/ops/stats",
        headers={"Authorization": f"Bearer {env['APG_OPS_TOKEN']}"},
        timeout=10,
    ).json()

    say()
    say("per instance:")
    for name in INSTANCES:
        netloc = urlsplit(urls[name]).netloc
        completed = sum(1 for i in created[name] if statuses.get(i) == "completed")
        m = metrics[name]
        callbacks_seen = sum(v for k, v in m.items() if k.startswith("apg_callbacks_total"))
        say(
            f"  {name}: POSTed {len(by_instance[name])}, created {len(created[name])}, "
            f"completed {completed}; emulator callbacks sent here {callback_targets[netloc]}; "
            f"callbacks counted by its /metrics {callbacks_seen:g}"
        )
        served = {
            request: len(stack.pids_that_served(f"gateway-{name}", request))
            for request in ("POST /api/v1/payments", "POST /webhooks/daraja/")
        }
        say(f"     gunicorn worker processes that served: {served}")
    say(f"  emulator callback answers: {dict(sorted(callback_codes.items(), key=str))}")
    retried = [f for f in fired if f["retries"]]
    say(
        f"  POSTs retried with the same Idempotency-Key: {len(retried)} "
        f"({dict(Counter(r for f in retried for r in f['retries']))}); "
        f"answered as a replay: {sum(1 for f in fired if f['replayed'])}"
    )
    errors = [f["error"] for f in fired if f["status_code"] != 201]
    if errors:
        say(f"  refused POSTs (first 3 of {len(errors)}): {json.dumps(errors[:3])[:600]}")

    say()
    say("/metrics, both instances summed:")
    summed: Counter[str] = Counter()
    for m in metrics.values():
        summed.update(m)
    for key in sorted(summed):
        if "/health" not in key and "/metrics" not in key:
            split = " + ".join(f"{metrics[n].get(key, 0):g}" for n in INSTANCES)
            say(f"  {key} = {summed[key]:g}  (A + B: {split})")

    say()
    say(f"emulator /_emulator/stats: {json.dumps({k: v for k, v in emulator_stats.items() if v})}")
    say(f"/ops/stats webhook_deliveries (whole database): {json.dumps(ops['webhook_deliveries'])}")
    say()
    say("checks:")
    total_created = sum(len(ids) for ids in created.values())
    check(
        "payments created",
        total_created == args.payments,
        f"{total_created}/{args.payments} answered 201 (A {len(created['A'])}, "
        f"B {len(created['B'])})",
    )
    done = Counter(statuses.values())
    check(
        "payments completed",
        done.get("completed", 0) == args.payments,
        f"{done.get('completed', 0)}/{args.payments} completed; statuses {dict(done)}",
    )
    check(
        "each instance got its own callbacks",
        all(callback_targets[urlsplit(urls[n]).netloc] == len(created[n]) for n in INSTANCES),
        ", ".join(
            f"{n}: {callback_targets[urlsplit(urls[n]).netloc]} for {len(created[n])}"
            for n in INSTANCES
        ),
    )
    check("callbacks answered 200", set(callback_codes) == {200}, f"{dict(callback_codes)}")
    check(
        "one STK Push per payment",
        emulator_stats["stk_push_requests"] == args.payments,
        f"emulator stk_push_requests = {emulator_stats['stk_push_requests']}",
    )
    check(
        "one payment.completed event per payment",
        len(events) == args.payments,
        f"{len(events)} events from GET /api/v1/events?type=payment.completed",
    )
    event_ids = {e["id"] for e in events}
    received = set(per_event)
    check(
        "every event delivered",
        event_ids <= received,
        f"{len(event_ids & received)}/{len(event_ids)} events received "
        f"({len(deliveries)} POSTs in all)",
    )
    duplicates = {e: n for e, n in per_event.items() if n > 1}
    check(
        "no duplicate deliveries",
        not duplicates,
        f"{len(duplicates)} events delivered more than once"
        + (f": {dict(list(duplicates.items())[:5])}" if duplicates else ""),
    )
    strangers = received - event_ids
    check("no unknown deliveries", not strangers, f"{len(strangers)} not in /api/v1/events")
    bad = [d for d in deliveries if not d["signed"] or d["event_id"] != d["body_id"]]
    check(
        "signatures valid", not bad, f"{len(bad)} bad signatures or APG-Event-Id not the body's id"
    )
    check(
        "one OAuth token",
        emulator_stats["oauth_tokens_issued"] == 1,
        f"emulator oauth_tokens_issued = {emulator_stats['oauth_tokens_issued']} "
        "(the run's only consumer key, shared by every process through Redis)",
    )
    tokens = sorted(k.decode() for k in redis.Redis.from_url(args.redis_url).keys("apg:oauth:*"))
    check("the token lives in Redis", len(tokens) == 1, f"Redis keys apg:oauth:* = {tokens}")
    posts = summed.get("http POST /api/v1/payments 201", 0)
    check(
        "/metrics count every payment POST",
        posts == args.payments,
        f"apg_http_requests_total POST /api/v1/payments 201 = {posts:g}",
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="PostgreSQL; migrated, not emptied")
    parser.add_argument("--redis-url", required=True, help="an empty Redis database (flushed)")
    parser.add_argument("--payments", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16, help="POSTs in flight at once")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per instance")
    parser.add_argument("--timeout", type=float, default=180, help="seconds to wait for all")
    parser.add_argument("--grace", type=float, default=5, help="seconds to watch for late dupes")
    parser.add_argument("--output", type=Path, help="also write the report here")
    parser.add_argument("--keep-logs", action="store_true", help="keep the processes' logs")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    store = redis.Redis.from_url(args.redis_url)
    if store.dbsize():
        print(f"{args.redis_url} is not empty: pick an empty Redis database", file=sys.stderr)
        return 2
    report = Report()
    with ExitStack() as cleanup:
        logs = Path(tempfile.mkdtemp(prefix="apg-scale-out-"))
        stack = Stack(logs)
        cleanup.callback(lambda: _forget(logs, keep=args.keep_logs or not report.passed))
        cleanup.callback(store.flushdb)  # it was empty: everything in it is this run's
        cleanup.callback(stack.stop)
        receiver = cleanup.enter_context(Receiver().running())
        try:
            run(args, stack, receiver, report)
        except Exception as exc:  # shown in the report; the exit status says it failed
            report.check("run", False, f"{type(exc).__name__}: {exc}")
            for name, _ in stack.processes:
                report.say(f"--- {name} (last lines)\n{stack.tail(name)}")
        report.say()
        report.say("RESULT: " + ("PASS" if report.passed else "FAIL"))
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text("\n".join(report.lines) + "\n")
    return 0 if report.passed else 1


def _forget(logs: Path, keep: bool) -> None:
    if keep:
        print(f"process logs kept in {logs}", file=sys.stderr)
        return
    for path in logs.iterdir():
        path.unlink()
    logs.rmdir()


if __name__ == "__main__":
    sys.exit(main())
