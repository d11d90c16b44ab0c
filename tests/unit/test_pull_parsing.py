"""Pull Transactions on the wire: the register and query bodies, Daraja's answers (the docs
samples, none found, odd envelopes), and rows read as C2B payments, or skipped when malformed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from apg.payments.ports import CallbackRejected
from apg.processors.mpesa.products import pull

SAMPLES = Path(__file__).parent.parent / "fixtures" / "daraja"
SHORTCODE = "600000"


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def make_row(**overrides: Any) -> dict[str, Any]:
    """A row as the emulator writes it (the sample's keys and types, a real payer)."""
    row: dict[str, Any] = {
        "transactionId": "SGA1B2C3D4",
        "trxDate": "2024-07-10T06:15:26Z",
        "msisdn": 254708374149,
        "sender": "John Doe",
        "transactiontype": "c2b-pay-bill-debit",
        "billreference": "INV-1001",
        "amount": "100.00",
        "organizationname": "Safaricom Daraja 000",
    }
    row.update(overrides)
    return row


def answer(*rows: Any, code: str = "1000") -> dict[str, Any]:
    return {
        "ResponseRefID": "x",
        "ResponseCode": code,
        "ResponseMessage": "Success",
        "Response": [list(rows)],
    }


# --- requests ------------------------------------------------------------------------------


def test_the_register_body_has_the_docs_fields() -> None:
    body = pull.register_payload("600000", "254708374149", "https://apg.example/c")
    assert body == {
        "ShortCode": "600000",
        "RequestType": "Pull",
        "NominatedNumber": "254708374149",
        "CallBackURL": "https://apg.example/c",
    }


@pytest.mark.parametrize(("shortcode", "number"), [("600000", "0708374149"), ("60O000", "2547")])
def test_the_register_body_refuses_what_daraja_would(shortcode: str, number: str) -> None:
    with pytest.raises(ValueError):
        pull.register_payload(shortcode, number, "https://apg.example/c")


def test_the_query_body_writes_the_window_in_nairobi_time_and_the_offset_as_text() -> None:
    start = datetime(2024, 7, 10, 6, 15, 26, 900_000, tzinfo=UTC)
    end = datetime(2024, 7, 11, 9, 0, tzinfo=timezone(timedelta(hours=3)))
    assert pull.query_payload(SHORTCODE, start, end, 100) == {
        "ShortCode": SHORTCODE,
        "StartDate": "2024-07-10 09:15:26",
        "EndDate": "2024-07-11 09:00:00",
        "OffSetValue": "100",
    }


def test_the_query_body_needs_aware_times_and_a_non_negative_offset() -> None:
    aware = datetime(2024, 7, 10, tzinfo=UTC)
    with pytest.raises(ValueError):
        pull.query_payload(SHORTCODE, aware.replace(tzinfo=None), aware, 0)
    with pytest.raises(ValueError):
        pull.query_payload(SHORTCODE, aware, aware, -1)


# --- register answers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "already", "description"),
    [
        ("pull_register_response_daraja-docs.json", False, "Shortcode Registered Successfully"),
        ("pull_register_response_ghostscypher.json", True, "ShortCode already Registered"),
    ],
)
def test_both_register_samples_are_registrations(
    name: str, already: bool, description: str
) -> None:
    registered = pull.registration(sample(name))
    assert registered is not None
    assert (registered.already, registered.description) == (already, description)
    assert registered.response_ref_id == sample(name)["ResponseRefID"]


@pytest.mark.parametrize("status", ["1002", "", None, "0"])
def test_any_other_register_status_is_not_a_registration(status: Any) -> None:
    body = sample("pull_register_response_daraja-docs.json") | {"ResponseStatus": status}
    assert pull.registration(body) is None


# --- query answers -------------------------------------------------------------------------


def test_the_docs_sample_rows_are_c2b_payments_to_the_shortcode_asked_about() -> None:
    page = pull.parse_query(sample("pull_query_response_ghostscypher.json"), SHORTCODE)
    assert (page.size, page.rejected) == (2, ())
    first, second = page.payments
    assert (first.receipt, first.amount, second.receipt, second.amount) == (
        "yzlyrEsRG1",
        16800,
        "ZobjR29vdz",
        64700,
    )
    assert (first.transaction_type, first.payment_method_type, first.currency) == (
        "c2b_payment",
        "mpesa_c2b",
        "KES",
    )
    assert (first.account_number, first.reference) == (SHORTCODE, "37207636392")
    assert first.transaction_date == datetime(2020, 8, 5, 10, 13, tzinfo=UTC)
    assert first.phone_number is None  # 72200000: not a number APG can prompt, kept as sent
    assert first.details == {
        "msisdn": "72200000",
        "msisdn_format": "unknown",
        "sender": "UAT2",
        "business_short_code": SHORTCODE,
        "mpesa_transaction_type": "c2b-pay-bill-debit",
        "organization_name": "Daraja Pull API Test",
        "reported_by": "pull",
    }


@pytest.mark.parametrize(
    ("msisdn", "phone", "msisdn_format"),
    [
        (254708374149, "254708374149", "plain"),
        ("254708374149", "254708374149", "plain"),
        ("2547 ***** 149", None, "masked"),
        ("a" * 64, None, "hashed"),
        (None, None, "unknown"),
    ],
)
def test_the_payer_is_kept_as_sent_and_a_plain_number_becomes_the_phone(
    msisdn: Any, phone: str | None, msisdn_format: str
) -> None:
    [payment] = pull.parse_query(answer(make_row(msisdn=msisdn)), SHORTCODE).payments
    assert (payment.phone_number, payment.details["msisdn_format"]) == (phone, msisdn_format)


@pytest.mark.parametrize(
    "body",
    [
        answer(code="1001"),
        {"ResponseCode": "1001", "ResponseMessage": "No records"},
        {"ResponseCode": 1001, "Response": []},
        answer(),  # 1000 with no rows: nothing either
    ],
)
def test_none_found_is_an_empty_page(body: dict[str, Any]) -> None:
    page = pull.parse_query(body, SHORTCODE)
    assert (page.payments, page.rejected, page.size) == ((), (), 0)


@pytest.mark.parametrize(
    "body",
    [
        {"ResponseCode": "500", "ResponseMessage": "No transactions"},
        {"errorCode": "401.001"},
        {"ResponseCode": "1000", "Response": {"transactionId": "X"}},
        {"ResponseCode": "1000", "Response": [{"transactionId": "X"}]},
        {"ResponseCode": "1000"},
    ],
)
def test_an_answer_that_is_not_a_pull_page_is_refused(body: dict[str, Any]) -> None:
    with pytest.raises(CallbackRejected):
        pull.parse_query(body, SHORTCODE)


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("SGA1B2C3D4", "must be an object"),
        (make_row(transactionId=None), "transactionId is missing"),
        (make_row(transactionId=1234567890), "transactionId must be a string"),
        (make_row(transactionId="R" * 33), "at most 32"),
        (make_row(transactionId="SGA\n1B2C3"), "printable"),
        (make_row(amount=None), "amount is missing"),
        (make_row(amount="abc"), "not a number"),
        (make_row(amount="-5.00"), "whole number of cents"),
        (make_row(amount="1.005"), "whole number of cents"),
        (make_row(amount=True), "not a number"),
        (make_row(billreference={"a": 1}), "billreference must be a string"),
        (make_row(sender="x" * 300), "sender must be at most"),
    ],
)
def test_a_malformed_row_is_skipped_with_its_reason_and_the_rest_count(
    row: Any, problem: str
) -> None:
    page = pull.parse_query(answer(make_row(transactionId="SGA0000001"), row), SHORTCODE)
    assert [p.receipt for p in page.payments] == ["SGA0000001"]
    [reason] = page.rejected
    assert reason.startswith("row 1: ") and problem in reason
    assert page.size == 2  # the next page starts after both


def test_rows_from_several_inner_lists_are_read_in_order() -> None:
    body = answer(make_row(transactionId="SGA0000001"))
    body["Response"].append([make_row(transactionId="SGA0000002")])
    assert [p.receipt for p in pull.parse_query(body, SHORTCODE).payments] == [
        "SGA0000001",
        "SGA0000002",
    ]


@pytest.mark.parametrize(
    ("amount", "cents"),
    [("168.00", 16800), ("5", 500), (168, 16800), (168.5, 16850), (0.1, 10)],
)
def test_amounts_are_exact_cents_from_text_or_json_numbers(amount: Any, cents: int) -> None:
    [payment] = pull.parse_query(answer(make_row(amount=amount)), SHORTCODE).payments
    assert payment.amount == cents


def test_a_long_bill_reference_is_cut_to_the_column() -> None:
    [payment] = pull.parse_query(answer(make_row(billreference="R" * 100)), SHORTCODE).payments
    assert payment.reference == "R" * 64


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2020-08-05T10:13:00Z", datetime(2020, 8, 5, 10, 13, tzinfo=UTC)),
        ("2020-08-05T13:13:00+03:00", datetime(2020, 8, 5, 10, 13, tzinfo=UTC)),
        ("2020-08-05 13:13:00", datetime(2020, 8, 5, 10, 13, tzinfo=UTC)),  # EAT
        ("20200805131300", datetime(2020, 8, 5, 10, 13, tzinfo=UTC)),  # EAT
        (20200805131300, datetime(2020, 8, 5, 10, 13, tzinfo=UTC)),
        ("yesterday", None),
        ("", None),
        (None, None),
        ("9" * 100, None),
    ],
)
def test_trx_date_reads_iso_with_a_zone_else_nairobi_time(
    value: Any, expected: datetime | None
) -> None:
    assert pull.parse_trx_date(value) == expected
    [payment] = pull.parse_query(answer(make_row(trxDate=value)), SHORTCODE).payments
    assert payment.transaction_date == expected  # an odd date never costs the payment
