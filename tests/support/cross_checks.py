"""Posting forged callbacks to the live gateway and reading what they did (cross-check tests)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import requests
from flask import Flask
from sqlalchemy import select

from apg.extensions import db
from apg.payments.models import PaymentTransaction
from apg.tenants.models import Tenant
from apg.webhooks.models import InboundCallback
from tests.support.servers import LiveServer

SAMPLES = Path(__file__).parent.parent / "fixtures" / "daraja"


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / name).read_text())  # type: ignore[no-any-return]


def post(app: Flask, server: LiveServer, tenant_id: str, kind: str, body: dict) -> None:
    """POST `body` to the tenant's callback URL of `kind`, as Daraja would."""
    with app.app_context():
        token = db.session.get(Tenant, tenant_id).callback_token
    url = f"{server.url}/webhooks/daraja/{token}/{kind}"
    response = requests.post(url, json=body, timeout=30)
    assert response.status_code == 200, response.text  # acknowledged: never sent again


def stored(app: Flask, payment_id: str) -> PaymentTransaction:
    with app.app_context():
        txn = db.session.get(PaymentTransaction, payment_id)
        db.session.expunge(txn)
        return txn


def verdicts(app: Flask) -> list[str]:
    """What each stored callback did, oldest first."""
    with app.app_context():
        rows = db.session.execute(select(InboundCallback).order_by(InboundCallback.id)).scalars()
        return [row.outcome for row in rows]


def assert_held(app: Flask, payment_id: str, evidence: str) -> PaymentTransaction:
    """The operation is in review, not finalized, saying `evidence`."""
    txn = stored(app, payment_id)
    assert (txn.status, txn.finalized_at) == ("review", None)
    assert evidence in (txn.status_reason or ""), txn.status_reason
    return txn


def result(name: str, ids: dict[str, Any], **values: Any) -> dict[str, Any]:
    """A Result sample for the operation `ids` names, its parameters set to `values` (by Key;
    TransactionID is the envelope's)."""
    body = copy.deepcopy(sample(name))
    envelope = body["Result"]
    envelope["ConversationID"] = ids["conversation_id"]
    envelope["OriginatorConversationID"] = ids["originator_conversation_id"]
    envelope["TransactionID"] = values.pop("TransactionID", envelope["TransactionID"])
    for item in envelope["ResultParameters"]["ResultParameter"]:
        item["Value"] = values.pop(item["Key"], item.get("Value"))
    for item in _reference_items(envelope):
        item["Value"] = values.pop(item["Key"], item.get("Value"))
    assert not values, f"not in the sample: {values}"
    return body


def _reference_items(envelope: dict[str, Any]) -> list[dict[str, Any]]:
    items = (envelope.get("ReferenceData") or {}).get("ReferenceItem") or []
    return items if isinstance(items, list) else [items]
