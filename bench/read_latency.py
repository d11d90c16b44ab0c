"""The read endpoints through the real HTTP path (gunicorn), with wrk, on a seeded database.

    .venv/bin/python bench/read_latency.py \
        --db 1k=postgresql://postgres@127.0.0.1/apg_seed1k,/tmp/apg_seed1k.json \
        --db 1M=postgresql://postgres@127.0.0.1/apg_seed1m,/tmp/apg_seed1m.json \
        --output bench/results/read_latency.txt

For each database, starts `gunicorn --config gunicorn.conf.py wsgi:app` on a free loopback
port (the seed's Fernet key, an ops token, an API rate limit wrk never reaches), waits for
/health/ready, then, for the busiest tenant of each seed (its API key from bench/seed.py
--output), runs `wrk --latency` against: the status GET, the payments list with each filter, a
deep cursor, payouts with a status, events, and /ops/stats. The runs alternate between the
databases (a load that changes meanwhile weighs on both alike). Prints requests/s and latency
percentiles per endpoint and database, and the ratio of the p50s. `--paired N` then sends N
single requests per endpoint and database, alternating request by request, and shows how
many rows each list answered (a page of 20 costs more to serialize than one of 0). Every
request goes to 127.0.0.1 only; each wrk run is bounded by --duration.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.seed import conninfo_of  # noqa: E402

OPS_TOKEN = "bench-ops-token-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def targets(conninfo: str, tenant_id: str) -> dict[str, str]:
    """Paths for the tenant: a payment from the middle of its history, its reference, its day."""
    with psycopg.connect(conninfo) as conn:
        total = conn.execute(
            "SELECT count(*) FROM payment_transactions WHERE tenant_id = %s", [tenant_id]
        ).fetchone()[0]  # type: ignore[index]
        payment_id, reference, created = conn.execute(
            "SELECT id, reference, created_at FROM payment_transactions"
            " WHERE tenant_id = %s AND transaction_type = 'stk_push'"
            " ORDER BY created_at OFFSET %s LIMIT 1",
            [tenant_id, total // 2],
        ).fetchone()  # type: ignore[misc]
    day = created.strftime("%Y-%m-%d")
    window = f"created_gte={day}T00:00:00Z&created_lt={day}T23:59:59Z"
    return {
        "GET /payments/<id>": f"/api/v1/payments/{payment_id}",
        "GET /payments": "/api/v1/payments",
        "GET /payments?status=completed": "/api/v1/payments?status=completed",
        "GET /payments?status=failed": "/api/v1/payments?status=failed",
        "GET /payments?status=review": "/api/v1/payments?status=review",
        "GET /payments?reference=": f"/api/v1/payments?reference={reference}",
        "GET /payments?created_gte&created_lt": f"/api/v1/payments?{window}",
        "GET /payments?status=failed&created range": f"/api/v1/payments?status=failed&{window}",
        "GET /payments?starting_after=<mid-history>": (
            f"/api/v1/payments?starting_after={payment_id}"
        ),
        "GET /payouts?status=failed": "/api/v1/payouts?status=failed",
        "GET /payouts?status=failed&limit=1": "/api/v1/payouts?status=failed&limit=1",
        "GET /payments?status=failed&limit=1": "/api/v1/payments?status=failed&limit=1",
        "GET /events": "/api/v1/events",
        "GET /ops/stats": "/ops/stats",
    }


def wrk(url: str, token: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--latency",
        "-H",
        f"Authorization: Bearer {token}",
        url,
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120).stdout
    found: dict[str, Any] = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])}  # type: ignore[index]
    for pct in ("50", "90", "99"):
        match = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)\b", out)
        value, unit = float(match[1]), match[2]  # type: ignore[index]
        found[f"p{pct}"] = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    found["non_2xx"] = int(errors[1]) if errors else 0
    return found


class Gateway:
    """gunicorn wsgi:app on a free loopback port for one seeded database."""

    def __init__(self, label: str, database_url: str, seed_output: Path, workers: int) -> None:
        self.label = label
        self.seeded = json.loads(seed_output.read_text())
        self.tenant = self.seeded["tenants"][0]  # weight 1: the busiest
        self.conninfo = conninfo_of(database_url)
        self.base = f"http://127.0.0.1:{free_port()}"
        env = {
            **os.environ,
            "DATABASE_URL": self.conninfo.replace("postgresql://", "postgresql+psycopg://", 1),
            "APG_ENCRYPTION_KEY": self.seeded["encryption_key"],
            "APG_SECRET_KEY": "bench-read-latency",
            "APG_OPS_TOKEN": OPS_TOKEN,
            "APG_API_RATE_LIMIT": "100000000/minute",  # never reached: not what is measured
            "APG_DEFAULT_TENANT_ENABLED": "false",
            "APG_LOG_LEVEL": "WARNING",
            "WEB_CONCURRENCY": str(workers),
        }
        command = [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"]
        command += ["--bind", self.base.removeprefix("http://"), "wsgi:app"]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.paths = targets(self.conninfo, self.tenant["id"])

    def wait_ready(self) -> None:
        for _ in range(120):
            try:
                if requests.get(f"{self.base}/health/ready", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise SystemExit(f"gunicorn for {self.label} did not become ready")

    def token(self, path: str) -> str:
        return OPS_TOKEN if path.startswith("/ops/") else str(self.tenant["api_key"])

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--db",
        action="append",
        required=True,
        metavar="LABEL=DATABASE_URL,SEED_JSON",
        help="a seeded database and its bench/seed.py --output; repeat to compare (1k=…,…)",
    )
    parser.add_argument("--rounds", type=int, default=2, help="wrk runs per endpoint and db (2)")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run (5)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (8)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument(
        "--paired",
        type=int,
        default=0,
        help="then N single requests per endpoint and db, alternating one by one (0: none)",
    )
    parser.add_argument("--output", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    gateways = []
    try:
        for spec in args.db:
            label, _, rest = spec.partition("=")
            url, _, seed_json = rest.partition(",")
            gateways.append(Gateway(label, url, Path(seed_json), args.workers))
        for gateway in gateways:
            gateway.wait_ready()
        report = measure(gateways, args) if args.rounds else ""
        if args.paired:
            report += ("\n" if report else "") + paired(gateways, args.paired)
    finally:
        for gateway in gateways:
            gateway.stop()
    print(report)
    if args.output:
        args.output.write_text(report)
    return 0


def paired(gateways: list[Gateway], count: int) -> str:
    """One request at a time, to each database in turn: the fairest comparison on a machine
    whose load changes from second to second (both see the same moments)."""
    sessions = [requests.Session() for _ in gateways]
    lines = [
        f"{count} single requests per endpoint and database, one at a time, alternating"
        " between the databases request by request (keep-alive; latency as the client sees it)",
        "",
        "(rows: the items a list answered; a page of 20 costs more to serialize than one of 2)",
        "",
        f"{'endpoint':<44}"
        + "".join(
            f" {g.label + ' rows':>8} {g.label + ' p50':>9} {g.label + ' p90':>9}" for g in gateways
        )
        + ("  p50 ratio" if len(gateways) == 2 else ""),
    ]
    for label in gateways[0].paths:
        times: list[list[float]] = [[] for _ in gateways]
        rows: list[str] = ["" for _ in gateways]
        for _ in range(count):
            for g, session, found in zip(gateways, sessions, times, strict=True):
                path = g.paths[label]
                headers = {"Authorization": f"Bearer {g.token(path)}"}
                started = time.perf_counter()
                response = session.get(f"{g.base}{path}", headers=headers, timeout=30)
                found.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (g.label, label, response.status_code)
        for i, (g, session) in enumerate(zip(gateways, sessions, strict=True)):
            path = g.paths[label]
            body = session.get(
                f"{g.base}{path}", headers={"Authorization": f"Bearer {g.token(path)}"}, timeout=30
            ).json()
            rows[i] = str(len(body["data"])) if isinstance(body.get("data"), list) else "-"
        line = f"{label:<44}"
        medians = []
        for found, answered in zip(times, rows, strict=True):
            found.sort()
            medians.append(statistics.median(found))
            line += f" {answered:>8} {medians[-1]:>9.2f} {found[int(len(found) * 0.9)]:>9.2f}"
        if len(gateways) == 2:
            line += f"  {medians[1] / medians[0]:>9.2f}"
        lines.append(line)
        print(line, flush=True)
    for session in sessions:
        session.close()
    return "\n".join(lines) + "\n"


def measure(gateways: list[Gateway], args: argparse.Namespace) -> str:
    """Each endpoint on each database in turn, `rounds` times (ABAB: a load that changes
    meanwhile weighs on both alike); the median of the rounds."""
    lines = [
        f"wrk {args.threads} threads, {args.connections} connections, {args.rounds} x"
        f" {args.duration} s per endpoint and database, alternating; gunicorn --config"
        f" gunicorn.conf.py, {args.workers} workers; the busiest tenant's test key",
        *(
            f"  {g.label}: {g.seeded['rows']['payment_transactions']:,} transactions,"
            f" tenant {g.tenant['id']}"
            for g in gateways
        ),
        "",
        f"{'endpoint':<44}"
        + "".join(
            f" {g.label + ' req/s':>11} {g.label + ' p50':>9} {g.label + ' p99':>9}"
            for g in gateways
        )
        + ("  p50 ratio" if len(gateways) == 2 else ""),
    ]
    for label in gateways[0].paths:
        runs: dict[str, list[dict[str, Any]]] = {g.label: [] for g in gateways}
        for _ in range(args.rounds):
            for g in gateways:
                path = g.paths[label]
                status = requests.get(
                    f"{g.base}{path}",
                    headers={"Authorization": f"Bearer {g.token(path)}"},
                    timeout=30,
                ).status_code
                assert status == 200, (g.label, label, status)
                found = wrk(f"{g.base}{path}", g.token(path), args)
                assert found["non_2xx"] == 0, (g.label, label, found)
                runs[g.label].append(found)
        line = f"{label:<44}"
        medians = []
        for g in gateways:
            rps = statistics.median(r["rps"] for r in runs[g.label])
            p50 = statistics.median(r["p50"] for r in runs[g.label])
            p99 = statistics.median(r["p99"] for r in runs[g.label])
            medians.append(p50)
            line += f" {rps:>11.1f} {p50:>9.2f} {p99:>9.2f}"
        if len(gateways) == 2:
            line += f"  {medians[1] / medians[0]:>9.2f}"
        lines.append(line)
        print(line, flush=True)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
