"""C2B on the wire: Daraja's register and simulate bodies, its validation and confirmation
payloads (v1 hashed, v2 masked, 2017 plain payers), and the answers it expects back."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from apg.payments.ports import CallbackRejected, Ref
from apg.processors.mpesa.mapping import forbidden_callback_word
from apg.processors.mpesa.products import c2b

SAMPLES = Path(__file__).parent.parent / "fixtures" / "daraja"


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def raw(body: Any) -> bytes:
    return json.dumps(body).encode()


def v1_confirmation() -> dict[str, Any]:
    """The v2 docs sample as a v1 URL gets it: the payer's MSISDN as SHA-256 hex of 2547…
    (API.md §0.1: sha256("254705912645") is what captured v1 traffic carried)."""
    body = sample("c2b_confirmation_v2_masked_daraja-docs.json")
    return body | {"MSISDN": hashlib.sha256(b"254705912645").hexdigest()}


def test_the_v2_docs_confirmation_is_money_found_again_by_its_trans_id() -> None:
    event = c2b.parse_confirmation(raw(sample("c2b_confirmation_v2_masked_daraja-docs.json")))
    assert event.refs == (Ref("trans_id", "RKL51ZDR4F"),)
    assert event.outcome is None and event.validation is None
    incoming = event.incoming
    assert incoming is not None
    assert (incoming.transaction_type, incoming.payment_method_type) == ("c2b_payment", "mpesa_c2b")
    assert (incoming.amount, incoming.currency, incoming.receipt) == (500, "KES", "RKL51ZDR4F")
    assert (incoming.reference, incoming.account_number) == ("Sample Transaction", "600966")
    assert incoming.phone_number is None  # masked: kept as sent, never guessed
    assert incoming.transaction_date == datetime(2023, 11, 21, 9, 13, 25, tzinfo=UTC)  # EAT-3h
    assert incoming.details == {
        "msisdn": "2547 ***** 126",
        "msisdn_format": "masked",
        "first_name": "NICHOLAS",
        "middle_name": None,
        "last_name": None,
        "business_short_code": "600966",
        "mpesa_transaction_type": "Pay Bill",
        "invoice_number": None,
        "org_account_balance": 2500,
        "third_party_trans_id": None,
    }


def test_a_v1_confirmation_keeps_the_hashed_msisdn_and_has_no_phone_number() -> None:
    incoming = c2b.parse_confirmation(raw(v1_confirmation())).incoming
    assert incoming is not None and incoming.phone_number is None
    assert incoming.details["msisdn_format"] == "hashed"
    assert incoming.details["msisdn"] == hashlib.sha256(b"254705912645").hexdigest()


def test_a_2017_confirmation_with_a_plain_msisdn_gives_the_phone_number() -> None:
    event = c2b.parse_confirmation(raw(sample("c2b_confirmation_ghostscypher-2017.json")))
    incoming = event.incoming
    assert incoming is not None
    assert (incoming.phone_number, incoming.details["msisdn_format"]) == ("254708374149", "plain")
    assert (incoming.amount, incoming.reference, incoming.account_number) == (1000, "xyz", "600134")
    assert incoming.details["third_party_trans_id"] == "1234567890"
    assert incoming.details["org_account_balance"] == 4919700
    assert incoming.details["mpesa_transaction_type"] is None  # "" in 2017 samples


def test_a_validation_asks_and_records_nothing() -> None:
    event = c2b.parse_validation(raw(sample("c2b_validation_ghostscypher-2017.json")))
    assert event.incoming is None and event.outcome is None
    assert event.validation is not None and event.validation.amount == 1000
    assert event.validation.details["org_account_balance"] is None  # blank in validations
    assert event.refs == (Ref("trans_id", "LGR219G3EY"),)


def test_a_validation_without_a_trans_id_is_still_answerable() -> None:
    body = sample("c2b_validation_ghostscypher-2017.json") | {"TransID": ""}
    event = c2b.parse_validation(raw(body))
    assert event.refs == () and event.validation is not None


@pytest.mark.parametrize(
    ("amount", "cents"),
    [("5.00", 500), ("10", 1000), (10, 1000), (1.5, 150), ("0.50", 50)],
)
def test_amounts_are_exact_cents(amount: Any, cents: int) -> None:
    body = sample("c2b_confirmation_v2_masked_daraja-docs.json") | {"TransAmount": amount}
    incoming = c2b.parse_confirmation(raw(body)).incoming
    assert incoming is not None and incoming.amount == cents


@pytest.mark.parametrize(
    "change",
    [
        {"TransID": ""},
        {"TransID": "X" * 33},
        {"TransAmount": "five"},
        {"TransAmount": "-5.00"},
        {"TransAmount": "5.001"},
        {"TransAmount": None},
        {"BusinessShortCode": "60A966"},
        {"BusinessShortCode": ""},
        {"MSISDN": ["2547"]},
        {"FirstName": "N" * 101},
    ],
)
def test_a_confirmation_that_cannot_be_read_is_rejected(change: dict[str, Any]) -> None:
    body = sample("c2b_confirmation_v2_masked_daraja-docs.json") | change
    with pytest.raises(CallbackRejected):
        c2b.parse_confirmation(raw(body))


@pytest.mark.parametrize("body", [b"", b"[]", b"{}", b'{"Body": {"stkCallback": {}}}', b"\xff"])
def test_anything_else_is_not_a_c2b_payment(body: bytes) -> None:
    for parse in (c2b.parse_confirmation, c2b.parse_validation):
        with pytest.raises(CallbackRejected):
            parse(body)


@pytest.mark.parametrize(
    ("msisdn", "kind"),
    [
        ("254708374149", "plain"),
        ("254110000001", "plain"),
        (hashlib.sha256(b"254708374149").hexdigest(), "hashed"),
        ("2547 ***** 126", "masked"),
        ("25470****149", "masked"),
        ("", "unknown"),
        ("0708374149", "unknown"),
    ],
)
def test_msisdn_formats(msisdn: str, kind: str) -> None:
    assert c2b.msisdn_format(msisdn) == kind


@pytest.mark.parametrize(
    ("verdict", "code"),
    [
        ("rejected:invalid_msisdn", "C2B00011"),
        ("rejected:invalid_account_number", "C2B00012"),
        ("rejected:invalid_amount", "C2B00013"),
        ("rejected:invalid_kyc", "C2B00014"),
        ("rejected:invalid_shortcode", "C2B00015"),
        ("rejected:other", "C2B00016"),
        ("rejected:something_new", "C2B00016"),
    ],
)
def test_a_rejected_validation_answers_the_code_of_its_reason(verdict: str, code: str) -> None:
    assert c2b.answer("c2b-validation", verdict) == {"ResultCode": code, "ResultDesc": "Rejected"}


def test_an_accepted_validation_and_a_confirmation_answer_as_the_docs_show() -> None:
    accept = sample("c2b_validation_response_accept_daraja-docs.json")
    assert (
        c2b.answer("c2b-validation", "accepted")
        == accept
        == {"ResultCode": "0", "ResultDesc": "Accepted"}
    )
    assert c2b.answer("c2b-confirmation", "created") == {"ResultCode": 0, "ResultDesc": "Success"}
    assert c2b.answer("c2b-confirmation", "duplicate") == {"ResultCode": 0, "ResultDesc": "Success"}


def test_the_register_body_is_the_docs_sample() -> None:
    expected = sample("c2b_registerurl_request_daraja-docs.json")
    assert (
        c2b.register_payload(
            "600984",
            "Completed",
            "https://mydomain.com/confirmation",
            "https://mydomain.com/validation",
        )
        == expected
    )
    assert c2b.register_path("v1") == "/mpesa/c2b/v1/registerurl"
    assert c2b.register_path("v2") == "/mpesa/c2b/v2/registerurl"


def test_the_simulate_body_is_the_docs_sample() -> None:
    expected = sample("c2b_simulate_request_daraja-docs.json")
    body = c2b.simulate_payload("600984", "CustomerPayBillOnline", 100, "254708374149", "Test Ref")
    assert body == expected and [type(v) for v in body.values()] == [
        type(v) for v in expected.values()
    ]
    assert c2b.simulate_path("v2") == "/mpesa/c2b/v2/simulate"


@pytest.mark.parametrize(
    "call",
    [
        lambda: c2b.register_payload("600984", "completed", "https://a/c", "https://a/v"),
        lambda: c2b.register_path("v3"),
        lambda: c2b.simulate_payload("600984", "CustomerPayBillOnline", 150, "254708374149", ""),
        lambda: c2b.simulate_payload("600984", "BusinessPayment", 100, "254708374149", ""),
        lambda: c2b.simulate_payload("600984", "CustomerPayBillOnline", 100, "0708374149", ""),
    ],
)
def test_a_body_daraja_would_refuse_is_never_built(call: Any) -> None:
    with pytest.raises(ValueError):
        call()


@pytest.mark.parametrize(
    ("name", "originator", "description"),
    [
        ("c2b_registerurl_response_v1_daraja-docs.json", "7619-37765134-1", "success"),
        (
            "c2b_registerurl_response_v2_daraja-docs.json",
            "6e86-45dd-91ac-fd5d4178ab523408729",
            "Success",
        ),
        (
            "c2b_simulate_response_v2_daraja-docs.json",
            "53e3-4aa8-9fe0-8fb5e4092cdd3405976",
            "Accept the service request successfully.",
        ),
        (
            "c2b_simulate_response_Iankumu-2019.json",
            "10028-4198443-1",
            "Accept the service request successfully.",
        ),
    ],
)
def test_acknowledgements_are_read_with_safaricoms_spelling(
    name: str, originator: str, description: str
) -> None:
    assert c2b.acknowledgement(sample(name)) == c2b.Acknowledged(originator, description)


@pytest.mark.parametrize("body", [{"ResponseCode": "1", "ResponseDescription": "no"}, {}])
def test_anything_but_response_code_0_is_not_an_acknowledgement(body: dict[str, Any]) -> None:
    assert c2b.acknowledgement(body) is None


@pytest.mark.parametrize("kind", sorted(c2b.KINDS))
def test_the_callback_kinds_pass_darajas_url_rules(kind: str) -> None:
    assert (
        forbidden_callback_word(f"https://apg.example/webhooks/daraja/{'ab' * 20}/{kind}") is None
    )
