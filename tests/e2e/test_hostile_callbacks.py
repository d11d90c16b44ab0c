"""Hostile callback bodies: every one is kept raw, answered 4xx, and never left at `received`."""

from __future__ import annotations

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from apg.extensions import db
from apg.tenants.models import Tenant
from apg.webhooks.models import InboundCallback
from tests.support.servers import LiveServer

HEAD = b'{"Body":{"stkCallback":{"MerchantRequestID":"1","CheckoutRequestID":'
ITEMS = b'"ws_CO_1","ResultCode":0,"ResultDesc":"x","CallbackMetadata":{"Item":'

HOSTILE = {
    "nan-result-code": HEAD + b'"ws_CO_1","ResultCode":NaN,"ResultDesc":"x"}}}',
    "infinite-result-code": HEAD + b'"ws_CO_1","ResultCode":Infinity,"ResultDesc":"x"}}}',
    "huge-float": HEAD + b'"ws_CO_1","ResultCode":1e99999,"ResultDesc":"x"}}}',
    "huge-integer": HEAD + b'"ws_CO_1","ResultCode":' + b"9" * 5000 + b',"ResultDesc":"x"}}}',
    "object-result-code": HEAD + b'"ws_CO_1","ResultCode":{"a":1},"ResultDesc":"x"}}}',
    "list-item-name": HEAD + ITEMS + b'[{"Name":["Amount"],"Value":1}]}}}}',
    "number-item-name": HEAD + ITEMS + b'[{"Name":5,"Value":1}]}}}}',
    "nan-amount": HEAD + ITEMS + b'[{"Name":"Amount","Value":NaN}]}}}}',
    "long-checkout-id": HEAD + b'"' + b"w" * 5000 + b'","ResultCode":0,"ResultDesc":"x"}}}',
    "long-result-desc": HEAD + b'"ws_CO_1","ResultCode":1,"ResultDesc":"' + b"d" * 5000 + b'"}}}',
    "escaped-nul-in-id": HEAD + b'"ws\\u0000CO","ResultCode":0,"ResultDesc":"x"}}}',
    "raw-nul-byte": HEAD + b'"ws_CO_1\x00","ResultCode":0}}}',
    "deep-nesting": b"[" * 100_000 + b"]" * 100_000,
    "not-utf8": b"\xff\xfe\x00\x00",
}


def url_for(app: Flask, server: LiveServer, tenant_id: str | None) -> str:
    token = "0" * 40
    if tenant_id:
        with app.app_context():
            token = db.session.get(Tenant, tenant_id).callback_token
    return f"{server.url}/webhooks/daraja/{token}/stk"


def stored(app: Flask) -> list[InboundCallback]:
    with app.app_context():
        return list(db.session.execute(select(InboundCallback)).scalars())


@pytest.mark.parametrize("body", list(HOSTILE.values()), ids=list(HOSTILE))
def test_a_hostile_body_is_stored_raw_and_answered_400(
    app: Flask, gateway_server: LiveServer, tenant: tuple[str, str], body: bytes
) -> None:
    response = requests.post(
        url_for(app, gateway_server, tenant[0]),
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "malformed_callback"
    [row] = stored(app)
    assert bytes(row.raw_body) == body  # exactly what was sent, NUL bytes and all
    assert row.outcome == "malformed"


def test_a_large_body_for_an_unknown_token_is_capped(
    app: Flask, gateway_server: LiveServer
) -> None:
    body = b'{"junk":"' + b"x" * 200_000 + b'"}'
    response = requests.post(url_for(app, gateway_server, None), data=body, timeout=30)
    assert response.status_code == 404
    [row] = stored(app)
    assert row.outcome == "unknown_tenant"
    assert row.body_size == len(body)
    assert len(row.raw_body) <= 4096 and bytes(row.raw_body) == body[: len(row.raw_body)]


def test_a_body_over_the_request_limit_is_413_and_its_head_is_kept(
    app: Flask, gateway_server: LiveServer, tenant: tuple[str, str]
) -> None:
    body = b"x" * (300 * 1024)
    response = requests.post(url_for(app, gateway_server, tenant[0]), data=body, timeout=30)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_entity_too_large"
    [row] = stored(app)
    assert (row.outcome, row.body_size) == ("too_large", len(body))
    assert bytes(row.raw_body) == body[: len(row.raw_body)]
