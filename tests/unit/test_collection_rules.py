"""What an account's validation rules let in, and which rules are refused before they are kept."""

from __future__ import annotations

import pytest

from apg.errors import InvalidRequestError
from apg.payments.collections import Decision, Rules, check, decide, evaluate
from apg.payments.ports import Incoming


def make_incoming(reference: str = "INV-1001", amount: int = 50000) -> Incoming:
    return Incoming(
        transaction_type="c2b_payment",
        payment_method_type="mpesa_c2b",
        amount=amount,
        currency="KES",
        receipt="RKL51ZDR4F",
        reference=reference,
        account_number="600966",
    )


PATTERN = Rules(account_number_pattern=r"INV-\d{4}")
LISTED = Rules(allowed_account_references=("Rent", "SCHOOL FEES"))
BOTH = Rules(account_number_pattern=r"INV-\d{4}", allowed_account_references=("DONATION",))
BOUNDS = Rules(min_amount=10000, max_amount=100000)
ACCOUNT, AMOUNT = "invalid_account_number", "invalid_amount"


@pytest.mark.parametrize(
    ("rules", "reference", "amount", "reason"),
    [
        (None, "", 1, None),  # no rules: everything is let in
        (Rules(), "anything", 1, None),
        (PATTERN, "INV-1001", 100, None),
        (PATTERN, " INV-1001 ", 100, None),  # surrounding spaces are the payer's, not the number
        (PATTERN, "INV-10011", 100, ACCOUNT),  # the whole number must match
        (PATTERN, "xINV-1001", 100, ACCOUNT),
        (PATTERN, "", 100, ACCOUNT),  # a till's empty BillRefNumber
        (LISTED, "rent", 100, None),  # any case
        (LISTED, "School Fees", 100, None),
        (LISTED, "Rent 2", 100, ACCOUNT),
        (BOTH, "donation", 100, None),  # on the list, or matching the pattern
        (BOTH, "INV-2002", 100, None),
        (BOTH, "GIFT", 100, ACCOUNT),
        (BOUNDS, "x", 10000, None),  # bounds are inclusive
        (BOUNDS, "x", 100000, None),
        (BOUNDS, "x", 9900, AMOUNT),
        (BOUNDS, "x", 100100, AMOUNT),
        (Rules(min_amount=0), "x", 0, None),
        (Rules(max_amount=5000), "x", 5000, None),
        (Rules(account_number_pattern="A", min_amount=100), "B", 1, ACCOUNT),  # the number first
    ],
)
def test_evaluate(rules: Rules | None, reference: str, amount: int, reason: str | None) -> None:
    decision = evaluate(rules, make_incoming(reference, amount))
    assert decision == Decision(reason is None, reason)


@pytest.mark.parametrize(
    ("decision", "verdict"),
    [
        (Decision(True), "accepted"),
        (Decision(False, "invalid_amount"), "rejected:invalid_amount"),
        (Decision(False, "invalid_account_number"), "rejected:invalid_account_number"),
    ],
)
def test_the_verdict_carries_the_reason(decision: Decision, verdict: str) -> None:
    assert decision.verdict == verdict


def test_a_payment_to_a_number_the_tenant_does_not_own_is_an_invalid_shortcode() -> None:
    assert decide("ten_1", None, make_incoming()) == "rejected:invalid_shortcode"


@pytest.mark.parametrize(
    ("rules", "param"),
    [
        (Rules(min_amount=200, max_amount=100), "min_amount"),
        (Rules(account_number_pattern="INV-("), "account_number_pattern"),
        (Rules(account_number_pattern="[a-"), "account_number_pattern"),
        (Rules(account_number_pattern="x" * 201), "account_number_pattern"),
        (Rules(account_number_pattern=r"(a+)+"), "account_number_pattern"),
        (Rules(account_number_pattern=r"(\d|\d\d)*"), "account_number_pattern"),
        (Rules(account_number_pattern=r"((ab)*c)+"), "account_number_pattern"),
        (Rules(account_number_pattern=r"(?:[A-Z]+\d?){2,}"), "account_number_pattern"),
        (Rules(allowed_account_references=("x",) * 1001), "allowed_account_references"),
    ],
)
def test_rules_that_cannot_work_are_refused_naming_the_field(rules: Rules, param: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        check(rules)
    assert info.value.param == param and info.value.status == 400


@pytest.mark.parametrize(
    "pattern",
    [
        r"INV-\d{4,8}",
        r"(INV|ORD)-\d+",
        r"(\d{3})+",  # an exact count inside is no repetition
        r"[(+*]+\d+",  # brackets and quantifiers inside a class are literals
        r"\(a+\)+",  # escaped parentheses are not a group
        r"(?i)acc\d+",
        r"([A-Z]{2})?\d+",  # an optional group is not repeated
    ],
)
def test_ordinary_patterns_are_kept(pattern: str) -> None:
    check(Rules(account_number_pattern=pattern))


def test_min_equal_to_max_is_one_amount() -> None:
    check(Rules(min_amount=500, max_amount=500))
