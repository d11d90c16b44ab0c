"""Every official Result sample parses to the right status, refs, receipt, cents and fields."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from apg.payments.lifecycle import PaymentStatus
from apg.payments.ports import CallbackRejected, Outcome, ProcessorEvent, Ref
from apg.processors.mpesa import mapping
from apg.processors.mpesa.products import b2b, b2c, balance, results, reversal, status
from apg.processors.mpesa.products.base import CONVERSATION, ORIGINATOR, AsyncProduct

SAMPLES = Path(__file__).parent.parent / "fixtures" / "daraja"
COMPLETED, FAILED = PaymentStatus.COMPLETED, PaymentStatus.FAILED


def sample(name: str) -> bytes:
    """The sample's bytes as published (escaped slashes, odd spacing and all)."""
    return (SAMPLES / name).read_bytes()


def parsed(product: AsyncProduct, name: str) -> tuple[tuple[Ref, ...], Outcome]:
    event = product.parse_result(sample(name))
    assert event.outcome is not None
    return event.refs, event.outcome


def with_code(product: AsyncProduct, name: str, code: str) -> Outcome:
    """The sample with another ResultCode, parsed."""
    body = json.loads(sample(name))
    body["Result"]["ResultCode"] = code
    event = product.parse_result(json.dumps(body).encode())
    assert event.outcome is not None
    return event.outcome


def refs(originator: str, conversation: str) -> tuple[Ref, ...]:
    return (Ref(ORIGINATOR, originator), Ref(CONVERSATION, conversation))


def at(year: int, month: int, day: int, hour: int, minute: int, second: int) -> datetime:
    """A wall-clock time in Nairobi (EAT, UTC+3), as aware UTC."""
    return datetime(year, month, day, hour, minute, second, tzinfo=mapping.EAT).astimezone(UTC)


def test_b2c_success_2024_docs() -> None:
    found, outcome = parsed(b2c, "b2c_result_success_daraja-docs-2024.json")
    assert found == refs("53e3-4aa8-9fe0-8fb5e4092cdd3533373", "AG_20240706_2010364430d9bbdaf872")
    assert outcome == Outcome(
        status=COMPLETED,
        result_code="0",
        result_desc="The service request is processed successfully.",
        receipt="SG632NMUAB",
        amount=1000,
        transaction_date=at(2024, 7, 6, 22, 48, 52),
        settles=True,
        detail={
            "receiver_public_name": "254705912645 - NICHOLAS JOHN SONGOK",
            "recipient_is_registered": True,
            "utility_account_available_funds": 895926960,
            "working_account_available_funds": 119937100,
            "charges_paid_account_available_funds": -198000,
        },
    )


@pytest.mark.parametrize(
    ("source", "receipt", "cents", "completed", "charges"),
    [
        ("Iankumu-2019", "NAJ41H7YJQ", 10000, at(2019, 1, 19, 17, 1, 27), -49500),
        ("ghostscypher-2017", "LGH3197RIB", 800000, at(2017, 7, 17, 10, 54, 57), 0),
        ("jwambugu-2019", "NLJ41HAY6Q", 1000, at(2019, 12, 19, 11, 45, 50), -451000),  # \/
    ],
)
def test_b2c_successes_of_every_era(
    source: str, receipt: str, cents: int, completed: datetime, charges: int
) -> None:
    _, outcome = parsed(b2c, f"b2c_result_success_{source}.json")
    assert (outcome.status, outcome.receipt, outcome.amount) == (COMPLETED, receipt, cents)
    assert outcome.transaction_date == completed
    assert outcome.detail["charges_paid_account_available_funds"] == charges
    assert outcome.problems == ()


def test_b2c_failure_has_no_receipt_though_it_has_a_transaction_id() -> None:
    found, outcome = parsed(b2c, "b2c_result_failure_2001_daraja-docs.json")
    assert found == refs("53e3-4aa8-9fe0-8fb5e4092cdd3544366", "AG_20240707_201062f6f6f5804f7a33")
    assert (outcome.status, outcome.result_code) == (FAILED, "2001")
    assert outcome.result_desc == "The initiator information is invalid."
    assert (outcome.receipt, outcome.amount, outcome.transaction_date) == (None, None, None)
    assert set(outcome.detail.values()) == {None}


@pytest.mark.parametrize(
    ("code", "expected"), [("0", COMPLETED), ("1", FAILED), ("SFC_IC0003", FAILED)]
)
def test_b2c_result_codes(code: str, expected: PaymentStatus) -> None:
    outcome = with_code(b2c, "b2c_result_failure_2001_daraja-docs.json", code)
    assert (outcome.status, outcome.result_code) == (expected, code)


def test_b2c_success_with_an_unreadable_amount_says_why() -> None:
    body = json.loads(sample("b2c_result_success_daraja-docs-2024.json"))
    body["Result"]["ResultParameters"]["ResultParameter"][0]["Value"] = "ten"
    event = b2c.parse_result(json.dumps(body).encode())
    assert event.outcome is not None
    assert event.outcome.amount is None
    assert event.outcome.problems == ("TransactionAmount 'ten' is not a number",)


@pytest.mark.parametrize(
    ("value", "read"),
    [
        ("06.07.2024 22:48:52", at(2024, 7, 6, 22, 48, 52)),
        ("20240706224852", None),
        ("31.02.2024 10:00:00", None),
        (20240706, None),
        (None, None),
    ],
)
def test_b2c_completion_time_is_day_first_in_nairobi(value: Any, read: datetime | None) -> None:
    assert b2c.completed_at(value) == read


def test_b2b_success_docs_with_string_codes() -> None:
    found, outcome = parsed(b2b, "b2b_result_success_daraja-docs.json")
    assert found == refs("626f6ddf-ab37-4650-b882-b1de92ec9aa4", "12345677dfdf89099B3")
    assert outcome == Outcome(
        status=COMPLETED,
        result_code="0",
        result_desc="The service request is processed successfully",
        receipt="QKA81LK5CY",
        amount=19000,
        transaction_date=at(2022, 11, 10, 11, 7, 17),
        settles=True,
        detail={
            "receiver_public_name": "000000\u2013 Biller Companty",  # the docs' en dash
            "currency": "KES",
            "debit_account_balance": 618683,
            "initiator_account_balance": 618683,
            "debit_party_affected_account": {
                "name": "Working Account",
                "currency": "KES",
                "current": 34656883,
                "available": 618683,
                "reserved": 34038200,
                "uncleared": 0,
            },
            "debit_party_charges": None,
            "bill_reference_number": "19008",
        },
    )


def test_b2b_success_2017_with_the_older_balance_key_and_a_charge() -> None:
    found, outcome = parsed(b2b, "b2b_result_success_ghostscypher-2017.json")
    assert found == refs("8551-61996-3", "AG_20170727_00006baee344f4ce0796")
    assert (outcome.status, outcome.receipt, outcome.amount) == (COMPLETED, "LGR519G2QV", 1000)
    assert outcome.transaction_date == at(2017, 7, 27, 10, 25, 24)
    assert outcome.detail["debit_account_balance"] == 4671300
    assert outcome.detail["initiator_account_balance"] == 4671300
    assert outcome.detail["debit_party_charges"] == 7700
    assert outcome.detail["receiver_public_name"] == "603094 - Safaricom3117"
    assert outcome.detail["bill_reference_number"] == "aaa"


def test_b2b_failure_with_a_single_parameter_object() -> None:
    found, outcome = parsed(b2b, "b2b_result_failure_2001_daraja-docs.json")
    assert found == refs("12337-23509183-5", "AG_20200120_0000657265d5fa9ae5c0")
    assert (outcome.status, outcome.result_code) == (FAILED, "2001")
    assert (outcome.receipt, outcome.amount) == (None, None)  # OAK0000000 is a placeholder


@pytest.mark.parametrize(
    ("value", "cents"),
    [
        ("{Amount={CurrencyCode=KES, MinimumAmount=618683, BasicAmount=6186.83}}", 618683),
        ("{ Amount={BasicAmount=46713.00, MinimumAmount=4671300, CurrencyCode=KES}}", 4671300),
        ("{Amount={CurrencyCode=KES, MinimumAmount=618683}}", 618683),
        ("{Amount={CurrencyCode=KES}}", None),
        ("", None),
        (None, None),
    ],
)
def test_b2b_braced_balances_read_in_any_field_order(value: Any, cents: int | None) -> None:
    assert b2b.basic_amount(value) == cents


ACCOUNTS_2020 = [
    ("Working Account", 70000000, 70000000),
    ("Float Account", 0, 0),
    ("Utility Account", 22803700, 22803700),
    ("Charges Paid Account", -154000, -154000),
    ("Organization Settlement Account", 0, 0),
]


def test_balance_docs_sample_lists_every_account_in_cents() -> None:
    found, outcome = parsed(balance, "accountbalance_result_daraja-docs.json")
    assert found == refs("16917-22577599-3", "AG_20200206_00005e091a8ec6b9eac5")
    assert (outcome.status, outcome.result_code, outcome.settles) == (COMPLETED, "0", False)
    assert (outcome.receipt, outcome.amount, outcome.problems) == (None, None, ())
    assert set(outcome.detail) == {"accounts", "completed_at"}
    assert outcome.detail["completed_at"] == "2020-01-09T09:57:10+00:00"
    accounts = outcome.detail["accounts"]
    assert [(a["name"], a["current"], a["available"]) for a in accounts] == ACCOUNTS_2020
    assert accounts[0] == {
        "name": "Working Account",
        "currency": "KES",
        "current": 70000000,
        "available": 70000000,
        "reserved": 0,
        "uncleared": 0,
    }


def test_balance_2017_sample_with_a_numeric_time() -> None:
    _, outcome = parsed(balance, "accountbalance_result_ghostscypher-2017.json")
    assert outcome.detail["completed_at"] == "2017-07-28T06:56:42+00:00"
    assert [a["available"] for a in outcome.detail["accounts"]] == [4671300, 0, 4921700, -22000, 0]


def test_balance_skips_an_unreadable_account_and_says_so() -> None:
    found, problems = balance.accounts(
        "Working Account|KES|1.00|1.00|0.00|0.00&garbage&|KES|1|1|1|1"
    )
    assert [a["name"] for a in found] == ["Working Account"]
    assert problems == ("AccountBalance entry 2 unreadable", "AccountBalance entry 3 unreadable")


def test_balance_account_with_an_odd_number_keeps_the_others() -> None:
    line = balance.account("Merchant Account|KES|x|5.00|0.00|0.00")
    assert line is not None
    assert (line["current"], line["available"]) == (None, 500)


STATUS_2018 = {
    "debit_party_name": "600310 - Safaricom333",
    "credit_party_name": "254708374149 - John Doe",
    "originator_conversation_id": "3211-416020-3",
    "initiated_time": "2018-02-23T02:41:12+00:00",
    "debit_account_type": "Utility Account",
    "debit_party_charges": 2240,
    "transaction_reason": None,
    "reason_type": "Business Payment to Customer via API",
    "transaction_status": "Completed",
    "finalised_time": "2018-02-23T02:41:12+00:00",
    "amount": 30000,
    "conversation_id": "AG_20180223_000041b09c22e613d6c9",
    "receipt_no": "MBN31H462N",
    "occasion": None,
}


@pytest.mark.parametrize(
    "name",
    [
        "transactionstatus_result_success_Iankumu-2018.json",
        "transactionstatus_result_success_daraja-docs.json",  # strings, DebitPartyName twice
    ],
)
def test_status_2018_sample_in_both_copies(name: str) -> None:
    found, outcome = parsed(status, name)
    assert found == refs("3213-416199-2", "AG_20180223_0000493344ae97d86f75")
    assert outcome == Outcome(
        status=COMPLETED,
        result_code="0",
        result_desc="The service request is processed successfully.",
        detail=STATUS_2018,
    )


def test_status_2017_sample_with_spaced_keys_and_finalized_time() -> None:
    _, outcome = parsed(status, "transactionstatus_result_success_ghostscypher-2017.json")
    assert outcome.detail == {
        "debit_party_name": "600134 - Safaricom157",
        "credit_party_name": "254708374149 - John Doe",
        "originator_conversation_id": "19455-773836-1",
        "initiated_time": "2017-07-27T07:14:15+00:00",
        "debit_account_type": "Utility Account",
        "debit_party_charges": 3300,
        "transaction_reason": None,
        "reason_type": "Salary Payment via API",
        "transaction_status": "Completed",
        "finalised_time": "2017-07-27T07:14:15+00:00",
        "amount": 1000,
        "conversation_id": "AG_20170727_00004492b1b6d0078fbe",
        "receipt_no": "LGR919G2AV",
        "occasion": "aaaa",
    }
    assert (outcome.receipt, outcome.amount, outcome.settles) == (None, None, False)


def test_status_failure_for_an_unknown_operator() -> None:
    outcome = with_code(status, "b2c_result_failure_2001_daraja-docs.json", "SFC_IC0003")
    assert (outcome.status, outcome.result_code, outcome.detail["receipt_no"]) == (
        FAILED,
        "SFC_IC0003",
        None,
    )


def test_reversal_success_docs() -> None:
    found, outcome = parsed(reversal, "reversal_result_success_daraja-docs.json")
    assert found == refs("dad6-4c34-8787-c8cb963a496d1268232", "AG_20211114_201018edbbf9f1582eaa")
    assert outcome == Outcome(
        status=COMPLETED,
        result_code="0",
        result_desc="The service request is processed successfully.",
        receipt="SKE52PAWR9",
        amount=100,
        transaction_date=at(2021, 11, 14, 13, 27, 11),
        settles=True,
        detail={
            "original_transaction_id": "SKC82PACB8",
            "charge": 0,
            "debit_party_public_name": "600992 - Safaricom Daraja 992",
            "credit_party_public_name": "254705912645 - NICHOLAS JOHN SONGOK",
            "debit_account_balance": {
                "name": "Utility Account",
                "currency": "KES",
                "current": 772217962,
                "available": 772217962,
                "reserved": 0,
                "uncleared": 0,
            },
        },
    )


def test_reversal_2017_success_has_no_parameters_so_no_amount_evidence() -> None:
    _, outcome = parsed(reversal, "reversal_result_ghostscypher-2017.json")
    assert (outcome.status, outcome.receipt, outcome.amount) == (COMPLETED, "LGR019G3J2", None)
    assert outcome.settles  # events.evidence_problems then holds it for review: amount missing


@pytest.mark.parametrize("code", ["R000001", "R000002", "2001"])
def test_reversal_failures_keep_their_code(code: str) -> None:
    outcome = with_code(reversal, "reversal_result_failure_R000002_daraja-docs.json", code)
    assert (outcome.status, outcome.result_code, outcome.receipt) == (FAILED, code, None)


def test_reversal_invalid_original_docs_sample() -> None:
    found, outcome = parsed(reversal, "reversal_result_failure_R000002_daraja-docs.json")
    assert found == refs("3124-481d-b706-10bdd6fbc8e21792398", "AG_20211114_2010573069aefb6b625a")
    assert (outcome.status, outcome.result_code) == (FAILED, reversal.INVALID_ORIGINAL)


RESULTS: list[tuple[AsyncProduct, str]] = [
    (b2c, "b2c_result_success_daraja-docs-2024.json"),
    (b2c, "b2c_result_failure_2001_daraja-docs.json"),
    (b2b, "b2b_result_success_daraja-docs.json"),
    (b2b, "b2b_result_failure_2001_daraja-docs.json"),
    (balance, "accountbalance_result_daraja-docs.json"),
    (status, "transactionstatus_result_success_daraja-docs.json"),
    (reversal, "reversal_result_success_daraja-docs.json"),
    (reversal, "reversal_result_failure_R000002_daraja-docs.json"),
]


@pytest.mark.parametrize(("product", "name"), RESULTS)
def test_every_detail_is_plain_json(product: AsyncProduct, name: str) -> None:
    _, outcome = parsed(product, name)
    assert json.loads(json.dumps(outcome.detail)) == outcome.detail


@pytest.mark.parametrize(("product", "name"), RESULTS)
def test_a_waiting_result_applies_nothing(product: AsyncProduct, name: str) -> None:
    body = json.loads(sample(name))
    body["Result"]["ResultType"] = 1
    event = product.parse_result(json.dumps(body).encode())
    assert event == ProcessorEvent(event.refs, None)
    assert event.refs


ACKS = ["b2c_response_daraja-docs.json", "b2c_response_Iankumu-2019.json"] + [
    f"{product}_response_daraja-docs.json"
    for product in ("b2b", "accountbalance", "transactionstatus", "reversal")
]


@pytest.mark.parametrize("name", ACKS)
@pytest.mark.parametrize("product", [b2c, b2b, balance, status, reversal])
def test_every_ack_sample_is_accepted_with_both_refs(product: AsyncProduct, name: str) -> None:
    ack = json.loads(sample(name))
    expected = refs(ack["OriginatorConversationID"], ack["ConversationID"])
    assert product.accepted_refs(ack) == expected


def test_an_error_envelope_is_no_ack() -> None:
    error = json.loads(sample("b2c_error_500_duplicate_occid_daraja-docs.json"))
    assert b2c.accepted_refs(error) is None


def test_a_queue_timeout_notice_parses_for_any_product() -> None:
    body = {"Result": {"OriginatorConversationID": "txn_01HZX", "ConversationID": "AG_20240706_x"}}
    event = results.parse_timeout(json.dumps(body).encode())
    assert event == ProcessorEvent(
        refs("txn_01HZX", "AG_20240706_x"), Outcome(PaymentStatus.TIMEOUT)
    )


@pytest.mark.parametrize("product", [b2c, b2b, balance, status, reversal])
def test_an_stk_callback_is_not_a_result(product: AsyncProduct) -> None:
    with pytest.raises(CallbackRejected, match="Result is missing"):
        product.parse_result(sample("stk_callback_success_daraja-docs.json"))
