"""Callback fuzzing support: the official samples of every kind, an Inbox that posts to a
tenant's callback URLs and checks what each POST left behind, and samples addressed to one of
the tenant's operations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import Flask
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from apg.extensions import db
from apg.processors.mpesa.catalog import CALLBACK_KINDS
from apg.webhooks.models import InboundCallback
from tests.support.fuzzing import FuzzTenant, statuses
from tests.support.mutations import parent_of

SAMPLES_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "daraja"
KINDS = sorted(CALLBACK_KINDS)
# The official samples each kind's parser reads (a timeout notice has no public sample: its
# product's Result envelope stands in).
SAMPLE_PREFIX = {
    "stk": "stk_callback_",
    "c2b-confirmation": "c2b_confirmation_",
    "c2b-validation": "c2b_validation_ghostscypher",
    "b2c": "b2c_result_",
    "b2b": "b2b_result_",
    "balance": "accountbalance_result_",
    "status": "transactionstatus_result_",
    "reversal": "reversal_result_",
}
# What Daraja expects back from a callback that was taken (validation: accept or reject).
ACK = {"ResultCode": 0, "ResultDesc": "Accepted"}
ACKS = {
    "c2b-confirmation": [{"ResultCode": 0, "ResultDesc": "Success"}],
    "c2b-validation": [{"ResultCode": "0", "ResultDesc": "Accepted"}]
    + [{"ResultCode": f"C2B000{n}", "ResultDesc": "Rejected"} for n in range(11, 17)],
}
# The transaction type each product's callbacks settle (C2B's record money or ask: none).
SETTLES = {
    "stk": "stk_push",
    "b2c": "b2c_payment",
    "b2b": "b2b_payment",
    "balance": "balance_inquiry",
    "status": "transaction_status",
    "reversal": "reversal",
}
# Where each family's samples carry what finds an operation (C2B: the shortcode that finds the
# account paid, then the TransID), and the kinds of ref an operation is found by.
ADDRESSES: dict[str, tuple[tuple[str, ...], ...]] = {
    "stk": (("Body", "stkCallback", "CheckoutRequestID"),),
    "c2b": (("BusinessShortCode",), ("TransID",)),
    "result": (("Result", "ConversationID"), ("Result", "OriginatorConversationID")),
}
REF_KINDS = {
    "stk": ("checkout_request_id",),
    "c2b": (),
    "result": ("conversation_id", "originator_conversation_id"),
}
SHORTCODE = "174379"  # the fuzz tenant's paybill


def samples(kind: str) -> list[bytes]:
    prefix = SAMPLE_PREFIX.get(kind) or SAMPLE_PREFIX[kind.rpartition("-")[0]]
    return [path.read_bytes() for path in sorted(SAMPLES_DIR.glob(f"{prefix}*.json"))]


def settled_by(kind: str) -> str | None:
    """The transaction type a callback of this kind settles; None for C2B."""
    return SETTLES.get(kind.rpartition("-")[0] or kind)


def addressed(raw: bytes, kind: str, n: int) -> tuple[bytes, dict[str, str]]:
    """The sample with ids of its own (the n-th) and, for C2B, the tenant's shortcode; returns
    it and the refs {kind: value} an operation is found by."""
    family = "stk" if kind == "stk" else "c2b" if kind.startswith("c2b") else "result"
    values = {
        "stk": (f"ws_CO_FUZZ{n:08d}",),
        "c2b": (SHORTCODE, f"FZ{n:08d}"),
        "result": (f"AG_FUZZ{n:08d}", f"FUZZ-{n:08d}"),
    }[family]
    doc = json.loads(raw)
    for path, value in zip(ADDRESSES[family], values, strict=True):
        parent_of(doc, path)[path[-1]] = value
    return json.dumps(doc).encode(), dict(zip(REF_KINDS[family], values, strict=False))


class Inbox:
    """Posts to one tenant's callback URLs, in-process, and checks what each POST left."""

    def __init__(self, app: Flask, tenant: FuzzTenant) -> None:
        self.app, self.tenant = app, tenant
        self.client = app.test_client()

    def post(
        self, kind: str, body: bytes, content_type: str = "application/json", token: str = ""
    ) -> tuple[TestResponse, InboundCallback]:
        """POST `body`, which must move no operation; returns the answer and the one row it
        added (asserted)."""
        response, row, moved = self.post_moving(kind, body, content_type, token)
        assert not moved, f"a callback moved {moved}"
        return response, row

    def post_moving(
        self, kind: str, body: bytes, content_type: str = "application/json", token: str = ""
    ) -> tuple[TestResponse, InboundCallback, set[str]]:
        """POST `body` (never a 5xx); returns the answer, the one row it added, and the ids of
        the operations it created or changed."""
        before, operations = self._last_row_id(), statuses(self.app)
        path = f"/webhooks/daraja/{quote(token or self.tenant.callback_token, safe='')}"
        headers = {"Content-Type": content_type} if content_type else {}
        response = self.client.post(f"{path}/{quote(kind, safe='')}", data=body, headers=headers)
        assert response.status_code < 500, response.get_data(as_text=True)
        after = statuses(self.app)
        with self.app.app_context():
            query = select(InboundCallback).where(InboundCallback.id > before)
            [row] = list(db.session.execute(query).scalars())
        return response, row, {id_ for id_, now in after.items() if operations.get(id_) != now}

    def assert_taken(self, kind: str, body: bytes, response: TestResponse, row: Any) -> None:
        """The whole body kept; the answer a clean JSON 400, or 200 with Daraja's ack."""
        assert (row.kind, row.tenant_id, row.body_size) == (kind, self.tenant.id, len(body))
        assert bytes(row.raw_body) == body
        if response.status_code == 200:
            assert response.mimetype == "application/json"
            assert response.json in ACKS.get(kind, [ACK])
            assert row.outcome not in ("received", "malformed", "too_large", "unknown_tenant")
        else:
            assert response.status_code == 400, response.json
            assert_error(response, "malformed_callback")
            assert row.outcome == "malformed" and row.error

    def _last_row_id(self) -> int:
        with self.app.app_context():
            return db.session.execute(select(func.max(InboundCallback.id))).scalar() or 0


def assert_error(response: TestResponse, code: str) -> None:
    """The one JSON error shape, with this code and nothing else in it."""
    assert response.mimetype == "application/json"
    error = response.json["error"]
    assert error["code"] == code and error["message"] and error["request_id"]
    assert set(response.json) == {"error"}
