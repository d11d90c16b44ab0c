"""What fuzzing the callbacks found, each a minimal reproduction of a reported bug: a strict
xfail (on PostgreSQL only, where only it fails) until the fix makes it pass."""

from __future__ import annotations

import json
import os

import pytest
from flask import Flask

from tests.support.callbacks import (
    KINDS,
    SAMPLES_DIR,
    SETTLES,
    Inbox,
    addressed,
    samples,
    settled_by,
)
from tests.support.fuzzing import FuzzTenant, make_waiting
from tests.support.mutations import parent_of

ON_POSTGRESQL = os.environ.get("APG_TEST_DATABASE_URL", "").startswith("postgresql")
# Where each kind's official success sample carries the receipt.
RECEIPTS = {
    "stk": (
        "stk_callback_success_daraja-docs.json",
        ("Body", "stkCallback", "CallbackMetadata", "Item", 1, "Value"),  # MpesaReceiptNumber
    ),
    "b2c-result": (
        "b2c_result_success_daraja-docs-2024.json",
        ("Result", "ResultParameters", "ResultParameter", 1, "Value"),  # TransactionReceipt
    ),
    "b2b-result": ("b2b_result_success_daraja-docs.json", ("Result", "TransactionID")),
    "reversal-result": ("reversal_result_success_daraja-docs.json", ("Result", "TransactionID")),
}
# (kind, another product's transaction type) for every product with a Result URL.
OTHER_PRODUCTS = [
    (kind, other)
    for kind in KINDS
    if settled_by(kind) not in (None, "stk_push")
    for other in sorted(set(SETTLES.values()) - {"stk_push", settled_by(kind)})
]


@pytest.mark.parametrize("kind", list(RECEIPTS))
def test_a_receipt_longer_than_the_column_is_answered_without_a_500(
    fuzz_app: Flask, target: FuzzTenant, kind: str
) -> None:
    name, path = RECEIPTS[kind]
    raw, refs = addressed((SAMPLES_DIR / name).read_bytes(), kind, 1)
    operation = make_waiting(fuzz_app, target.id, SETTLES[kind.partition("-")[0]], refs)
    doc = json.loads(raw)
    parent_of(doc, path)[path[-1]] = "R" * 33
    body, inbox = json.dumps(doc).encode(), Inbox(fuzz_app, target)
    response, row, moved = inbox.post_moving(kind, body)
    inbox.assert_taken(kind, body, response, row)
    assert moved <= {operation}


def test_a_result_settles_no_operation_of_another_product(
    fuzz_app: Flask, target: FuzzTenant
) -> None:
    inbox, moved_by = Inbox(fuzz_app, target), []
    for n, (kind, other) in enumerate(OTHER_PRODUCTS):
        raw, refs = addressed(samples(kind)[0], kind, n)
        make_waiting(fuzz_app, target.id, other, refs)
        response, row, moved = inbox.post_moving(kind, raw)
        inbox.assert_taken(kind, raw, response, row)
        moved_by += [f"{kind} -> {other}"] if moved else []
    assert not moved_by


@pytest.mark.parametrize("where", ["token", "kind", "content-type"])
def test_a_nul_in_the_url_or_the_content_type_is_kept_and_never_a_500(
    fuzz_app: Flask, target: FuzzTenant, where: str
) -> None:
    token = "\x00" + target.callback_token if where == "token" else ""
    kind = "stk\x00" if where == "kind" else "stk"
    content_type = "application/json\x00" if where == "content-type" else "application/json"
    body = samples("stk")[0]
    response, row = Inbox(fuzz_app, target).post(kind, body, content_type, token=token)
    assert response.status_code == (200 if where == "content-type" else 404)
    assert bytes(row.raw_body) == body
