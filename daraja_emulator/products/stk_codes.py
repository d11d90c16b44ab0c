"""STK Push result codes and the ResultDesc text Daraja sends with each (API.md §2.2)."""

from __future__ import annotations

SUCCESS = 0
NO_ANSWER = 1037
PROMPT_TOO_LONG = 1025
PRODUCT_MISMATCH = 2028

# 2022+ wording, without the "[STK_CB - ]" / "[MpesaCB - ]" prefixes of 2019 traffic.
RESULT_DESCRIPTIONS: dict[int | str, str] = {
    0: "The service request is processed successfully.",
    1: "The balance is insufficient for the transaction.",
    2: "Declined due to limit rule.",
    3: "Declined due to limit rule: greater than the maximum transaction amount.",
    4: "Declined due to limit rule: would exceed daily transfer limit.",
    8: "Declined due to limit rule: would exceed the maximum balance.",
    17: "Rule limited.",
    26: "Traffic blocking condition in place",
    1001: (
        "Unable to lock subscriber, a transaction is already in process for the current subscriber"
    ),
    1019: "Transaction has expired",
    1025: "An error occurred while sending a push request.",
    1032: "Request cancelled by user",
    1036: "SMSC ACK timeout.",
    1037: "DS timeout user cannot be reached",
    2001: "The initiator information is invalid.",
    2028: "The request is not permitted according to product assignment.",
    8006: "The security credential is locked.",
    9999: "Unable to send STK",
    "SFC_IC0003": "The operator does not exist.",
}


def normalize_result_code(code: int | str) -> int | str:
    """Return numeric codes as int ("1032" -> 1032); alphanumeric codes stay strings."""
    if isinstance(code, str) and code.isascii() and code.isdigit():
        return int(code)
    return code


def describe(code: int | str) -> str | None:
    """The standard ResultDesc for a code, or None when the table has no text for it."""
    return RESULT_DESCRIPTIONS.get(normalize_result_code(code))
