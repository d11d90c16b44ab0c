"""GET /metrics under gunicorn: prometheus-client's multiprocess mode (gunicorn.conf.py makes the
directory), so a scrape of any worker counts the requests every worker served."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from daraja_emulator import EmulatorServer
from tests.e2e.test_gunicorn import ACCESS_FORMAT, THREADS, Gunicorn, gunicorn_running
from tests.support.factories import EmulatorControl, Merchant, make_tenant
from tests.support.servers import closed_port_url, together

OPS_TOKEN = secrets.token_urlsafe(32)
REQUESTS = 8
BURSTS = 25


@pytest.fixture
def two_workers(
    app: Flask,
    database_url: str,
    emulator: EmulatorServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Gunicorn]:
    """Two workers, an ops token, and no PROMETHEUS_MULTIPROC_DIR: gunicorn.conf.py's own."""
    monkeypatch.setenv("APG_OPS_TOKEN", OPS_TOKEN)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    server = Gunicorn(closed_port_url(), tmp_path / "access.log")
    options = [
        *("--threads", str(THREADS), "--worker-connections", str(THREADS)),
        *("--access-logfile", str(server.access_log), "--access-logformat", ACCESS_FORMAT),
    ]
    with gunicorn_running(app, database_url, emulator, tmp_path, server.url, *options, workers=2):
        yield server


def requests_counted(text: str, endpoint: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "apg_http_requests_total" and sample.labels["endpoint"] == endpoint
    )


def test_metrics_from_any_worker_count_the_requests_of_every_worker(
    two_workers: Gunicorn,
) -> None:
    made = 0
    for _ in range(BURSTS):  # until both workers have served some (the kernel picks)
        made += burst(f"{two_workers.url}/health/ready")
        if len(two_workers.workers_that_served("GET", "/health/ready")) == 2:
            break
    assert len(two_workers.workers_that_served("GET", "/health/ready")) == 2

    assert requests.get(f"{two_workers.url}/metrics", timeout=10).status_code == 401
    auth = {"Authorization": f"Bearer {OPS_TOKEN}"}
    for _ in range(4):  # whichever worker answers the scrape, it sees them all
        scraped = requests.get(f"{two_workers.url}/metrics", headers=auth, timeout=10)
        assert scraped.status_code == 200
        assert requests_counted(scraped.text, "/health/ready") == made


def burst(url: str) -> int:
    """REQUESTS requests at once, each on its own kept-alive connection (a worker holds at
    most THREADS of them, which spreads a burst); how many were made."""
    sessions = [requests.Session() for _ in range(REQUESTS)]
    try:
        answered = together(REQUESTS, lambda i: sessions[i].get(url, timeout=30))
    finally:
        for session in sessions:
            session.close()
    assert [r.status_code for r in answered] == [200] * REQUESTS, [r.text for r in answered]
    return REQUESTS


def counted(text: str, name: str, **labels: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def test_metrics_show_the_payments_every_worker_made_and_completed(
    app: Flask, two_workers: Gunicorn, emulator_control: EmulatorControl
) -> None:
    _, api_key = make_tenant(app, "Metered Ltd")
    emulator_control.reset()
    payments = 6

    def pay(index: int) -> requests.Response:
        merchant = Merchant(two_workers.url, api_key)
        return merchant.create_payment(phone_number=f"07140000{index:02d}", reference=f"M-{index}")

    created = together(payments, pay)
    assert [r.status_code for r in created] == [201] * payments, [r.text for r in created]
    for response in created:  # each success's callback reaches one of the workers
        assert emulator_control.settle(response.json()["checkout_request_id"])["status_code"] == 200

    auth = {"Authorization": f"Bearer {OPS_TOKEN}"}
    scraped = requests.get(f"{two_workers.url}/metrics", headers=auth, timeout=10).text
    created_metric = "apg_operations_created_total"
    assert counted(scraped, created_metric, transaction_type="stk_push") == payments
    outcomes = "apg_operation_outcomes_total"
    assert counted(scraped, outcomes, event="payment.completed") == payments
    assert counted(scraped, "apg_callbacks_total", kind="stk", outcome="applied") == payments
