"""Credentials never reach werkzeug's or gunicorn's logs: tenants' callback tokens are masked,
API keys sent as basic auth are refused and logged nowhere, Authorization headers never."""

from __future__ import annotations

import base64
import json
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
from flask.testing import FlaskClient
from gunicorn.config import Config

from apg.logs import (
    ACCESS_LOG_FORMAT,
    CallbackTokenFilter,
    MaskingGunicornLogger,
    install_token_filter,
    mask_callback_tokens,
)
from tests.support.servers import LiveServer
from tests.unit.test_logging_setup import LOG_LINE

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TOKEN = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b"
MASKED = "9f86…"
HELLO_APP = """
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""

PATH, MASKED_PATH = f"/webhooks/daraja/{TOKEN}/stk", f"/webhooks/daraja/{MASKED}/stk"
KEY = "apg_test_3b5d0c8e9f2a41d7b6c0e1f2"
CREDENTIALS = base64.b64encode(f"{KEY}:".encode()).decode()  # what `curl -u KEY:` sends
BASIC_AUTH = f"Basic {CREDENTIALS}"


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
    line = LOG_LINE.fullmatch((tmp_path / "error.log").read_text().strip())
    assert line is not None
    assert (line["name"], line["message"]) == (
        "gunicorn.error",
        f"Error handling request {MASKED_PATH}",
    )


def log_a_basic_auth_request(logger: MaskingGunicornLogger, access_log_format: str) -> str:
    """Log `curl -u KEY: -A curl/8.5.0 /api/v1/payments` (answered 401) with the given format;
    returns the access log's line."""
    logger.cfg.set("access_log_format", access_log_format)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/api/v1/payments",
        "PATH_INFO": "/api/v1/payments",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.7",
        "HTTP_USER_AGENT": "curl/8.5.0",
        "HTTP_AUTHORIZATION": BASIC_AUTH,
    }
    headers = [("Authorization", BASIC_AUTH), ("User-Agent", "curl/8.5.0")]
    response = SimpleNamespace(
        status="401 UNAUTHORIZED", sent=230, headers=[("X-Request-ID", "req_0123456789abcdef")]
    )
    logger.access(response, headers, environ, timedelta(microseconds=1500))
    return Path(logger.cfg.accesslog).read_text().strip()


def test_gunicorn_access_line_is_the_log_format_with_the_request_id_and_no_user(
    gunicorn_logger: MaskingGunicornLogger,
) -> None:
    line = LOG_LINE.fullmatch(log_a_basic_auth_request(gunicorn_logger, ACCESS_LOG_FORMAT))
    assert line is not None
    assert (line["level"], line["name"], line["message"]) == (
        "INFO",
        "gunicorn.access",
        '10.0.0.7 "GET /api/v1/payments HTTP/1.1" 401 230 0.001500s "curl/8.5.0"'
        " req=req_0123456789abcdef",
    )


def test_gunicorns_default_access_format_logs_no_basic_auth_user(
    gunicorn_logger: MaskingGunicornLogger,
) -> None:
    line = log_a_basic_auth_request(gunicorn_logger, Config().access_log_format)  # has %(u)s
    assert KEY not in line and CREDENTIALS not in line
    assert ": 10.0.0.7 - - [" in line


@pytest.mark.parametrize(
    "access_log_format",
    [
        "%(u)s",
        "%({authorization}i)s",
        "%({Authorization}i)s",
        "%({http_authorization}e)s",
        "%({HTTP_AUTHORIZATION}e)s",
    ],
)
def test_an_access_format_asking_for_credentials_logs_a_dash(
    gunicorn_logger: MaskingGunicornLogger, access_log_format: str
) -> None:
    line = LOG_LINE.fullmatch(log_a_basic_auth_request(gunicorn_logger, access_log_format))
    assert line is not None and line["message"] == "-"


def test_werkzeug_request_lines_mask_the_token(
    app: Flask, gateway_server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="werkzeug")
    requests.post(f"{gateway_server.url}/webhooks/daraja/{TOKEN}/stk", json={}, timeout=5)
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert not [line for line in lines if TOKEN in line]
    assert [line for line in lines if MASKED_PATH in line]


def test_werkzeug_request_lines_carry_no_basic_auth_user(
    app: Flask, gateway_server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="werkzeug")
    requests.get(f"{gateway_server.url}/api/v1/payments", auth=(KEY, ""), timeout=5)
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert [line for line in lines if "GET /api/v1/payments HTTP/1.1" in line]  # maybe coloured
    assert not [line for line in lines if KEY in line or CREDENTIALS in line]


@pytest.mark.parametrize(
    ("scheme", "code"),
    [
        ("Basic", "basic_auth_not_supported"),
        ("basic", "basic_auth_not_supported"),
        ("Token", "invalid_api_key"),  # any other scheme: the usual 401
    ],
)
def test_a_valid_key_sent_as_basic_auth_gets_a_401_saying_to_use_bearer(
    client: FlaskClient, tenant: tuple[str, str], scheme: str, code: str
) -> None:
    credentials = base64.b64encode(f"{tenant[1]}:".encode()).decode()
    response = client.get("/api/v1/payments", headers={"Authorization": f"{scheme} {credentials}"})
    error = response.json["error"]
    assert (response.status_code, error["type"], error["code"]) == (
        401,
        "authentication_error",
        code,
    )
    assert "Authorization: Bearer <key>" in error["message"]
    assert tenant[1] not in response.text and credentials not in response.text


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
    line = LOG_LINE.fullmatch(logged.strip())
    assert line is not None
    assert line["message"] == f"GET {masked}?q=1 HTTP/1.0|{masked}|{masked}?q=1|{masked}"


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


def test_gunicorn_in_json_mode_writes_each_access_as_a_masked_json_object(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """APG_LOG_FORMAT=json: gunicorn's access lines are JSON objects too, named fields, the
    callback token masked."""
    monkeypatch.setenv("APG_LOG_FORMAT", "json")
    (tmp_path / "hello.py").write_text(HELLO_APP)
    sock, access_log = tmp_path / "gunicorn.sock", tmp_path / "access.log"
    command = [
        *(sys.executable, "-m", "gunicorn", "--bind", f"unix:{sock}", "--workers", "1"),
        *("--pythonpath", str(tmp_path), "--access-logfile", str(access_log), "hello:app"),
    ]
    with (tmp_path / "stderr.log").open("wb") as stderr:
        server = subprocess.Popen(command, cwd=PROJECT_ROOT, stderr=stderr)
        try:
            http_get_over_unix_socket(sock, f"/webhooks/daraja/{TOKEN}/stk?q=1", server)
        finally:
            server.terminate()
            server.wait(timeout=10)
    [line] = access_log.read_text().splitlines()
    entry = json.loads(line)
    assert (entry["method"], entry["path"], entry["query"], entry["status"]) == (
        "GET",
        MASKED_PATH,
        "q=1",
        "200",
    )
    assert TOKEN not in line and {"time", "duration_ms", "pid", "remote"} <= set(entry)
    errors = [json.loads(text) for text in (tmp_path / "stderr.log").read_text().splitlines()]
    assert errors and all({"time", "level", "message"} <= set(error) for error in errors)
