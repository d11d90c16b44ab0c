"""Shared fixtures: one migrated database, the Daraja emulator and the gateway on loopback.

The database is SQLite in a temporary folder, or APG_TEST_DATABASE_URL (PostgreSQL in CI).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import flask_migrate
import pytest
import requests
from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import MetaData, text

from apg import create_app
from apg.extensions import db
from daraja_emulator import EmulatorServer, load_config
from tests.support.clock import ShiftableClock
from tests.support.console import Console, with_ops_token
from tests.support.factories import SESSIONS, EmulatorControl, Merchant, make_tenant
from tests.support.openapi import CHECKED, CheckedClient
from tests.support.servers import LiveServer

# Every requests.Session made while tests run (by tests, factories, or the processors and
# clients they build), closed after each test: an idle pooled socket left to the garbage
# collector raises a ResourceWarning in whichever later test the collector runs, and this suite
# treats warnings as errors. A closed session still works; it just opens new connections.
OPENED_SESSIONS: list[requests.Session] = []
_session_init = requests.Session.__init__


def _remembered_session_init(self: requests.Session, *args: Any, **kwargs: Any) -> None:
    _session_init(self, *args, **kwargs)
    OPENED_SESSIONS.append(self)


requests.Session.__init__ = _remembered_session_init  # type: ignore[method-assign]


def pytest_report_header() -> str:
    url = os.environ.get("APG_TEST_DATABASE_URL")
    return f"APG test database: {url or 'SQLite (temporary file)'}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if CHECKED:
        kinds = len(CHECKED)
        terminalreporter.write_line(
            f"OpenAPI: {sum(CHECKED.values())} API responses checked against the document"
            f" ({kinds} distinct operation/status pairs)"
        )


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("APG_TEST_DATABASE_URL")
    return url or f"sqlite:///{tmp_path_factory.mktemp('db') / 'apg.db'}"


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorServer]:
    """Outcomes are decided only when a test settles them (the delay is an hour)."""
    config = load_config({"callback_delay_seconds": 3600, "no_answer_timeout_seconds": 3600})
    with EmulatorServer(config) as server:
        yield server


@pytest.fixture(scope="session")
def gateway_server() -> Iterator[LiveServer]:
    server = LiveServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def clock() -> ShiftableClock:
    return ShiftableClock()


@pytest.fixture(scope="session")
def app(
    database_url: str, emulator: EmulatorServer, gateway_server: LiveServer, clock: ShiftableClock
) -> Iterator[Flask]:
    app = create_app(
        {
            "app.database_url": database_url,
            "environments.emulator": emulator.url,
            "callbacks.public_base_url": gateway_server.url,
            "security.encryption_key": Fernet.generate_key().decode(),
            "security.secret_key": "test-secret",
            "monitoring.log_level": "WARNING",
            "performance.read_timeout_seconds": 1.5,  # the hanging-Daraja tests wait this long
            # The suite sends hundreds of deliberate 401s from 127.0.0.1 a minute; this limit
            # has its own app in tests/api/test_rate_limits.py.
            "security.auth_failure_rate_limit": "",
        },
        clock=clock,
    )
    app.config["TESTING"] = True
    app.test_client_class = CheckedClient  # every API response is checked against the document
    gateway_server.app = app
    with app.app_context():
        _drop_everything()
        flask_migrate.upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _clean_state(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    while SESSIONS:  # the merchants' HTTP sessions this test opened
        SESSIONS.pop().close()
    while OPENED_SESSIONS:  # and every other one, made directly or by the code under test
        OPENED_SESSIONS.pop().close()
    if "app" not in request.fixturenames:
        return
    app: Flask = request.getfixturevalue("app")
    db.session.remove()  # pytest-flask's request context may hold a read transaction
    request.getfixturevalue("clock").offset *= 0
    EmulatorControl(request.getfixturevalue("emulator").url).reset()
    with app.app_context():
        _delete_all_rows()


@pytest.fixture
def emulator_control(emulator: EmulatorServer) -> EmulatorControl:
    return EmulatorControl(emulator.url)


@pytest.fixture
def tenant(app: Flask) -> tuple[str, str]:
    return make_tenant(app, "Tenant A")


@pytest.fixture
def merchant(gateway_server: LiveServer, tenant: tuple[str, str]) -> Merchant:
    return Merchant(gateway_server.url, tenant[1])


@pytest.fixture
def api_headers(tenant: tuple[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tenant[1]}"}


@pytest.fixture
def guarded(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """The session app with an ops token configured (restored after the test): the console's
    sign-in needs one."""
    return with_ops_token(app, monkeypatch)


@pytest.fixture
def console(guarded: Flask) -> Console:
    """A browser signed in to the ops console (tests.support.console)."""
    signed = Console(guarded.test_client())
    assert signed.sign_in().status_code == 303
    signed.page()  # signing in made a new CSRF token
    return signed


def _drop_everything() -> None:
    metadata = MetaData()
    metadata.reflect(db.engine)
    metadata.drop_all(db.engine)


def _delete_all_rows() -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(t.name for t in tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    db.session.commit()
