"""Migrations log in the one log format and leave the logging of the process that runs them."""

from __future__ import annotations

import logging
from pathlib import Path

import flask_migrate
import pytest

from apg.dbapp import create_db_app
from apg.extensions import db
from tests.unit.test_dbapp import run_dbapp
from tests.unit.test_logging_setup import LOG_LINE


class Kept(logging.Handler):
    """A host's own handler: keeps every record's message."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_db_upgrade_prints_each_step_in_the_log_format(tmp_path: Path) -> None:
    result = run_dbapp({"DATABASE_URL": f"sqlite:///{tmp_path / 'apg.db'}"}, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert [line for line in lines if not LOG_LINE.fullmatch(line)] == []
    messages = [match["message"] for match in map(LOG_LINE.fullmatch, lines) if match]
    assert any(message.startswith("Running upgrade") for message in messages)


def test_migrating_in_process_keeps_the_hosts_root_handlers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'apg.db'}")
    app = create_db_app()
    caplog.set_level(logging.INFO)
    root, kept = logging.getLogger(), Kept()
    root.addHandler(kept)
    handlers = root.handlers[:]
    try:
        with app.app_context():
            flask_migrate.upgrade()
            db.engine.dispose()
        assert root.handlers == handlers
    finally:
        root.removeHandler(kept)
    assert any(message.startswith("Running upgrade") for message in kept.messages)
