"""Which of Daraja's 500.001.1001 answers are our configuration, a busy customer, or a no."""

from __future__ import annotations

import pytest

from apg.payments.ports import Misconfigured, Refused
from apg.processors.mpesa.products.stk import classify_refusal

LOCKED = "Unable to lock subscriber, a transaction is already in process for the current subscriber"


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        ("500.001.1001", "Wrong credentials", Misconfigured("passkey")),
        ("500.001.1001", "[MerchantValidate] - Wrong credentials", Misconfigured("passkey")),
        ("500.001.1001", "Merchant does not exist", Misconfigured("shortcode")),
        ("500.001.1001", LOCKED, Refused("500.001.1001", LOCKED, retry_after_seconds=60)),
        ("500.001.1001", "Internal Server Error", Refused("500.001.1001", "Internal Server Error")),
        ("400.002.02", "Bad Request - Wrong credentials", None),  # another code: a plain no
        ("500.003.02", "Spike Arrest Violation", None),
    ],
)
def test_classify_refusal(code: str, message: str, expected: object) -> None:
    refused = Refused(code, message)
    answer = classify_refusal(refused)
    if expected is None:
        assert answer == refused
    elif isinstance(expected, Misconfigured):
        assert answer == Misconfigured(expected.setting, code, message)
    else:
        assert answer == expected
