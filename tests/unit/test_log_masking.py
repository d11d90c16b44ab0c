"""Tenants' callback tokens never reach werkzeug's or gunicorn's access logs."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from flask import Flask
from gunicorn.config import Config

from apg.logs import (
    CallbackTokenFilter,
    MaskingGunicornLogger,
    install_token_filter,
    mask_callback_tokens,
)
from tests.support.servers import LiveServer

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TOKEN = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b"
MASKED = "9f86…"
HELLO_APP = """
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""

PATH, MASKED_PATH = f"/webhooks/daraja/{TOKEN}/stk", f"/webhooks/daraja/{MASKED}/stk"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (f"POST {PATH} HTTP/1.1", f"POST {MASKED_PATH} HTTP/1.1"),
        (f"https://pay.example.com{PATH}?a=1", f"https://pay.example.com{MASKED_PATH}?a=1"),
        (f"/webhooks/daraja/{TOKEN}", f"/webhooks/daraja/{MASKED}"),
        (f"{PATH} and {PATH}", f"{MASKED_PATH} and {MASKED_PATH}"),
        ("/api/v1/payments/pay_0123456789abcdef01234567", None),
        ("/webhooks/daraja/", None),
    ],
)
def test_mask_callback_tokens_keeps_four_characters(text: str, masked: str | None) -> None:
    assert mask_callback_tokens(text) == (masked or text)


def test_filter_masks_a_werkzeug_request_line() -> None:
    args = (f"POST {PATH} HTTP/1.1", "200", "-")
    record = logging.LogRecord(
        "werkzeug", logging.INFO, __file__, 1, '1.2.3.4 "%s" %s %s', args, None
    )
    assert CallbackTokenFilter().filter(record)
    assert record.getMessage() == f'1.2.3.4 "POST {MASKED_PATH} HTTP/1.1" 200 -'


def test_install_token_filter_adds_one_filter_however_often_called() -> None:
    logger = logging.getLogger("apg.tests.log_masking")
    install_token_filter(logger)
    install_token_filter(logger)
    assert [type(f) for f in logger.filters] == [CallbackTokenFilter]
    logger.filters.clear()


@pytest.fixture
def gunicorn_logger(tmp_path: Path) -> Iterator[MaskingGunicornLogger]:
    cfg = Config()
    cfg.set("accesslog", str(tmp_path / "access.log"))
    cfg.set("errorlog", str(tmp_path / "error.log"))
    logger = MaskingGunicornLogger(cfg)
    yield logger
    for log in (logger.error_log, logger.access_log):  # gunicorn's loggers are process-global
        for handler in list(log.handlers):
            log.removeHandler(handler)
            handler.close()
        log.filters.clear()


def test_gunicorn_atoms_carry_no_token(gunicorn_logger: MaskingGunicornLogger) -> None:
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": f"{PATH}?q=1",
        "PATH_INFO": PATH,
        "QUERY_STRING": "q=1",
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    response = SimpleNamespace(status="200 OK", sent=2, headers=[])
    atoms = gunicorn_logger.atoms(response, [("X-Original-URI", PATH)], environ, timedelta(0))
    assert (atoms["r"], atoms["U"], atoms["{raw_uri}e"], atoms["{x-original-uri}i"]) == (
        f"POST {MASKED_PATH}?q=1 HTTP/1.1",
        MASKED_PATH,
        f"{MASKED_PATH}?q=1",
        MASKED_PATH,
    )
    assert not [key for key, value in atoms.items() if TOKEN in str(value)]


def test_gunicorn_error_lines_carry_no_token(
    gunicorn_logger: MaskingGunicornLogger, tmp_path: Path
) -> None:
    gunicorn_logger.error("Error handling request %s", PATH)
    assert f"Error handling request {MASKED_PATH}" in (tmp_path / "error.log").read_text()


def test_werkzeug_request_lines_mask_the_token(
    app: Flask, gateway_server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="werkzeug")
    requests.post(f"{gateway_server.url}/webhooks/daraja/{TOKEN}/stk", json={}, timeout=5)
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert not [line for line in lines if TOKEN in line]
    assert [line for line in lines if MASKED_PATH in line]


def test_gunicorn_started_in_the_project_masks_its_access_log(tmp_path: Path) -> None:
    """No --config: gunicorn finds ./gunicorn.conf.py, as `gunicorn wsgi:app` would."""
    (tmp_path / "hello.py").write_text(HELLO_APP)
    sock, access_log = tmp_path / "gunicorn.sock", tmp_path / "access.log"
    command = [
        *(sys.executable, "-m", "gunicorn", "--bind", f"unix:{sock}", "--workers", "1"),
        *("--pythonpath", str(tmp_path), "--access-logfile", str(access_log)),
        *("--access-logformat", "%(r)s|%(U)s|%({raw_uri}e)s|%({path_info}e)s", "hello:app"),
    ]
    with (tmp_path / "stderr.log").open("wb") as stderr:
        server = subprocess.Popen(command, cwd=PROJECT_ROOT, stderr=stderr)
        try:
            reply = http_get_over_unix_socket(sock, f"/webhooks/daraja/{TOKEN}/stk?q=1", server)
        finally:
            server.terminate()
            server.wait(timeout=10)
    assert b" 200 " in reply.split(b"\r\n", 1)[0]
    logged = access_log.read_text()
    assert TOKEN not in logged
    masked = MASKED_PATH
    assert logged.strip() == f"GET {masked}?q=1 HTTP/1.0|{masked}|{masked}?q=1|{masked}"


def http_get_over_unix_socket(path: Path, target: str, server: subprocess.Popen[bytes]) -> bytes:
    """One HTTP/1.0 GET once the server listens (it closes the connection after answering)."""
    deadline = time.monotonic() + 30
    while True:
        assert server.poll() is None, "gunicorn exited; see stderr.log in tmp_path"
        try:
            with socket.socket(socket.AF_UNIX) as client:
                client.settimeout(10)
                client.connect(str(path))
                client.sendall(f"GET {target} HTTP/1.0\r\nHost: apg\r\n\r\n".encode())
                return b"".join(iter(lambda: client.recv(4096), b""))
        except (FileNotFoundError, ConnectionRefusedError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)  # not yet listening
