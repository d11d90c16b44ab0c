"""Hostile bodies on every callback kind, in-process: each kept whole (past the size limit, its
head) and answered with a clean JSON 400 (413), no operation moved. test_hostile_callbacks.py
has STK's field-by-field hostile values over real HTTP."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.support.callbacks import KINDS, Inbox, assert_error
from tests.support.fuzzing import FuzzTenant

LIMIT = 256 * 1024  # MAX_CONTENT_LENGTH
HOSTILE = {
    "empty": (b"", "application/json"),
    "whitespace": (b" \r\n\t ", "application/json"),
    "no-content-type": (b'{"Body": {}}', ""),
    "deep-array": (b"[" * 100_000 + b"]" * 100_000, "application/json"),
    "deep-object": (b'{"a":' * 40_000 + b"1" + b"}" * 40_000, "application/json"),
    "unclosed-deep": (b"[" * 100_000, "application/json"),
    "nan": (b"NaN", "application/json"),
    "infinity": (b'{"Body": -Infinity}', "application/json"),
    "huge-number": (b"1" * 100_000, "application/json"),
    "huge-exponent": (b'{"Result": {"ResultCode": 1e999999999}}', "application/json"),
    "not-utf8": (b"\xff\xfe\xfd", "application/json"),
    "utf16-bom": ('{"Body": {}}'.encode("utf-16"), "application/json"),
    "lone-surrogate": (b'{"Body": "\\ud800"}', "application/json"),
    "raw-nul": (b"\x00" * 64, "application/octet-stream"),
    "form": (b"Body=1&Result=2&Body=3", "application/x-www-form-urlencoded"),
    "multipart": (b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--x--\r\n", ""),
    "json-string": (b'"Body"', "application/json"),
    "json-list": (b"[1, 2, 3]", "application/json"),
    "just-under-the-limit": (b'{"x": "' + b"y" * (LIMIT - 9) + b'"}', "application/json"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_body_is_kept_and_answered_400_on_every_kind(
    fuzz_app: Flask, target: FuzzTenant, name: str
) -> None:
    body, content_type = HOSTILE[name]
    assert len(body) <= LIMIT
    inbox = Inbox(fuzz_app, target)
    for kind in KINDS:
        response, row = inbox.post(kind, body, content_type)
        assert response.status_code == 400, (kind, response.json)
        inbox.assert_taken(kind, body, response, row)


@pytest.mark.parametrize("size", [LIMIT + 1, 17 * 1024 * 1024])
def test_a_body_over_the_limit_is_413_and_its_head_is_kept_on_every_kind(
    fuzz_app: Flask, target: FuzzTenant, size: int
) -> None:
    body = b'{"Body": "' + b"x" * (size - 12) + b'"}'
    inbox = Inbox(fuzz_app, target)
    for kind in KINDS:
        response, row = inbox.post(kind, body)
        assert response.status_code == 413, kind
        assert_error(response, "request_entity_too_large")
        assert (row.outcome, row.kind, row.tenant_id, row.body_size) == (
            "too_large",
            kind,
            target.id,
            size,
        )
        assert 0 < len(row.raw_body) <= size and bytes(row.raw_body) == body[: len(row.raw_body)]
