"""Result codes of the initiator APIs (B2C, B2B, balance, status, reversal) and their texts."""

from __future__ import annotations

from daraja_emulator.products import stk_codes

SUCCESS = 0
INSUFFICIENT_FUNDS = 1
BELOW_MINIMUM = 2
INVALID_PARAMETERS = 25
INITIATOR_INVALID = 2001
RECEIPT_NOT_FOUND = 2032
OPERATOR_DOES_NOT_EXIST = "SFC_IC0003"
ALREADY_REVERSED = "R000001"
ORIGINAL_TRANSACTION_INVALID = "R000002"
QUEUE_TIMEOUT = 26  # see NOTES.md "QueueTimeOutURL": our choice, the reference has no sample

# Codes only a customer's handset produces (a prompt cancelled, unanswered, …): meaningless for
# a payout or a query, so an MSISDN scripted with one of them gets a success there.
HANDSET_ONLY = frozenset({1001, 1019, 1025, 1032, 1036, 1037, 9999})

# API.md §5, §8, §9, §14 give meanings; texts not quoted there are ours (NOTES.md).
RESULT_DESCRIPTIONS: dict[int | str, str] = {
    11: "The DebitParty is in an invalid state.",
    21: "The initiator is not allowed to initiate this request.",
    25: "Invalid request parameters",
    2006: "Declined due to account rule: The account status does not allow this transaction.",
    2032: "The transaction receipt number does not exist.",
    2040: (
        "Credit Party customer type (Unregistered or Registered Customer) can't be supported "
        "by the service."
    ),
    "R000001": "The transaction has already been reversed.",
    "R000002": "The OriginalTransactionID is invalid.",
}
QUEUE_TIMEOUT_DESCRIPTION = "The request timed out while awaiting processing in the queue."


def describe(code: int | str) -> str | None:
    """The ResultDesc for a code of any product (STK texts first), or None if unknown."""
    normalized = stk_codes.normalize_result_code(code)
    return stk_codes.describe(normalized) or RESULT_DESCRIPTIONS.get(normalized)
