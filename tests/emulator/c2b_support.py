"""Helpers for the C2B tests: request factories, register/simulate/settle through a test client,
and reading what the emulator POSTed to the validation and confirmation URLs."""

from __future__ import annotations

import json
from typing import Any

from .support import StubHttp

SHORTCODE = "600984"  # the docs samples' sandbox shortcode
PAYER = "254708374149"
NICHOLAS = "254705912645"  # the sandbox identity the v2 docs sample shows (API.md §15.3)
VALIDATION_URL = "https://example.com/c2b/validation"
CONFIRMATION_URL = "https://example.com/c2b/confirmation"
ACCEPT = '{"ResultCode":"0","ResultDesc":"Accepted"}'
REJECT = '{"ResultCode":"C2B00011","ResultDesc":"Rejected"}'
CONFIRMATION_KEYS = [
    "TransactionType",
    "TransID",
    "TransTime",
    "TransAmount",
    "BusinessShortCode",
    "BillRefNumber",
    "InvoiceNumber",
    "OrgAccountBalance",
    "ThirdPartyTransID",
    "MSISDN",
    "FirstName",
    "MiddleName",
    "LastName",
]


def register_path(version: str = "v2") -> str:
    return f"/mpesa/c2b/{version}/registerurl"


def simulate_path(version: str = "v2") -> str:
    return f"/mpesa/c2b/{version}/simulate"


def make_register_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ShortCode": SHORTCODE,
        "ResponseType": "Completed",
        "ConfirmationURL": CONFIRMATION_URL,
        "ValidationURL": VALIDATION_URL,
    }
    body.update(overrides)
    return body


def make_simulate_body(**overrides: Any) -> dict[str, Any]:
    """The docs sample (numbers for ShortCode, Amount, Msisdn)."""
    body: dict[str, Any] = {
        "ShortCode": int(SHORTCODE),
        "CommandID": "CustomerPayBillOnline",
        "Amount": 5,
        "Msisdn": int(PAYER),
        "BillRefNumber": "Sample Transaction",
    }
    body.update(overrides)
    return body


def register(
    client: Any, bearer: dict[str, str], version: str = "v2", **overrides: Any
) -> dict[str, Any]:
    response = client.post(
        register_path(version), json=make_register_body(**overrides), headers=bearer
    )
    assert response.status_code == 200, response.get_json()
    return dict(response.get_json())


def simulate(
    client: Any, bearer: dict[str, str], version: str = "v2", **overrides: Any
) -> dict[str, Any]:
    """Simulate a payment; the emulator's view of it (its TransID, state, callbacks…)."""
    response = client.post(
        simulate_path(version), json=make_simulate_body(**overrides), headers=bearer
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["ResponseCode"] == "0"
    return payment(client, response.get_json()["OriginatorCoversationID"])


def payment(client: Any, identifier: str) -> dict[str, Any]:
    response = client.get(f"/_emulator/c2b/payments/{identifier}")
    assert response.status_code == 200, response.get_json()
    return dict(response.get_json())


def settle(client: Any, identifier: str) -> dict[str, Any]:
    """Run the payment now: validation, verdict, confirmation. Its view afterwards."""
    response = client.post(f"/_emulator/c2b/payments/{identifier}/settle")
    assert response.status_code == 200, response.get_json()
    return dict(response.get_json())


def paid(
    client: Any, bearer: dict[str, str], version: str = "v2", **overrides: Any
) -> dict[str, Any]:
    """Simulate and settle a payment at once; its view."""
    return settle(client, simulate(client, bearer, version, **overrides)["trans_id"])


def posted(stub_http: StubHttp, url: str) -> list[dict[str, Any]]:
    """Parsed bodies the emulator POSTed to `url`, in order."""
    return [json.loads(post["data"]) for post in stub_http.posts if post["url"] == url]


def accounts(client: Any, shortcode: str = SHORTCODE) -> dict[str, str]:
    response = client.get(f"/_emulator/accounts/{shortcode}")
    assert response.status_code == 200, response.get_json()
    return dict(response.get_json()["accounts"])
