"""Bring the books up to a moment: apply every decision due by then, in time order.

Decisions are lazy: a paid STK push credits its merchant, and an initiator-API Result is
decided, when its callback falls due by the emulator clock — not when a thread happens to
send it. Whoever needs the books (a Result being rendered, a request, the control API) first
catches up to its own moment, so balances and receipts never depend on delivery timing.
A C2B payment is the exception: its ValidationURL decides, so it is credited when that answer
is read (credit_c2b_payment), after catching up to the moment the validation request went out.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from daraja_emulator.ledger import UTILITY, Receipt
from daraja_emulator.products import c2b_payload, parties
from daraja_emulator.products.c2b_payment import C2BPayment
from daraja_emulator.products.results import ResultTransaction
from daraja_emulator.products.stk_codes import SUCCESS
from daraja_emulator.products.stk_push import StkPush
from daraja_emulator.products.stk_script import PAYBILL
from daraja_emulator.runtime import Emulator
from daraja_emulator.transaction import AsyncTransaction

CUSTOMER_ACCOUNT = "M-PESA Account"  # our name for a customer's side (NOTES.md)

Pending = tuple[float, int, Callable[[float], None]]


def catch_up(emulator: Emulator, until: float, including: AsyncTransaction | None = None) -> None:
    """Apply, oldest first, each decision due by `until` that the books have not seen.

    `including` is decided even if a reset removed it from the state meanwhile (its callback
    is already being rendered). Ties keep accept order.
    """
    with emulator.books.lock:
        transactions = emulator.state.transactions()
        if including is not None and including not in transactions:
            transactions.append(including)
        pending = [p for i, t in enumerate(transactions) if (p := _pending(emulator, t, i))]
        for at, _, apply in sorted(pending, key=lambda p: (p[0], p[1])):
            if at <= until:
                apply(at)


def _pending(emulator: Emulator, transaction: AsyncTransaction, order: int) -> Pending | None:
    if isinstance(transaction, StkPush) and transaction.key not in emulator.books.credited:
        paid_at = stk_paid_at(transaction)
        if paid_at is not None:
            return paid_at, order, functools.partial(credit_stk_payment, emulator, transaction)
    if isinstance(transaction, ResultTransaction) and transaction.decision is None:
        due = transaction.decision_at
        if due is not None:
            return due, order, functools.partial(transaction.decide, emulator)
    return None


def stk_paid_at(push: StkPush) -> float | None:
    """When a push is paid: the due time of its last callback, if that one is a success."""
    last = push.callbacks[-1]
    return last.due_at if push.outcome_of(last).result_code == SUCCESS else None


def credit_stk_payment(emulator: Emulator, push: StkPush, at: float) -> None:
    """The customer paid: the merchant's Utility Account grows; the receipt becomes known."""
    request = push.request
    amount = request.amount if push.style.paid_amount is None else push.style.paid_amount
    receipt = push.receipt_at(at)
    shortcode = request.business_short_code
    books = emulator.books
    books.post(
        at,
        receipt,
        f"STK payment from {request.phone_number}",
        [(shortcode, UTILITY, amount * 100)],
    )
    books.credited.add(push.key)
    books.add_receipt(
        Receipt(
            receipt=receipt,
            kind="stk",
            amount=amount,
            debit=parties.customer(request.phone_number),
            credit=parties.organization(emulator.config, shortcode),
            debit_account_type=CUSTOMER_ACCOUNT,
            charges="",
            reason_type=(
                "Pay Bill Online" if request.transaction_type == PAYBILL else "Buy Goods Online"
            ),
            initiated_at=push.accepted_at,
            finalised_at=at,
            conversation_id=push.checkout_request_id,
            originator_conversation_id=push.merchant_request_id,
        )
    )


def credit_c2b_payment(emulator: Emulator, payment: C2BPayment, at: float) -> int:
    """The customer paid a paybill or till: after every decision due by `at`, its Utility
    Account grows and the TransID becomes a receipt (Transaction Status, Reversal). The Utility
    Account balance after, in cents."""
    request, books = payment.request, emulator.books
    shortcode = request.shortcode
    with books.lock:
        catch_up(emulator, at)
        books.post(
            at,
            payment.trans_id,
            f"C2B payment from {request.msisdn}",
            [(shortcode, UTILITY, request.amount * 100)],
        )
        books.add_receipt(
            Receipt(
                receipt=payment.trans_id,
                kind="c2b",
                amount=request.amount,
                debit=parties.customer(request.msisdn),
                credit=parties.organization(emulator.config, shortcode),
                debit_account_type=CUSTOMER_ACCOUNT,
                charges="",
                reason_type=c2b_payload.TRANSACTION_TYPES[request.command_id],
                initiated_at=payment.accepted_at,
                finalised_at=at,
                conversation_id=payment.conversation_id,
                originator_conversation_id=payment.originator_conversation_id,
            )
        )
        return books.balances(shortcode)[UTILITY]
