"""The gateway under gunicorn as in production: worker processes share one database, one OAuth
token and the callbacks, whichever worker a request lands on; its log lines keep no credential."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
from tests.unit.test_logging_setup import LOG_LINE

WORKERS, THREADS = 3, 2
PAYMENTS = 12
BOOT_SECONDS = 30
ACCESS_FORMAT = "%(p)s %(m)s %(U)s %(s)s"  # worker pid, method, path, status


@dataclass(frozen=True)
class Gunicorn:
    url: str
    access_log: Path  # one line per request, after the log format's prefix: ACCESS_FORMAT

    def workers_that_served(self, method: str, path_prefix: str) -> set[str]:
        lines = (LOG_LINE.fullmatch(line) for line in self.access_log.read_text().splitlines())
        requests = (line["message"].split() for line in lines if line)
        return {pid for pid, m, path, _ in requests if m == method and path.startswith(path_prefix)}


@pytest.fixture
def gunicorn(
    app: Flask, database_url: str, emulator: EmulatorServer, tmp_path: Path
) -> Iterator[Gunicorn]:
    """`gunicorn wsgi:app` with the production config file (see `gunicorn_running`).

    Two additions to production's command line: an access log naming the worker that served
    each request, and at most THREADS connections per worker, so that a burst of requests
    spreads over every worker (a gthread worker would otherwise accept all of it)."""
    server = Gunicorn(closed_port_url(), tmp_path / "access.log")  # the port is free: bind it
    options = [
        *("--threads", str(THREADS), "--worker-connections", str(THREADS)),
        *("--access-logfile", str(server.access_log), "--access-logformat", ACCESS_FORMAT),
    ]
    with gunicorn_running(app, database_url, emulator, tmp_path, server.url, *options):
        yield server


@pytest.fixture
def logging_gunicorn(
    app: Flask, database_url: str, emulator: EmulatorServer, tmp_path: Path
) -> Iterator[tuple[str, Path]]:
    """One worker, logging as gunicorn.conf.py alone says, the app at INFO: its URL and the file
    holding all it printed (the app's records, gunicorn's error log and its access log)."""
    url = closed_port_url()
    with gunicorn_running(
        app, database_url, emulator, tmp_path, url, workers=1, log_level="INFO"
    ) as output:
        yield url, output


@contextmanager
def gunicorn_running(
    app: Flask,
    database_url: str,
    emulator: EmulatorServer,
    tmp_path: Path,
    url: str,
    *options: str,
    workers: int = WORKERS,
    log_level: str = "WARNING",
) -> Iterator[Path]:
    """`gunicorn --config gunicorn.conf.py --workers <workers> <options> wsgi:app` on url, on the
    test database (migrated by `app`), the app's encryption key and the emulator as the
    `emulator` environment. Yields the file its stdout and stderr go to; stops it on exit."""
    config = tmp_path / "apg.yaml"  # the environments' base URLs are YAML-only settings
    config.write_text(yaml.safe_dump({"environments": {"emulator": emulator.url}}))
    env = {
        **os.environ,
        "APG_CONFIG": str(config),
        "DATABASE_URL": database_url,
        "APG_ENCRYPTION_KEY": app.extensions["apg"].settings.security.encryption_key,
        "MPESA_CALLBACK_BASE_URL": url,
        "APG_LOG_LEVEL": log_level,
    }
    command = [
        *(sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"),
        *("--bind", url.removeprefix("http://"), "--workers", str(workers), *options),
        "wsgi:app",
    ]
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        wait_until_ready(url, process, log, workers)
        yield log
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def wait_until_ready(url: str, process: subprocess.Popen[bytes], log: Path, workers: int) -> None:
    """Every worker booted and /health answering; fails with gunicorn's log otherwise."""
    deadline = time.monotonic() + BOOT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited ({process.returncode}):\n{log.read_text()}")
        if log.read_text().count("Booting worker") >= workers and answers(f"{url}/health"):
            return
        time.sleep(0.1)
    pytest.fail(f"gunicorn was not ready within {BOOT_SECONDS}s:\n{log.read_text()}")


def lines_once_logged(log: Path, text: str) -> list[str]:
    """The log's lines once `text` is in it: gunicorn logs a request after answering it."""
    deadline = time.monotonic() + 10
    while text not in (logged := log.read_text()):
        assert time.monotonic() < deadline, f"{text!r} was never logged:\n{logged}"
        time.sleep(0.05)
    return logged.splitlines()


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


def test_gunicorn_logs_one_format_with_request_ids_and_no_api_key_or_callback_token(
    app: Flask, logging_gunicorn: tuple[str, Path], emulator_control: EmulatorControl
) -> None:
    """The log format, the access log and its format come from gunicorn.conf.py alone."""
    url, output = logging_gunicorn
    _, api_key = make_tenant(app, "Logged Ltd")
    emulator_control.reset()
    created = Merchant(url, api_key).create_payment(phone_number="0713000099", reference="L-1")
    assert created.status_code == 201, created.text
    settled = emulator_control.settle(created.json()["checkout_request_id"])
    assert settled["status_code"] == 200, settled
    token = settled["url"].split("/webhooks/daraja/")[1].split("/")[0]
    refused = requests.get(f"{url}/api/v1/payments", auth=(api_key, ""), timeout=10)  # curl -u
    assert refused.json()["error"]["code"] == "basic_auth_not_supported"

    request_id = refused.headers["X-Request-ID"]
    lines = lines_once_logged(output, f"req={request_id}")
    assert not [line for line in lines if api_key in line or token in line]
    records = [LOG_LINE.fullmatch(line) for line in lines]
    assert all(records), lines  # every line, whoever wrote it, in the one format
    names = {record["name"] for record in records if record}
    assert {"gunicorn.error", "gunicorn.access", "apg.processors.mpesa.client"} <= names, lines
    access = {  # by request id
        record["message"].rsplit(" req=", 1)[1]: record["message"]
        for record in records
        if record and record["name"] == "gunicorn.access"
    }
    assert access[created.headers["X-Request-ID"]].startswith(
        '127.0.0.1 "POST /api/v1/payments HTTP/1.1" 201 '
    )
    assert access[request_id].startswith('127.0.0.1 "GET /api/v1/payments HTTP/1.1" 401 ')
    callback = f'127.0.0.1 "POST /webhooks/daraja/{token[:4]}…/stk HTTP/1.1" 200 '
    assert [line for line in access.values() if line.startswith(callback)], access
