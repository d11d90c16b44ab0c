"""configure_logging: the app's records in the one log format, set up once per process."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from apg import create_app
from apg.logs import CallbackTokenFilter, configure_logging

# LOG_FORMAT as it reads: shared by the app's lines and gunicorn's error and access lines.
LOG_LINE = re.compile(
    r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \[(?P<pid>\d+)\] (?P<level>[A-Z]+)"
    r" (?P<name>[\w.]+): (?P<message>.*)"
)


@contextmanager
def bare_root_logger() -> Iterator[logging.Logger]:
    """The root logger as a new process has it: no handlers. Restored afterwards.

    Used inside a test's body: pytest attaches its capturing handlers anew for each phase."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    root.handlers.clear()
    try:
        yield root
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)


def formatted(handler: logging.Handler, name: str, message: str) -> str:
    record = logging.LogRecord(name, logging.WARNING, __file__, 1, message, None, None)
    return handler.format(record)


def test_configure_logging_adds_one_handler_in_the_log_format_however_often_called() -> None:
    with bare_root_logger() as root:
        configure_logging("INFO")
        configure_logging("DEBUG")
        assert len(root.handlers) == 1
        assert root.level == logging.INFO
        line = LOG_LINE.fullmatch(formatted(root.handlers[0], "apg.payments", "held"))
    assert line is not None
    assert (line["level"], line["name"], line["message"]) == ("WARNING", "apg.payments", "held")


def test_configure_logging_leaves_a_hosts_logging_setup_alone() -> None:
    host = logging.NullHandler()
    with bare_root_logger() as root:
        root.addHandler(host)
        root.setLevel(logging.ERROR)
        configure_logging("DEBUG")
        assert (root.handlers, root.level) == ([host], logging.ERROR)


def test_create_app_many_times_leaves_one_handler_and_one_token_filter(tmp_path: Path) -> None:
    overrides = {"app.database_url": f"sqlite:///{tmp_path / 'apg.db'}"}
    with bare_root_logger() as root:
        for _ in range(3):
            create_app(overrides)
        assert len(root.handlers) == 1
    werkzeug_filters = logging.getLogger("werkzeug").filters
    assert [type(f) for f in werkzeug_filters] == [CallbackTokenFilter]
