"""How a reversal is decided and what its Result says (samples/reversal_result_*_daraja-docs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from daraja_emulator.clock import eat_stamp
from daraja_emulator.ledger import UTILITY, Receipt
from daraja_emulator.money import shillings
from daraja_emulator.products import result_codes
from daraja_emulator.products.result_json import Decision, Item, Raw
from daraja_emulator.products.results import ResultTransaction, failure, refusal
from daraja_emulator.scenarios import Outcome

if TYPE_CHECKING:
    from daraja_emulator.products.reversal import ReversalRequest
    from daraja_emulator.runtime import Emulator

QUEUE_TIMEOUT_ITEM: Item = (
    "QueueTimeoutURL",
    "https://internalsandbox.safaricom.co.ke/mpesa/reversalresults/v1/submit",
)
SUCCESS_DESC = "The service request is processed successfully."
REVERSIBLE = ("stk", "c2b")  # customer payments; B2C cannot be reversed (API.md §5, §9)
REASON_TYPE = "Transaction Reversal via API"  # our wording


def decide(emulator: Emulator, transaction: ResultTransaction, at: float) -> Decision:
    """2001 (initiator), the scripted failure, R000002 (no such payment to ReceiverParty),
    R000001 (reversed before), 25 (Amount differs), 1 (Utility Account short), else reverse:
    the merchant's Utility Account gives the amount back."""
    request: ReversalRequest = transaction.details
    failed = refusal(transaction) or _rule_failure(emulator, request)
    if failed is not None:
        return failure(failed, at, reference=QUEUE_TIMEOUT_ITEM)
    original = emulator.books.receipt(request.transaction_id)
    assert original is not None  # _rule_failure checked it
    return _reverse(emulator, transaction, original, at)


def _rule_failure(emulator: Emulator, request: ReversalRequest) -> Outcome | None:
    original = emulator.books.receipt(request.transaction_id)
    if (
        original is None
        or original.kind not in REVERSIBLE
        or original.credit.identifier != request.receiver_party
    ):
        return Outcome(result_codes.ORIGINAL_TRANSACTION_INVALID)
    if original.reversed_by is not None:
        return Outcome(result_codes.ALREADY_REVERSED)
    if request.amount != original.amount:
        return Outcome(result_codes.INVALID_PARAMETERS)
    if emulator.books.balances(request.receiver_party)[UTILITY] < original.amount * 100:
        return Outcome(result_codes.INSUFFICIENT_FUNDS)
    return None


def _reverse(
    emulator: Emulator, transaction: ResultTransaction, original: Receipt, at: float
) -> Decision:
    books, receipt, cents = emulator.books, transaction.receipt_at(at), original.amount * 100
    merchant = original.credit.identifier
    books.post(at, receipt, f"Reversal of {original.receipt}", [(merchant, UTILITY, -cents)])
    books.mark_reversed(original.receipt, receipt)
    books.add_receipt(
        Receipt(
            receipt=receipt,
            kind="reversal",
            amount=original.amount,
            debit=original.credit,
            credit=original.debit,
            debit_account_type=UTILITY,
            charges="",
            reason_type=REASON_TYPE,
            initiated_at=transaction.accepted_at,
            finalised_at=at,
            conversation_id=transaction.conversation_id,
            originator_conversation_id=transaction.originator_conversation_id,
        )
    )
    utility = shillings(books.balances(merchant)[UTILITY])
    parameters: list[Item] = [  # numbers printed as in the docs sample (1.00, 0.00)
        ("DebitAccountBalance", f"{UTILITY}|KES|{utility}|{utility}|0.00|0.00"),
        ("Amount", Raw(shillings(cents))),
        ("TransCompletedTime", Raw(eat_stamp(at))),
        ("OriginalTransactionID", original.receipt),
        ("Charge", Raw("0.00")),
        ("CreditPartyPublicName", original.debit.public_name),
        ("DebitPartyPublicName", original.credit.public_name),
    ]
    return Decision(result_codes.SUCCESS, SUCCESS_DESC, receipt, parameters, QUEUE_TIMEOUT_ITEM)
