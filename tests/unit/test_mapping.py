"""Daraja wire rules: password, timestamps, payloads, callback parsing, result codes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from apg.payments.lifecycle import PaymentStatus
from apg.payments.ports import CallbackRejected
from apg.processors.mpesa import mapping
from apg.processors.mpesa.accounts import Shortcode
from apg.processors.mpesa.products import stk

SAMPLES = Path(__file__).parent.parent / "fixtures" / "daraja"
PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text(), parse_float=Decimal)


def raw(body: Any) -> bytes:
    """The body as bytes (Decimals as strings, which Daraja also sends for amounts)."""
    return json.dumps(body, default=str).encode()


def parse(body: Any) -> Any:
    return stk.parse_callback(raw(body)).outcome


def test_password_matches_the_official_docs_sample() -> None:
    request = sample("stk_request_daraja-docs.json")
    assert mapping.stk_password("174379", PASSKEY, request["Timestamp"]) == request["Password"]


@pytest.mark.parametrize(
    ("utc", "expected"),
    [
        (datetime(2021, 6, 28, 6, 24, 8, tzinfo=UTC), "20210628092408"),
        (datetime(2024, 12, 31, 22, 0, 0, tzinfo=UTC), "20250101010000"),  # EAT crosses the year
    ],
)
def test_timestamp_is_east_africa_time(utc: datetime, expected: str) -> None:
    assert mapping.daraja_timestamp(utc) == expected


def test_paybill_and_till_derive_type_and_party_b() -> None:
    assert Shortcode.for_kind("paybill", "174379", None) == Shortcode(
        "174379", "174379", "CustomerPayBillOnline"
    )
    assert Shortcode.for_kind("till", "5123456", "7123456") == Shortcode(
        "7123456", "5123456", "CustomerBuyGoodsOnline"
    )
    with pytest.raises(ValueError, match="store number"):
        Shortcode.for_kind("till", "5123456", None)


def test_stk_push_payload_sends_whole_shillings_and_consistent_password() -> None:
    now = datetime(2021, 6, 28, 6, 24, 8, tzinfo=UTC)
    payload = stk.push_payload(
        Shortcode.for_kind("paybill", "174379", None),
        PASSKEY,
        amount_minor=150000,
        phone_number="254708374149",
        reference="INV-1",
        description="Order 1",
        callback_url="https://example.com/cb",
        now=now,
    )
    assert payload["Amount"] == 1500
    assert payload["Timestamp"] == "20210628092408"
    assert payload["Password"] == mapping.stk_password("174379", PASSKEY, "20210628092408")
    assert payload["PartyA"] == payload["PhoneNumber"] == "254708374149"
    with pytest.raises(ValueError, match="whole shillings"):
        stk.push_payload(
            Shortcode.for_kind("paybill", "174379", None),
            PASSKEY,
            amount_minor=150050,
            phone_number="254708374149",
            reference="x",
            description="x",
            callback_url="https://example.com/cb",
            now=now,
        )


@pytest.mark.parametrize(
    ("name", "status", "code", "receipt", "amount"),
    [
        ("stk_callback_success_daraja-docs.json", "completed", "0", "NLJ7RT61SV", 100),
        ("stk_callback_success_django-daraja-2019.json", "completed", "0", "NCB9FJNAIT", 100),
        ("stk_callback_success_ghostscypher-2017.json", "completed", "0", "LGR7OWQX0R", 100),
        ("stk_callback_failure_1032_daraja-docs.json", "cancelled", "1032", None, None),
        ("stk_callback_failure_1032_django-daraja-2019.json", "cancelled", "1032", None, None),
        ("stk_callback_failure_1036_django-daraja-2019.json", "timeout", "1036", None, None),
        ("stk_callback_failure_2001_django-daraja-2019.json", "failed", "2001", None, None),
    ],
)
def test_parses_every_official_callback_sample(
    name: str, status: str, code: str, receipt: str | None, amount: int | None
) -> None:
    event = stk.parse_callback((SAMPLES / name).read_bytes())
    outcome = event.outcome
    assert event.refs[0].kind == "checkout_request_id" and event.refs[0].value.startswith("ws_CO")
    assert (outcome.status, outcome.result_code) == (status, code)
    assert outcome.receipt == receipt
    assert outcome.amount == amount


def test_items_are_found_by_name_whatever_their_order_or_absence() -> None:
    body = sample("stk_callback_success_daraja-docs.json")
    items = body["Body"]["stkCallback"]["CallbackMetadata"]["Item"]
    items.reverse()
    items.insert(1, {"Name": "Balance"})
    items.append({"Name": "SomethingNew", "Value": "x"})
    outcome = parse(body)
    assert outcome.receipt == "NLJ7RT61SV"
    assert outcome.amount == 100
    assert outcome.detail["phone_number"] == "254708374149"
    assert outcome.transaction_date == datetime(2019, 12, 19, 7, 21, 15, tzinfo=UTC)

    del items[:]
    bare = parse(body)
    assert (bare.receipt, bare.amount, bare.transaction_date) == (None, None, None)


@pytest.mark.parametrize(
    ("value", "minor"),
    [
        (Decimal("1.00"), 100),
        ("5.00", 500),
        (10, 1000),
        (Decimal("10.5"), 1050),
        (Decimal("0.001"), None),
        ("abc", None),
        (True, None),
    ],
)
def test_callback_amounts_become_exact_minor_units(value: Any, minor: int | None) -> None:
    body = sample("stk_callback_success_daraja-docs.json")
    body["Body"]["stkCallback"]["CallbackMetadata"]["Item"][0]["Value"] = value
    outcome = parse(body)
    assert outcome.amount == minor
    assert bool(outcome.problems) is (minor is None)  # an unreadable amount is evidence too


@pytest.mark.parametrize(
    "body",
    [
        {},
        [],
        "text",
        {"Body": {}},
        {"Body": {"stkCallback": {"ResultCode": 0}}},
        {"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_1"}}},
        {"Body": {"stkCallback": {"CheckoutRequestID": "", "ResultCode": 0}}},
        {"Body": {"stkCallback": {"CheckoutRequestID": 12, "ResultCode": 0}}},
        {"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_1", "ResultCode": None}}},
        {"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_1", "ResultCode": True}}},
    ],
)
def test_malformed_callbacks_are_rejected(body: Any) -> None:
    with pytest.raises(CallbackRejected):
        stk.parse_callback(raw(body))


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (0, "completed"),
        ("0", "completed"),
        (1032, "cancelled"),
        (1037, "timeout"),
        ("1019", "timeout"),
        (1, "failed"),
        (2001, "failed"),
        (1025, "failed"),
        ("SFC_IC0003", "failed"),
        (17, "failed"),
    ],
)
def test_result_code_table(code: Any, status: str) -> None:
    assert stk.status_for_result_code(code) == PaymentStatus(status)


def test_stk_query_answers_use_string_result_codes() -> None:
    cancelled = stk.parse_query(sample("stkquery_response_1032_ghostscypher.json"))
    assert cancelled.status == PaymentStatus.CANCELLED and not cancelled.settles
    paid = stk.parse_query(sample("stkquery_response_success_daraja-docs.json"))
    assert (paid.result_code, paid.receipt, paid.amount) == ("0", None, None)


@pytest.mark.parametrize(
    ("url", "word"),
    [
        ("https://pay.example.com/webhooks/daraja/abc/stk", None),
        ("https://mpesa.example.com/cb", "mpesa"),
        ("https://x.com/M-PESA/cb", "m-pesa"),
        ("https://x.com/SafariCom", "safaricom"),
        ("https://x.com/a.exe", "exe"),
        ("https://x.com/cmd", "cmd"),
        ("https://x.com/MySQL", "sql"),
        ("https://x.com/Query", "query"),
    ],
)
def test_forbidden_callback_words(url: str, word: str | None) -> None:
    assert mapping.forbidden_callback_word(url) == word


@pytest.mark.parametrize(
    "code", ["404.001.03", "401.002.01", "400.003.01", "401.003.01", "401.001"]
)
def test_every_products_invalid_token_code_refreshes_the_token(code: str) -> None:
    """STK/Reversal, B2C/Balance, C2B/Status, the community catalogue, and Pull (API.md §13)."""
    from apg.processors.mpesa.mapping import INVALID_TOKEN_CODES

    assert code in INVALID_TOKEN_CODES
