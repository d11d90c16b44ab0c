"""How a B2B payment is decided and what its Result says (samples/b2b_result_*_daraja-docs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from daraja_emulator.clock import eat_stamp
from daraja_emulator.ledger import UTILITY, WORKING, Receipt
from daraja_emulator.money import shillings
from daraja_emulator.products import parties, result_codes
from daraja_emulator.products.result_json import Decision, Item, Raw
from daraja_emulator.products.results import ResultTransaction, failure, refusal
from daraja_emulator.scenarios import Outcome

if TYPE_CHECKING:
    from daraja_emulator.products.b2b import B2BRequest
    from daraja_emulator.runtime import Emulator

QUEUE_TIMEOUT_URL = "https://internalsandbox.safaricom.co.ke/mpesa/b2bresults/v1/submit"
SUCCESS_DESC = "The service request is processed successfully"  # sic: no period (docs sample)
REASON_TYPES = {  # our wording (NOTES.md)
    "BusinessPayBill": "Business Pay Bill via API",
    "BusinessBuyGoods": "Business Buy Goods via API",
    "DisburseFundsToBusiness": "Disburse Funds to Business via API",
    "BusinessToBusinessTransfer": "Business to Business Transfer via API",
    "BusinessPayToBulk": "Business Pay to Bulk via API",
}


def decide(emulator: Emulator, transaction: ResultTransaction, at: float) -> Decision:
    """2001 (initiator), the scripted failure, SFC_IC0003 (unknown receiver), 1 (sender's
    Working Account short), else pay: sender's Working Account -> receiver's Utility Account."""
    request: B2BRequest = transaction.details
    failed = refusal(transaction) or _rule_failure(emulator, request)
    if failed is not None:  # the docs' 2001 sample: one BOCompletedTime object, numbers
        return failure(
            failed,
            at,
            parameters=("BOCompletedTime", Raw(eat_stamp(at))),
            reference=("QueueTimeoutURL", QUEUE_TIMEOUT_URL),
        )
    return _pay(emulator, transaction, request, at)


def balance_record(cents: int) -> str:
    """{Amount={CurrencyCode=KES, MinimumAmount=618683, BasicAmount=6186.83}} (cents, KES)."""
    return f"{{Amount={{CurrencyCode=KES, MinimumAmount={cents}, BasicAmount={shillings(cents)}}}}}"


def _rule_failure(emulator: Emulator, request: B2BRequest) -> Outcome | None:
    if emulator.config.organization(request.party_b) is None:
        return Outcome(result_codes.OPERATOR_DOES_NOT_EXIST)
    if emulator.books.balances(request.party_a)[WORKING] < request.amount * 100:
        return Outcome(result_codes.INSUFFICIENT_FUNDS)
    return None


def _pay(
    emulator: Emulator, transaction: ResultTransaction, request: B2BRequest, at: float
) -> Decision:
    books, receipt, cents = emulator.books, transaction.receipt_at(at), request.amount * 100
    description = f"{request.command_id} to {request.party_b}"
    books.post(
        at,
        receipt,
        description,
        [(request.party_a, WORKING, -cents), (request.party_b, UTILITY, cents)],
    )
    receiver = parties.organization(emulator.config, request.party_b)
    books.add_receipt(
        Receipt(
            receipt=receipt,
            kind="b2b",
            amount=request.amount,
            debit=parties.organization(emulator.config, request.party_a),
            credit=receiver,
            debit_account_type=WORKING,
            charges="",
            reason_type=REASON_TYPES[request.command_id],
            initiated_at=transaction.accepted_at,
            finalised_at=at,
            conversation_id=transaction.conversation_id,
            originator_conversation_id=transaction.originator_conversation_id,
        )
    )
    working = books.balances(request.party_a)[WORKING]
    available = shillings(working)
    parameters: list[Item] = [  # every value a string, as in the 2022 docs sample
        ("DebitAccountBalance", balance_record(working)),
        ("Amount", shillings(cents)),
        ("DebitPartyAffectedAccountBalance", f"{WORKING}|KES|{available}|{available}|0.00|0.00"),
        ("TransCompletedTime", eat_stamp(at)),
        ("DebitPartyCharges", ""),
        ("ReceiverPartyPublicName", receiver.public_name),
        ("Currency", "KES"),
        ("InitiatorAccountCurrentBalance", balance_record(working)),
    ]
    reference: list[Item] = [
        ("BillReferenceNumber", request.account_reference),  # value-less when none was sent
        ("QueueTimeoutURL", QUEUE_TIMEOUT_URL),
    ]
    return Decision(
        result_codes.SUCCESS, SUCCESS_DESC, receipt, parameters, reference, as_strings=True
    )
