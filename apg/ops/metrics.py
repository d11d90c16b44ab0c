"""Prometheus metrics (`apg_…`) and their rendering for GET /metrics.

Under gunicorn, PROMETHEUS_MULTIPROC_DIR is set (gunicorn.conf.py) before anything imports
prometheus_client, so every worker writes its values to files there and a scrape of any worker
sums them all. Without it (tests, `flask run`) the process's default registry is used.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from flask import Flask, Response, g, request
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import event

from apg.ops.latency import DARAJA_CALLS

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

HTTP_REQUESTS = Counter(
    "apg_http_requests",
    "HTTP requests answered, by endpoint (URL rule), method and status.",
    ["endpoint", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "apg_http_request_duration_seconds",
    "Time to answer an HTTP request, by endpoint (URL rule) and method.",
    ["endpoint", "method"],
)
DARAJA_LATENCY = Histogram(
    "apg_daraja_request_duration_seconds",
    "Time of each HTTP call to Daraja, by API path (answered or not).",
    ["path"],
)
DARAJA_ERRORS = Counter(
    "apg_daraja_errors",
    "Daraja calls that failed in transport or answered 4xx/5xx, by API path and error.",
    ["path", "error"],
)
CALLBACKS = Counter(
    "apg_callbacks",
    "Inbound Daraja callbacks by kind and the outcome they were given.",
    ["kind", "outcome"],
)
OPERATIONS_CREATED = Counter(
    "apg_operations_created",
    "Operations recorded (payments, payouts, inquiries…), by transaction type.",
    ["transaction_type"],
)
OPERATION_OUTCOMES = Counter(
    "apg_operation_outcomes",
    "Outcomes announced to merchants, by event type (payment.completed, payout.failed…).",
    ["event"],
)
# Set at scrape time from the scraping worker's view: with Redis every worker's breakers share
# one state; without it, each worker has its own breakers and the last scraped one is shown.
BREAKER_STATE = Gauge(
    "apg_circuit_breaker_open",
    "Circuit breaker state per account and base URL: 0 closed, 0.5 half-open, 1 open.",
    ["breaker"],
    multiprocess_mode="livemostrecent",
)
BREAKER_VALUES = {"closed": 0.0, "half-open": 0.5, "open": 1.0}


def init_app(app: Flask) -> None:
    """Count and time every request the app answers, labelled by its URL rule; count each
    outcome an inbound callback is given."""
    _listen_for_callback_outcomes()
    _listen_for_operations()

    @app.before_request
    def start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def count_request(response: Response) -> Response:
        started = g.get("metrics_started")
        rule = request.url_rule.rule if request.url_rule else "unmatched"
        HTTP_REQUESTS.labels(rule, request.method, str(response.status_code)).inc()
        if started is not None:
            HTTP_LATENCY.labels(rule, request.method).observe(time.perf_counter() - started)
        return response


def observe_daraja_call(path: str, seconds: float, error: str | None) -> None:
    """One Daraja HTTP call: its latency (histogram and this worker's window) and any error."""
    DARAJA_LATENCY.labels(path).observe(seconds)
    # Daraja answered unless the call failed in transport or with a 5xx (a 4xx is its answer)
    answered = error is None or (error.startswith("http_") and not error.startswith("http_5"))
    DARAJA_CALLS.record(path, seconds, answered)
    if error is not None:
        DARAJA_ERRORS.labels(path, error).inc()


def _listen_for_callback_outcomes() -> None:
    """On the model, not in the route: outcomes are decided in the inbox, and again when a
    waiting callback is applied later."""
    from apg.webhooks.models import InboundCallback

    if not event.contains(InboundCallback.outcome, "set", _count_callback):
        event.listen(InboundCallback.outcome, "set", _count_callback)


def _count_callback(target: Any, value: str, old: Any, _initiator: Any) -> None:
    from apg.webhooks.models import CallbackOutcome

    if value != CallbackOutcome.RECEIVED and value != old:
        CALLBACKS.labels(target.kind, value).inc()


def _listen_for_operations() -> None:
    """Counted as their rows are flushed: an operation when it is recorded, an outcome when
    its merchant event is written (both in the transaction that makes them; one that then
    rolls back was counted all the same)."""
    from apg.payments.models import OutboxEvent, PaymentTransaction

    for model, count in ((PaymentTransaction, _count_operation), (OutboxEvent, _count_outcome)):
        if not event.contains(model, "after_insert", count):
            event.listen(model, "after_insert", count)


def _count_operation(_mapper: Any, _connection: Any, row: Any) -> None:
    OPERATIONS_CREATED.labels(row.transaction_type).inc()


def _count_outcome(_mapper: Any, _connection: Any, row: Any) -> None:
    OPERATION_OUTCOMES.labels(row.type).inc()


def set_breaker_states(states: Mapping[str, str]) -> None:
    for breaker, state in states.items():
        BREAKER_STATE.labels(breaker).set(BREAKER_VALUES.get(state, 1.0))


def outbox_backlog(count: int) -> GaugeMetricFamily:
    return GaugeMetricFamily(
        "apg_outbox_backlog", "Outbox events not yet delivered (counted at scrape time).", count
    )


def webhook_deliveries(by_status: Mapping[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "apg_webhook_deliveries",
        "Merchant webhook deliveries by status: pending, delivered, failed (at scrape time; the"
        " worker that delivers serves no /metrics).",
        labels=["status"],
    )
    for status in ("pending", "delivered", "failed"):
        family.add_metric([status], by_status.get(status, 0))
    return family


class _Fixed(Collector):
    def __init__(self, metrics: Iterable[Metric]) -> None:
        self._metrics = list(metrics)

    def collect(self) -> Iterator[Metric]:
        return iter(self._metrics)


class _Delegate(Collector):
    """The default registry's metrics, without registering it inside another registry."""

    def collect(self) -> Iterator[Metric]:
        return iter(REGISTRY.collect())


def render(scrape_time: Iterable[Metric] = ()) -> bytes:
    """Every worker's metrics (or this process's) and the scrape-time ones, in text format."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_Delegate())
    registry.register(_Fixed(scrape_time))
    return generate_latest(registry)
