"""Cross-checks of M-Pesa reports against what was asked: receipts' shape, parties' numbers,
each product's sample passing for the operation it reports on and failing for another one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from apg.payments.lifecycle import PaymentStatus
from apg.payments.ports import Operation, Outcome
from apg.processors.mpesa.products import b2b, b2c, c2b, checks, evidence, reversal, status, stk

SAMPLES = Path(__file__).parent.parent / "fixtures" / "daraja"
OURS = frozenset({"600000"})


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / name).read_text())  # type: ignore[no-any-return]


def raw(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


def operation(transaction_type: str, **fields: Any) -> Operation:
    values: dict[str, Any] = {
        "id": "pay_1",
        "tenant_id": "ten_1",
        "account_id": "mpa_1",
        "transaction_type": transaction_type,
        "amount": 100,
        "currency": "KES",
        "reference": "INV-1",
        **fields,
    }
    return Operation(**values)


def result_outcome(product: Any, body: dict[str, Any]) -> Outcome:
    event = product.parse_result(raw(body))
    assert event.outcome is not None
    return event.outcome  # type: ignore[no-any-return]


# --- receipts and parties ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "receipt", ["QKH94M1Z11", "LGR7OWQX0R", "NCB9FJNAIT", "SG632NMUAB", "SKE52PAWR9", None]
)
def test_a_receipt_of_ten_upper_case_letters_and_digits_passes(receipt: str | None) -> None:
    assert evidence.receipt_problems(receipt) == []


@pytest.mark.parametrize(
    ("receipt", "why"),
    [
        ("qkh94m1z11", "upper-case"),
        ("QKH94M1Z1", "upper-case"),  # 9 characters
        ("QKH94M1Z111", "upper-case"),  # 11
        ("1234567890", "upper-case"),  # no year letter
        ("QKH-4M1Z11", "upper-case"),
        ("OA90000000", "placeholder"),  # what a failed Result carries: never money
    ],
)
def test_anything_else_is_not_a_receipt_of_moved_money(receipt: str, why: str) -> None:
    [problem] = evidence.receipt_problems(receipt)
    assert why in problem


@pytest.mark.parametrize(
    ("name", "number"),
    [
        ("254708374149 - John Doe", "254708374149"),
        ("603094 - Safaricom3117", "603094"),
        ("000000\u2013 Biller Companty", "000000"),  # the B2B docs sample
        ("2547 ***** 126 - NICHOLAS", "2547*****126"),
        (254708374149, "254708374149"),  # STK's PhoneNumber is a JSON number
        ("3 Brothers Ltd", None),
        ("Safaricom3117", None),
        ("", None),
        (None, None),
    ],
)
def test_the_number_a_party_is_named_by(name: Any, number: str | None) -> None:
    assert evidence.number_in(name) == number


@pytest.mark.parametrize(
    ("shown", "expected", "same"),
    [
        ("254708374149", "254708374149", True),
        ("0708374149", "254708374149", True),
        ("254708374148", "254708374149", False),
        ("2547******49", "254708374149", True),
        ("2547******48", "254708374149", False),
        ("2547*****149", "254708374149", True),
        ("2547***149", "254708374149", True),  # a mask shorter than what it hides
        ("2548***149", "254708374149", False),
        ("600000", "600000", True),
        ("600001", "600000", False),
    ],
)
def test_only_the_digits_shown_are_compared(shown: str, expected: str, same: bool) -> None:
    assert evidence.same_number(shown, expected) is same


# --- each product's official success, for its own operation and for another ------------------


def test_an_stk_callback_names_the_phone_the_push_went_to() -> None:
    event = stk.parse_callback(raw(sample("stk_callback_success_daraja-docs.json")))
    assert event.outcome is not None
    ours = operation("stk_push", phone_number="254708374149")
    assert checks.mismatches(ours, event.outcome, OURS) == ()
    other = operation("stk_push", phone_number="254711111111")
    assert checks.mismatches(other, event.outcome, OURS) == (
        "PhoneNumber 254708374149 is not 254711111111",
    )


def test_a_b2c_result_names_the_phone_paid() -> None:
    outcome = result_outcome(b2c, sample("b2c_result_success_daraja-docs-2024.json"))
    assert (
        checks.mismatches(operation("b2c_payment", phone_number="254705912645"), outcome, OURS)
        == ()
    )
    [problem] = checks.mismatches(
        operation("b2c_payment", phone_number="254708374149"), outcome, OURS
    )
    assert problem == "the payee 254705912645 is not 254708374149"


def test_a_b2c_result_whose_two_receipts_differ_cannot_be_trusted() -> None:
    body = sample("b2c_result_success_daraja-docs-2024.json")
    body["Result"]["TransactionID"] = "SG632NMUAC"
    assert result_outcome(b2c, body).problems == (
        "TransactionReceipt 'SG632NMUAB' is not the TransactionID",
    )


def test_a_b2b_result_names_the_shortcode_paid_and_the_bill_reference_given() -> None:
    outcome = result_outcome(b2b, sample("b2b_result_success_ghostscypher-2017.json"))
    asked = {"receiver_shortcode": "603094", "account_reference": "aaa"}
    assert checks.mismatches(operation("b2b_payment", details=asked), outcome, OURS) == ()
    other = {"receiver_shortcode": "603095", "account_reference": "bbb"}
    assert checks.mismatches(operation("b2b_payment", details=other), outcome, OURS) == (
        "the payee 603094 is not 603095",
        "BillReferenceNumber 'aaa' is not the 'bbb' asked for",
    )


def test_a_reversal_result_names_the_receipt_reversed_and_our_shortcode() -> None:
    outcome = result_outcome(reversal, sample("reversal_result_success_daraja-docs.json"))
    asked = operation("reversal", details={"transaction_id": "SKC82PACB8"})
    assert checks.mismatches(asked, outcome, frozenset({"600992"})) == ()
    other = operation("reversal", details={"transaction_id": "SKC82PACB9"})
    assert checks.mismatches(other, outcome, frozenset({"600993"})) == (
        "OriginalTransactionID 'SKC82PACB8' is not the 'SKC82PACB9' asked for",
        "the payer 600992 is not 600993",
    )


def test_the_2017_reversal_result_names_nothing_to_compare() -> None:
    outcome = result_outcome(reversal, sample("reversal_result_ghostscypher-2017.json"))
    assert checks.mismatches(operation("reversal"), outcome, OURS) == ()  # (its amount: review)


def test_a_status_result_names_the_transaction_asked_about() -> None:
    outcome = result_outcome(status, sample("transactionstatus_result_success_daraja-docs.json"))
    asked = operation(
        "transaction_status", amount=None, details={"original_conversation_id": "3211-416020-3"}
    )
    assert checks.mismatches(asked, outcome, frozenset({"600310"})) == ()
    other = operation("transaction_status", details={"transaction_id": "MBN31H462M"})
    assert checks.mismatches(other, outcome, frozenset({"600311"})) == (
        "ReceiptNo 'MBN31H462N' is not the 'MBN31H462M' asked for",
        "neither party (600310, 254708374149) is 600311",
    )


def test_what_a_status_query_found_is_checked_as_the_payout_it_settles() -> None:
    """Reconciliation settles a payout with a status Result's fields (reconcile_answers)."""
    found = result_outcome(status, sample("transactionstatus_result_success_daraja-docs.json"))
    settling = Outcome(
        PaymentStatus.COMPLETED,
        receipt="MBN31H462N",
        amount=30000,
        settles=True,
        detail=found.detail,
    )
    payout = operation("b2c_payment", phone_number="254708374149")
    assert checks.mismatches(payout, settling, frozenset({"600310"})) == ()
    other = operation("b2c_payment", phone_number="254708374148")
    assert checks.mismatches(other, settling, frozenset({"600311"})) == (
        "the payee 254708374149 is not 254708374148",
        "the payer 600310 is not 600311",
    )


# --- C2B ----------------------------------------------------------------------------------------


def test_a_c2b_confirmation_with_a_real_receipt_has_no_problem() -> None:
    event = c2b.parse_confirmation(raw(sample("c2b_confirmation_v2_masked_daraja-docs.json")))
    assert event.incoming is not None and event.incoming.problems == ()


@pytest.mark.parametrize("trans_id", ["rkl51zdr4f", "RKL51ZDR4", "TX-1", "RKL0000000"])
def test_a_c2b_confirmation_whose_trans_id_is_no_receipt_carries_the_problem(
    trans_id: str,
) -> None:
    body = sample("c2b_confirmation_v2_masked_daraja-docs.json") | {"TransID": trans_id}
    event = c2b.parse_confirmation(raw(body))
    assert event.incoming is not None and len(event.incoming.problems) == 1


def test_a_receipt_longer_than_any_receipt_is_dropped_and_said() -> None:
    """payment_transactions.receipt keeps 32 characters: a longer one is no receipt (a success
    carrying it is held for review), never a database error."""
    outcome = Outcome(status=PaymentStatus.COMPLETED, receipt="R" * 33, amount=100, settles=True)
    assert outcome.receipt is None
    assert outcome.problems == ("receipt 'RRRRRRRRRRRR'… is longer than 32 characters",)
    assert Outcome(status=PaymentStatus.COMPLETED, receipt="R" * 32).receipt == "R" * 32
