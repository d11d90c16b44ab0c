"""Statuses and the allowed moves of each transaction type, as data."""

from __future__ import annotations

from enum import StrEnum


class PaymentStatus(StrEnum):
    PENDING = "pending"  # recorded; not yet sent, or being sent
    PROCESSING = "processing"  # accepted upstream; the outcome comes later
    UNKNOWN = "unknown"  # may have reached the upstream, no answer: never assume it failed
    REVIEW = "review"  # the upstream says success but the evidence does not check out
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMEOUT = "timeout"
    REVERSED = "reversed"  # completed, then a reversal confirmed by the upstream moved it back

    @property
    def is_final(self) -> bool:
        """Settled as far as the customer is concerned (finalized_at is set on entry)."""
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset(
    {
        PaymentStatus.COMPLETED,
        PaymentStatus.FAILED,
        PaymentStatus.CANCELLED,
        PaymentStatus.TIMEOUT,
        PaymentStatus.REVERSED,
    }
)
# Outcomes that say money moved, or surely did not. Two of them disagreeing is a conflict.
SETTLED = {
    PaymentStatus.COMPLETED: True,
    PaymentStatus.FAILED: False,
    PaymentStatus.CANCELLED: False,
}

_P = PaymentStatus
_ANSWERED = frozenset({_P.COMPLETED, _P.FAILED, _P.CANCELLED, _P.TIMEOUT, _P.REVIEW})

# STK Push. A late success after a timeout is real money (Daraja's timeout notices can precede
# the final result). A completed payment goes to review if the money's evidence arrives later
# and does not match. Review is left only by an operator's decision (the second table).
STK_PUSH: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    _P.PENDING: frozenset({_P.PROCESSING, _P.FAILED, _P.UNKNOWN}),
    _P.UNKNOWN: _ANSWERED | {_P.PROCESSING},
    _P.PROCESSING: _ANSWERED,
    _P.TIMEOUT: frozenset({_P.COMPLETED, _P.REVIEW}),
    _P.COMPLETED: frozenset({_P.REVIEW, _P.REVERSED}),  # reversed: by a confirmed reversal
    _P.REVIEW: frozenset(),
    _P.FAILED: frozenset(),
    _P.CANCELLED: frozenset(),
    _P.REVERSED: frozenset(),
}
# Moves only an operator may make, after looking at the evidence: never an upstream report.
STK_PUSH_OPERATOR: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    _P.REVIEW: frozenset({_P.COMPLETED, _P.FAILED}),
}

# A request the upstream acknowledges, whose Result arrives later (B2C, B2B, balance, status,
# reversal). A queue timeout is not the last word: a late Result may still settle it either way.
ASYNC_REQUEST: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    _P.PENDING: frozenset({_P.PROCESSING, _P.FAILED, _P.UNKNOWN}),
    _P.UNKNOWN: frozenset({_P.PROCESSING, _P.COMPLETED, _P.FAILED, _P.TIMEOUT, _P.REVIEW}),
    _P.PROCESSING: frozenset({_P.COMPLETED, _P.FAILED, _P.TIMEOUT, _P.REVIEW}),
    _P.TIMEOUT: frozenset({_P.COMPLETED, _P.FAILED, _P.REVIEW}),
    _P.COMPLETED: frozenset({_P.REVIEW}),
    _P.REVIEW: frozenset(),
    _P.FAILED: frozenset(),
    _P.CANCELLED: frozenset(),
    _P.REVERSED: frozenset(),
}

# One table per transaction_type (and the moves only an operator may make).
Table = dict[PaymentStatus, frozenset[PaymentStatus]]

# Money a customer sent unasked (C2B). It exists for us only once the upstream confirms it, so
# it is created completed; a confirmed reversal gives it back.
C2B_PAYMENT: Table = {status: frozenset() for status in PaymentStatus} | {
    _P.COMPLETED: frozenset({_P.REVERSED})
}
# The lifecycles there are, by name (with the moves only an operator may make). A processor
# says which one each of its transaction types follows (Processor.lifecycles), so a new
# product of an existing shape needs no change here.
NAMED: dict[str, tuple[Table, Table]] = {
    "prompt": (STK_PUSH, STK_PUSH_OPERATOR),  # the payer answers a prompt (STK Push)
    "request_result": (ASYNC_REQUEST, STK_PUSH_OPERATOR),  # acknowledged now, Result later
    "inquiry": (ASYNC_REQUEST, {}),  # the same, moving no money (balance, status)
    "reported": (C2B_PAYMENT, STK_PUSH_OPERATOR),  # exists once the upstream reports it
}
# transaction_type -> its tables, filled by register() as processors are registered.
LIFECYCLES: dict[str, tuple[Table, Table]] = {}
# The status a type is created in, when not pending (recorded before anything is sent).
CREATED_AS: dict[str, PaymentStatus] = {}


def register(transaction_type: str, lifecycle: str) -> None:
    """`transaction_type` follows the named lifecycle (see NAMED); idempotent."""
    LIFECYCLES[transaction_type] = NAMED[lifecycle]
    if lifecycle == "reported":
        CREATED_AS[transaction_type] = _P.COMPLETED


def created_as(transaction_type: str) -> PaymentStatus:
    return CREATED_AS.get(transaction_type, _P.PENDING)


def allows(
    transaction_type: str, current: PaymentStatus, to: PaymentStatus, *, operator: bool = False
) -> bool:
    """Whether `transaction_type` may move from `current` to `to` (an operator may do more)."""
    machine, by_operator = LIFECYCLES[transaction_type]
    return to in machine[current] or (operator and to in by_operator.get(current, frozenset()))


def contradicts(current: PaymentStatus, reported: PaymentStatus) -> bool:
    """True when an upstream report disagrees with a settled status about whether money moved."""
    return current in SETTLED and reported in SETTLED and SETTLED[current] != SETTLED[reported]
