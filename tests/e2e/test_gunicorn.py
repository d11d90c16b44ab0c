"""The gateway under gunicorn as in production: worker processes share one database, one OAuth
token and the callbacks, whichever worker a request lands on."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml
from flask import Flask

from apg.config import PROJECT_ROOT
from daraja_emulator import EmulatorServer
from tests.support.factories import EmulatorControl, Merchant, make_tenant
from tests.support.servers import closed_port_url, together

WORKERS, THREADS = 3, 2
PAYMENTS = 12
BOOT_SECONDS = 30
ACCESS_FORMAT = "%(p)s %(m)s %(U)s %(s)s"  # worker pid, method, path, status


@dataclass(frozen=True)
class Gunicorn:
    url: str
    access_log: Path  # one line per request: worker pid, method, path, status

    def workers_that_served(self, method: str, path_prefix: str) -> set[str]:
        lines = (line.split() for line in self.access_log.read_text().splitlines())
        return {pid for pid, m, path, _ in lines if m == method and path.startswith(path_prefix)}


@pytest.fixture
def gunicorn(
    app: Flask, database_url: str, emulator: EmulatorServer, tmp_path: Path
) -> Iterator[Gunicorn]:
    """`gunicorn wsgi:app` with the production config file, on the test database (migrated by
    `app`), the app's encryption key and the emulator as the `emulator` environment.

    Two additions to production's command line: an access log naming the worker that served
    each request, and at most THREADS connections per worker, so that a burst of requests
    spreads over every worker (a gthread worker would otherwise accept all of it)."""
    server = Gunicorn(closed_port_url(), tmp_path / "access.log")  # the port is free: bind it
    config = tmp_path / "apg.yaml"  # the environments' base URLs are YAML-only settings
    config.write_text(yaml.safe_dump({"environments": {"emulator": emulator.url}}))
    env = {
        **os.environ,
        "APG_CONFIG": str(config),
        "DATABASE_URL": database_url,
        "APG_ENCRYPTION_KEY": app.extensions["apg"].settings.security.encryption_key,
        "MPESA_CALLBACK_BASE_URL": server.url,
        "APG_LOG_LEVEL": "WARNING",
    }
    command = [
        *(sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"),
        *("--bind", server.url.removeprefix("http://"), "--workers", str(WORKERS)),
        *("--threads", str(THREADS), "--worker-connections", str(THREADS)),
        *("--access-logfile", str(server.access_log), "--access-logformat", ACCESS_FORMAT),
        "wsgi:app",
    ]
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        wait_until_ready(server.url, process, log)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def wait_until_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Every worker booted and /health answering; fails with gunicorn's log otherwise."""
    deadline = time.monotonic() + BOOT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited ({process.returncode}):\n{log.read_text()}")
        if log.read_text().count("Booting worker") >= WORKERS and answers(f"{url}/health"):
            return
        time.sleep(0.1)
    pytest.fail(f"gunicorn was not ready within {BOOT_SECONDS}s:\n{log.read_text()}")


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


def test_payments_through_gunicorn_workers_share_one_token_and_complete(
    app: Flask, gunicorn: Gunicorn, emulator_control: EmulatorControl
) -> None:
    """SQLite (WAL, 15 s busy timeout) and PostgreSQL. The emulator revokes a credential set's
    earlier tokens whenever it issues one, so workers minting their own would fail."""
    _, api_key = make_tenant(app, "Gunicorn Ltd")
    emulator_control.reset()

    def pay(index: int) -> requests.Response:
        merchant = Merchant(gunicorn.url, api_key)
        return merchant.create_payment(phone_number=f"07130000{index:02d}", reference=f"G-{index}")

    created = together(PAYMENTS, pay)
    assert [r.status_code for r in created] == [201] * PAYMENTS, [r.text for r in created]
    assert len(gunicorn.workers_that_served("POST", "/api/v1/payments")) > 1  # several processes
    assert emulator_control.stats()["oauth_tokens_issued"] == 1

    checkout_ids = [r.json()["checkout_request_id"] for r in created]
    settled = together(PAYMENTS, lambda i: emulator_control.settle(checkout_ids[i]))
    assert [s["status_code"] for s in settled] == [200] * PAYMENTS, settled
    assert {s["url"].split("/webhooks/")[0] for s in settled} == {gunicorn.url}
    assert len(gunicorn.workers_that_served("POST", "/webhooks/daraja/")) > 1

    merchant = Merchant(gunicorn.url, api_key)
    payments = [merchant.get_payment(r.json()["id"]).json() for r in created]
    assert [p["status"] for p in payments] == ["completed"] * PAYMENTS
    assert all(p["mpesa_receipt_number"] for p in payments)
