"""monitoring.log_format: json — one object a line, with the request, tenant and operation
ids, the message masked like every other line."""

from __future__ import annotations

import contextvars
import io
import json
import logging
from types import SimpleNamespace

from flask import Flask, g

from apg.logs import ContextFilter, JsonFormatter, PrivacyFilter, operation_logged


def json_handler() -> tuple[logging.Handler, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(PrivacyFilter())
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    return handler, stream


def lines_logged(emit) -> list[dict]:  # type: ignore[no-untyped-def, type-arg]
    handler, stream = json_handler()
    logger = logging.getLogger("apg.test.json")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        emit(logger)
    finally:
        logger.removeHandler(handler)
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_request_line_names_the_request_tenant_and_operation() -> None:
    app = Flask("json-logs")
    with app.test_request_context():
        g.request_id, g.tenant = "req_1", SimpleNamespace(id="ten_1")
        with operation_logged("pay_1"):
            [line] = lines_logged(lambda log: log.warning("prompting %s", "0708374149"))
    assert line["message"] == "prompting *******149"  # masked as in text lines
    assert (line["request_id"], line["tenant_id"], line["operation_id"]) == (
        "req_1",
        "ten_1",
        "pay_1",
    )
    assert (line["level"], line["logger"]) == ("WARNING", "apg.test.json")
    assert {"time", "pid"} <= set(line)


def test_outside_a_request_only_what_is_known_is_written() -> None:
    # A fresh context: code run directly by earlier tests may have named an operation here.
    [line] = contextvars.Context().run(lines_logged, lambda log: log.info("worker pass"))
    assert not {"request_id", "tenant_id", "operation_id"} & set(line)


def test_an_exception_is_one_line_with_its_masked_traceback() -> None:
    def emit(log: logging.Logger) -> None:
        try:
            raise ValueError("Bearer abcdefghijkl refused")
        except ValueError:
            log.exception("failed")

    [line] = lines_logged(emit)
    assert "ValueError" in line["exception"] and "abcdefghijkl" not in line["exception"]


def test_configure_logging_json_writes_json_lines() -> None:
    from apg.logs import configure_logging
    from tests.unit.test_log_privacy import bare_root_logger

    with bare_root_logger() as root:
        configure_logging("INFO", "json")
        [handler] = root.handlers
        assert isinstance(handler.formatter, JsonFormatter)
