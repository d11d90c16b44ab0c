"""What each benchmark row sends: prepared requests built from what the database holds."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg

from bench.load import Request


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    account_id: str
    api_key: str
    callback_token: str
    shortcode: str


def _json(document: object) -> str:
    return json.dumps(document, separators=(",", ":"))


def initiations(count: int, run: str, first_phone: int) -> list[Request]:
    """STK Pushes, each with its own Idempotency-Key and its own phone (one open prompt per
    phone: Daraja answers a second one with 'Unable to lock subscriber')."""
    return [
        Request(
            "POST",
            "/api/v1/payments",
            _json(
                {
                    "amount": 100 * (1 + index % 50),  # whole shillings
                    "currency": "KES",
                    "phone_number": f"07{first_phone + index:08d}",
                    "reference": f"B{index % 100000}",
                    "description": "Bench",
                }
            ),
            f"{run}-{first_phone + index}",
        )
        for index in range(count)
    ]


def stk_callbacks(database_url: str, tenant: Tenant, limit: int) -> list[Request]:
    """A success callback, as Daraja sends it, for each pending STK Push (one each)."""
    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            """
            SELECT c.value, m.value, p.amount, p.phone_number
            FROM payment_transactions p
            JOIN processor_references c
              ON c.transaction_id = p.id AND c.kind = 'checkout_request_id'
            JOIN processor_references m
              ON m.transaction_id = p.id AND m.kind = 'merchant_request_id'
            WHERE p.tenant_id = %s AND p.status = 'processing' AND p.transaction_type = 'stk_push'
            ORDER BY p.created_at LIMIT %s
            """,
            (tenant.tenant_id, limit),
        ).fetchall()
    path = f"/webhooks/daraja/{tenant.callback_token}/stk"
    return [
        Request("POST", path, _json(_stk_success(checkout, merchant, amount, phone)))
        for checkout, merchant, amount, phone in rows
    ]


def _stk_success(checkout: str, merchant: str, amount: int, phone: str) -> dict[str, object]:
    receipt = "T" + secrets.token_hex(5).upper()[:9]
    items = [
        {"Name": "Amount", "Value": amount / 100},
        {"Name": "MpesaReceiptNumber", "Value": receipt},
        {"Name": "Balance"},
        {"Name": "TransactionDate", "Value": int(datetime.now(UTC).strftime("%Y%m%d%H%M%S"))},
        {"Name": "PhoneNumber", "Value": int(phone.lstrip("+"))},
    ]
    return {
        "Body": {
            "stkCallback": {
                "MerchantRequestID": merchant,
                "CheckoutRequestID": checkout,
                "ResultCode": 0,
                "ResultDesc": "The service request is processed successfully.",
                "CallbackMetadata": {"Item": items},
            }
        }
    }


def c2b_confirmations(tenant: Tenant, count: int) -> list[Request]:
    """C2B confirmations as Daraja sends them (v2, masked MSISDN), each its own TransID."""
    path = f"/webhooks/daraja/{tenant.callback_token}/c2b-confirmation"
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    requests = []
    for index in range(count):
        body = {
            "TransactionType": "Pay Bill",
            "TransID": f"U{index:04d}{secrets.token_hex(3).upper()[:5]}",
            "TransTime": now,
            "TransAmount": f"{1 + index % 500}.00",
            "BusinessShortCode": tenant.shortcode,
            "BillRefNumber": f"INV{index % 1000}",
            "InvoiceNumber": "",
            "OrgAccountBalance": "25.00",
            "ThirdPartyTransID": "",
            "MSISDN": "2547 ***** 126",
            "FirstName": "JANE",
            "MiddleName": "",
            "LastName": "",
        }
        requests.append(Request("POST", path, _json(body)))
    return requests


def payment_ids(database_url: str, tenant: Tenant, limit: int) -> list[str]:
    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            "SELECT id FROM payment_transactions WHERE tenant_id = %s ORDER BY created_at DESC "
            "LIMIT %s",
            (tenant.tenant_id, limit),
        ).fetchall()
    return [row[0] for row in rows]


def status_gets(ids: list[str], count: int) -> list[Request]:
    return [Request("GET", f"/api/v1/payments/{ids[i % len(ids)]}") for i in range(count)]


def list_filters(day: datetime) -> dict[str, str]:
    """Each list filter the API has, by name: the query string a merchant would send."""
    start = day.replace(hour=0, minute=0, second=0, microsecond=0)
    end = start + timedelta(days=1)
    return {
        "none": "limit=20",
        "status=completed": "status=completed&limit=20",
        "status=failed": "status=failed&limit=20",
        "reference": "reference=B4242&limit=20",
        "created (one day)": (
            f"created_gte={start.strftime('%Y-%m-%dT%H:%M:%SZ')}"
            f"&created_lt={end.strftime('%Y-%m-%dT%H:%M:%SZ')}&limit=20"
        ),
    }


def lists(query: str, count: int) -> list[Request]:
    return [Request("GET", f"/api/v1/payments?{query}") for _ in range(count)]
