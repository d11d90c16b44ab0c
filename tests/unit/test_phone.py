"""Kenyan MSISDN normalisation."""

from __future__ import annotations

import pytest

from apg.payments.phone import InvalidPhoneNumber, normalise_msisdn


@pytest.mark.parametrize(
    ("raw", "msisdn"),
    [
        ("0708374149", "254708374149"),
        ("708374149", "254708374149"),
        ("+254708374149", "254708374149"),
        ("254708374149", "254708374149"),
        ("0708 374 149", "254708374149"),
        ("+254-708-374-149", "254708374149"),
        ("0110123456", "254110123456"),
        ("110123456", "254110123456"),
        ("254110123456", "254110123456"),
        ("+254 110 123 456", "254110123456"),
    ],
)
def test_accepted_forms(raw: str, msisdn: str) -> None:
    assert normalise_msisdn(raw) == msisdn


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "0712",
        "07083741499",  # one digit too many
        "0208374149",  # Nairobi landline
        "+255712345678",  # Tanzania
        "+14155552671",
        "07O8374149",  # letter O
        "2540708374149",
        "not a number",
    ],
)
def test_rejected_numbers(raw: str) -> None:
    with pytest.raises(InvalidPhoneNumber):
        normalise_msisdn(raw)
