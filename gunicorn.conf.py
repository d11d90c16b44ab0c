"""gunicorn settings, read by any `gunicorn wsgi:app` started here and by `make run`."""

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

# Prometheus multiprocess mode: every worker writes its metrics to files in this directory and
# /metrics on any worker reads them all. It must be set before anything imports
# prometheus_client (apg does, below). A fresh directory per master unless one is given.
_OWN_METRICS_DIR = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _OWN_METRICS_DIR:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="apg-prometheus-")

from apg.logs import ACCESS_LOG_FORMAT  # noqa: E402  (after the metrics directory is set)

# Defaults; the command line wins (`make run` and the systemd unit pass their own).
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))  # production: about 2 x CPU cores
# Threads, not a process, per waiting request: Daraja takes 0.3 to 3 s to answer, and a thread
# waiting on a socket costs a little memory and no CPU. 128 per worker holds 250 payment
# requests in flight with 2 workers (bench/RESULTS.md); the DB pool is shared by them, and no
# request holds a DB connection while Daraja answers.
worker_class = "gthread"
threads = int(os.environ.get("APG_THREADS", "128"))
# Longer than a Daraja call can take with its retries (read timeout 15 s, up to 3 tries), so a
# worker busy waiting on Daraja is never killed mid-payment; a stop waits for requests in hand.
timeout = 60
graceful_timeout = 30
keepalive = 5  # behind a load balancer, keep this above the balancer's idle timeout

# The app's log format (apg/logs.py), callback tokens masked, credentials never logged;
# APG_LOG_FORMAT=json makes the error and access lines JSON objects.
logger_class = "apg.logs.MaskingGunicornLogger"
accesslog = "-"  # stdout; the error log and the app's records go to stderr
access_log_format = ACCESS_LOG_FORMAT
# One control socket path per user: each new gunicorn (make run, tests) would take the last's.
control_socket_disable = True


def on_starting(server: Any) -> None:
    """A given directory may hold a previous run's files: its counters would be added in."""
    for stale in Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"):
        stale.unlink()


def child_exit(server: Any, worker: Any) -> None:
    """A dead worker's live gauges (breaker states) stop counting; its counters stay summed."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    if _OWN_METRICS_DIR:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
