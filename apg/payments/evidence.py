"""Whether a report's evidence may settle the operation it reports on; never trusted blindly.

Payments checks what every rail's success carries (a receipt, the amount); the processor
cross-checks what only it can read, for any report (`Processor.cross_check`: payer, payee,
account, the receipt's shape): a report naming another operation's parties settles nothing.
Money reported again (an incoming payment's copy) must agree with the payment it was recorded
as.
"""

from __future__ import annotations

from apg.payments import ports
from apg.payments.lifecycle import PaymentStatus
from apg.payments.models import PaymentTransaction
from apg.payments.operations import operation_of


def cross_checked(
    txn: PaymentTransaction, outcome: ports.Outcome, processor: ports.Processor
) -> tuple[str, ...]:
    """Where `outcome` disagrees with `txn` by its processor's reading of what it names."""
    return tuple(processor.cross_check(operation_of(txn), outcome))


def evidence_problems(txn: PaymentTransaction, outcome: ports.Outcome) -> list[str]:
    """Why a reported success cannot be trusted as it stands; empty when it checks out."""
    if not settles_as_success(outcome):
        return []
    problems = list(outcome.problems)
    if not outcome.receipt:
        problems.append("receipt missing")
    if outcome.amount is None:
        if not any("amount" in p for p in problems):
            problems.append("amount missing")
    elif txn.amount is not None and outcome.amount != txn.amount:
        problems.append(f"amount {outcome.amount} does not match the {txn.amount} requested")
    return problems


def settles_as_success(outcome: ports.Outcome) -> bool:
    """A report of money moved, with the evidence to be checked (not a status-only answer)."""
    return outcome.status == PaymentStatus.COMPLETED and outcome.settles


def incoming_problems(
    txn: PaymentTransaction, incoming: ports.Incoming, account_id: str | None
) -> list[str]:
    """Why money reported again disagrees with `txn`, the payment it was recorded as (e.g. a
    C2B confirmation of an STK Push to a paybill): another amount, another account (the one
    `incoming.account_number` is, None when not the tenant's), a receipt of the wrong shape."""
    problems = list(incoming.problems)
    recorded = txn.paid_amount if txn.paid_amount is not None else txn.amount
    if recorded is not None and incoming.amount != recorded:
        problems.append(f"amount {incoming.amount} does not match the {recorded} recorded")
    if account_id != txn.account_id:
        problems.append(f"paid to {incoming.account_number}, not to this payment's account")
    return problems


def describe(answer: ports.QueryResult) -> str:
    """An undecided query answer, as evidence."""
    match answer:
        case ports.StillPending():
            return "still being processed"
        case ports.Refused(code=code, message=message):
            return f"refused: {code} {message}"
        case ports.Misconfigured(setting=setting):
            return f"could not ask: the account's {setting} was rejected"
        case ports.NotSent(reason=reason):
            return f"could not ask: {reason}"
        case ports.Unknown(reason=reason):
            return f"no answer: {reason}"
    return repr(answer)
