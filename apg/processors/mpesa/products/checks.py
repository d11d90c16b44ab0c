"""Each product's cross-check of a report against the operation it reports on, by transaction
type (pure): what Daraja names must be what was asked (API.md §15.5)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Set
from typing import Any

from apg.payments.ports import Operation, Outcome
from apg.processors.mpesa.products import b2b, b2c, evidence, reversal, status, stk

# (operation, the outcome's detail, the numbers of the account that carried it) -> problems
Check = Callable[[Operation, Mapping[str, Any], Set[str]], list[str]]
BY_TYPE: dict[str, Check] = {
    stk.TRANSACTION_TYPE: stk.mismatches,
    b2c.TRANSACTION_TYPE: b2c.mismatches,
    b2b.TRANSACTION_TYPE: b2b.mismatches,
    reversal.TRANSACTION_TYPE: reversal.mismatches,
    status.TRANSACTION_TYPE: status.mismatches,  # what settles the others in reconciliation
}


def mismatches(operation: Operation, outcome: Outcome, ours: Set[str]) -> tuple[str, ...]:
    """Why `outcome` does not match `operation`: a receipt of the wrong shape, then what its
    product's report names (payer, payee, the receipt reversed or looked up); () when all
    that is named matches. `ours`: the numbers M-Pesa may name the operation's account by."""
    problems = evidence.receipt_problems(outcome.receipt)
    check = BY_TYPE.get(operation.transaction_type)
    if check is not None:
        problems += check(operation, outcome.detail, ours)
    return tuple(problems)
