"""`make run`: the embedded default — Daraja emulator, demo tenant, gateway under gunicorn and
the reconciliation worker.

Started by the Makefile after `flask db upgrade`. Ctrl-C stops everything it started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from urllib.parse import urlsplit

import requests
from flask import Flask

from apg import create_app
from apg.config import DEFAULT_CONFIG_PATH, PROJECT_ROOT, exit_on_config_error
from apg.errors import APGError
from apg.onboarding import ensure_default_merchant
from apg.processors.mpesa.c2b_service import C2BCommands

SCENARIOS = [
    ("0708374149", "completed (ResultCode 0)"),
    ("0708374150", "failed: insufficient funds (1)"),
    ("0708374151", "cancelled by the customer (1032)"),
    ("0708374152", "timeout: no answer, after 60 s (1037)"),
    ("0708374153", "failed: wrong PIN (2001)"),
]


def main() -> int:
    with exit_on_config_error():
        app = create_app()
    settings = app.extensions["apg"].settings
    bind = os.environ.get("APG_BIND", "127.0.0.1:5000")
    children: list[subprocess.Popen[bytes]] = []
    # Stop on Ctrl-C or SIGTERM even if started with SIGINT ignored (e.g. as a background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        if (
            settings.default_tenant.environment == "emulator"
            and not settings.default_tenant.base_url
        ):
            children.append(start_emulator(settings.environments.emulator))
        with app.app_context():
            tenant, api_key = ensure_default_merchant(app.extensions["apg"])
            if settings.default_tenant.environment == "emulator":
                register_demo_paybill(app, tenant.id)
        print_banner(bind, tenant.id, api_key)
        children.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--config",  # wherever we are started from
                    str(PROJECT_ROOT / "gunicorn.conf.py"),
                    "--bind",
                    bind,
                    "--workers",
                    "2",
                    "--threads",
                    "4",
                    "wsgi:app",  # the access log and its format come from gunicorn.conf.py
                ]
            )
        )
        gateway = children[-1]
        # The reconciliation worker: what production runs beside gunicorn (README: Failure modes).
        children.append(
            subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "wsgi", "apg", "worker"],
                cwd=PROJECT_ROOT,
            )
        )
        return gateway.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        for child in reversed(children):
            child.terminate()
            child.wait(timeout=10)


def start_emulator(base_url: str) -> subprocess.Popen[bytes]:
    url = urlsplit(base_url)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daraja_emulator",
            "--host",
            url.hostname or "127.0.0.1",
            "--port",
            str(url.port or 80),
            "--config",
            str(DEFAULT_CONFIG_PATH),
        ]
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(
                f"the Daraja emulator exited ({process.returncode}); is {url.netloc} busy?"
            )
        try:
            requests.get(f"{base_url}/_emulator/health", timeout=1).raise_for_status()
            return process
        except requests.RequestException:
            time.sleep(0.1)
    process.terminate()
    raise SystemExit(f"the Daraja emulator did not answer on {base_url}")


def register_demo_paybill(app: Flask, tenant_id: str) -> None:
    """The demo paybill's C2B URLs, so a checkout page offers Paybill and QR payments too
    (in production a merchant registers once, by the API: POST /api/v1/c2b/register-urls)."""
    found = app.extensions["apg"]
    processor = found.processors.get("mpesa")
    try:
        C2BCommands(processor, found.clock).register_urls(tenant_id, None, "Completed", "v2")
    except APGError as exc:
        print(f"  (the demo paybill's C2B URLs were not registered: {exc.message})", flush=True)


def print_banner(bind: str, tenant_id: str, api_key: str) -> None:
    base = f"http://{bind}"
    lines = [
        "",
        "APG is starting on the embedded default (SQLite + Daraja emulator).",
        f"  tenant:  {tenant_id}",
        f"  API key: {api_key}   (shown once; `make run` issues a new one each time)",
        f"  docs:    {base}/api/docs   health: {base}/health",
        "",
        f"  export KEY={api_key}",
        f'  curl -s -X POST {base}/api/v1/payments -H "Authorization: Bearer $KEY" \\',
        '    -H "Idempotency-Key: order-42" -H "Content-Type: application/json" \\',
        '    -d \'{"amount": 10000, "currency": "KES", "phone_number": "0708374149", '
        '"reference": "INV-2024-001", "description": "Order 42"}\'',
        f'  curl -s {base}/api/v1/payments/<id> -H "Authorization: Bearer $KEY"',
        "",
        "  A hosted checkout page: open the `url` it answers with in a browser, and pay there.",
        f'  curl -s -X POST {base}/api/v1/checkout-sessions -H "Authorization: Bearer $KEY" \\',
        '    -H "Content-Type: application/json" -d \'{"amount": 150000, "reference": "ORDER-42",'
        ' "success_url": "https://example.com/paid", "cancel_url": "https://example.com/cart"}\'',
        f"  ops console: {base}/ops/   (open in development; APG_OPS_TOKEN signs in elsewhere)",
        "",
        "  Emulator scenarios by phone_number (any other number succeeds):",
        *[f"    {phone}  {outcome}" for phone, outcome in SCENARIOS],
        "",
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
