"""mask_private and PrivacyFilter: no full phone number and no credential in any log line, and
nothing else changed (receipts, ids, amounts, timestamps, masked and hashed numbers)."""

from __future__ import annotations

import logging
import sys

import pytest

from apg.logs import (
    ContextFilter,
    PrivacyFilter,
    configure_logging,
    mask_phone_numbers,
    mask_private,
)
from tests.unit.test_logging_setup import bare_root_logger

FERNET = "gAAAAABnK3x0c2VjcmV0LXBhc3NrZXktY2lwaGVydGV4dA_-Q2hlY2s=="
HASHED = "a1b2c3d4e5f60708374149aa1b2c3d4e5f60708374149aa1b2c3d4e5f6070837"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("254708374149", "*********149"),
        ("+254708374149", "+*********149"),
        ("0708374149", "*******149"),
        ("0110374149", "*******149"),
        ("254110374149", "*********149"),
        ("phone=254708374149&amount=1", "phone=*********149&amount=1"),
        (
            '{"PartyA": "254708374149", "PhoneNumber": 254708374149}',
            '{"PartyA": "*********149", "PhoneNumber": *********149}',
        ),
        ("from 0708374149 to 0713000099", "from *******149 to *******099"),
    ],
)
def test_phone_numbers_keep_only_their_last_three_digits(text: str, masked: str) -> None:
    assert mask_phone_numbers(text) == masked
    assert mask_private(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "20261126093000",  # a Daraja timestamp: 14 digits
        "TransactionDate 20240708374149",
        "receipt UAB7XYZ123 and NLJ7RT61SV",
        "pay_0123456789abcdef01234567 ws_CO_0708374149254708374149 AG_20240708_0708374149",
        "amount 10000.00 KES, 2547083741.49",
        "2547 ***** 149 and 254708***149 and 07******149",  # already masked by Daraja
        HASHED,  # a hashed C2B MSISDN
        "25470837414",  # 11 digits: no mobile number
        "2547083741490",  # 13 digits
        "07083741490",
        "0808374149",  # not a mobile prefix
        'req=req_0123456789abcdef 127.0.0.1 "GET /api/v1/payments HTTP/1.1" 401',
        "Authorization: Bearer <key>",
        "basic_auth_not_supported",
        "shortcode 174379, till 5000001",
    ],
)
def test_what_is_neither_a_phone_nor_a_credential_is_left_as_it_is(text: str) -> None:
    assert mask_private(text) == text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("Authorization: Bearer T0k3nT0k3nT0k3n", "Authorization: Bearer [redacted]"),
        (
            "headers={'Authorization': 'Basic YXBnX3Rlc3Q6'}",
            "headers={'Authorization': 'Basic [redacted]'}",
        ),
        ("bearer abc.def-ghi_jkl", "bearer [redacted]"),
        (
            '{"access_token": "T0k3nT0k3n", "expires_in": "3599"}',
            '{"access_token": "[redacted]", "expires_in": "3599"}',
        ),
        ("?access_token=T0k3nT0k3n&x=1", "?access_token=[redacted]&x=1"),
        (f"passkey_enc={FERNET} kept", "passkey_enc=[redacted] kept"),
        ("POST /webhooks/daraja/9f86d081884c7d65/stk", "POST /webhooks/daraja/9f86…/stk"),
    ],
)
def test_credentials_are_redacted(text: str, masked: str) -> None:
    assert mask_private(text) == masked


def record(msg: str, *args: object, exc_info: object = None) -> logging.LogRecord:
    return logging.LogRecord("apg.test", logging.INFO, __file__, 1, msg, args, exc_info)  # type: ignore[arg-type]


def test_the_filter_masks_the_formatted_message_whatever_the_arguments() -> None:
    logged = record("payment %s for %s (%r)", "pay_1", 254708374149, {"to": "0708374149"})
    assert PrivacyFilter().filter(logged)
    assert logged.getMessage() == "payment pay_1 for *********149 ({'to': '*******149'})"


def test_the_filter_masks_tracebacks() -> None:
    try:
        raise ValueError("Bearer T0k3nT0k3n rejected for 254708374149")
    except ValueError:
        logged = record("failed", exc_info=sys.exc_info())
    assert PrivacyFilter().filter(logged)
    line = logging.Formatter().format(logged)
    assert "254708374149" not in line and "T0k3nT0k3n" not in line
    assert "ValueError: Bearer [redacted] rejected for *********149" in line


def test_a_record_whose_format_fails_passes_unchanged() -> None:
    logged = record("%d", "not a number")
    assert PrivacyFilter().filter(logged)
    assert (logged.msg, logged.args) == ("%d", ("not a number",))


def test_configure_logging_masks_every_record_its_handler_writes() -> None:
    with bare_root_logger() as root:
        configure_logging("INFO")
        configure_logging("INFO")
        [handler] = root.handlers
        assert [type(f) for f in handler.filters] == [PrivacyFilter, ContextFilter]
        logged = record("paid by %s", "+254708374149")
        assert handler.filter(logged)
    assert logged.getMessage() == "paid by +*********149"
