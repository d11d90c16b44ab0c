"""How a B2C payout is decided and what its Result says (samples/b2c_result_*_daraja-docs*)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from daraja_emulator.clock import to_eat
from daraja_emulator.ledger import CHARGES, UTILITY, WORKING, Receipt
from daraja_emulator.money import shillings
from daraja_emulator.products import parties, result_codes
from daraja_emulator.products.result_json import Decision, Item, Raw
from daraja_emulator.products.results import ResultTransaction, failure, refusal
from daraja_emulator.scenarios import Outcome

if TYPE_CHECKING:
    from daraja_emulator.products.b2c import B2CRequest
    from daraja_emulator.runtime import Emulator

MINIMUM_AMOUNT = 10  # API.md §5, docs FAQ
QUEUE_TIMEOUT_ITEM: Item = (
    "QueueTimeoutURL",
    "https://internalsandbox.safaricom.co.ke/mpesa/b2cresults/v1/submit",
)
SUCCESS_DESC = "The service request is processed successfully."
REASON_TYPES = {
    "BusinessPayment": "Business Payment to Customer via API",
    "SalaryPayment": "Salary Payment via API",
    "PromotionPayment": "Promotion Payment via API",
}
# Our own fee bands (whole shillings up to, fee in cents); Safaricom's tariff is not in the
# reference. The fee is debited from the Charges Paid Account, which goes negative.
FEE_BANDS = ((100, 0), (1_500, 500), (5_000, 900), (20_000, 1_100))
TOP_FEE = 1_300


def fee_cents(amount: int) -> int:
    return next((fee for limit, fee in FEE_BANDS if amount <= limit), TOP_FEE)


def decide(emulator: Emulator, transaction: ResultTransaction, at: float) -> Decision:
    """2001 (initiator), the scripted failure, 2 (below KES 10), 1 (Utility Account short),
    else pay: Utility Account - amount, Charges Paid Account - fee, a receipt."""
    request: B2CRequest = transaction.details
    failed = refusal(transaction) or _rule_failure(emulator, request)
    if failed is not None:
        return failure(
            failed,
            at,
            transaction_id=transaction.receipt_at(at),  # populated on failure too (docs sample)
            reference=QUEUE_TIMEOUT_ITEM,
        )
    return _pay(emulator, transaction, request, at)


def _rule_failure(emulator: Emulator, request: B2CRequest) -> Outcome | None:
    if request.amount < MINIMUM_AMOUNT:
        return Outcome(result_codes.BELOW_MINIMUM)
    if emulator.books.balances(request.party_a)[UTILITY] < request.amount * 100:
        return Outcome(result_codes.INSUFFICIENT_FUNDS)
    return None


def _pay(
    emulator: Emulator, transaction: ResultTransaction, request: B2CRequest, at: float
) -> Decision:
    books, receipt, fee = emulator.books, transaction.receipt_at(at), fee_cents(request.amount)
    books.post(
        at,
        receipt,
        f"B2C payment to {request.party_b}",
        [(request.party_a, UTILITY, -request.amount * 100), (request.party_a, CHARGES, -fee)],
    )
    recipient = parties.customer(request.party_b)
    books.add_receipt(
        Receipt(
            receipt=receipt,
            kind="b2c",
            amount=request.amount,
            debit=parties.organization(emulator.config, request.party_a),
            credit=recipient,
            debit_account_type=UTILITY,
            charges=f"Fee For B2C Payment|KES|{shillings(fee)}",
            reason_type=REASON_TYPES[request.command_id],
            initiated_at=transaction.accepted_at,
            finalised_at=at,
            conversation_id=transaction.conversation_id,
            originator_conversation_id=transaction.originator_conversation_id,
        )
    )
    balances = books.balances(request.party_a)
    parameters: list[Item] = [  # the docs-2024 order; Daraja's order varies by era
        ("TransactionAmount", Raw(str(request.amount))),
        ("TransactionReceipt", receipt),
        ("ReceiverPartyPublicName", recipient.public_name),
        ("TransactionCompletedDateTime", f"{to_eat(at):%d.%m.%Y %H:%M:%S}"),
        ("B2CUtilityAccountAvailableFunds", Raw(shillings(balances[UTILITY]))),
        ("B2CWorkingAccountAvailableFunds", Raw(shillings(balances[WORKING]))),
        ("B2CRecipientIsRegisteredCustomer", "Y"),
        ("B2CChargesPaidAccountAvailableFunds", Raw(shillings(balances[CHARGES]))),
    ]
    return Decision(
        result_codes.SUCCESS, SUCCESS_DESC, receipt, parameters, reference=QUEUE_TIMEOUT_ITEM
    )
