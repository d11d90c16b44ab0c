"""Payment statuses and the table of allowed transitions."""

from __future__ import annotations

from enum import StrEnum


class PaymentStatus(StrEnum):
    PENDING = "pending"  # recorded, not yet accepted upstream
    PROCESSING = "processing"  # accepted upstream, the customer has the prompt
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMEOUT = "timeout"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset(
    {PaymentStatus.COMPLETED, PaymentStatus.FAILED, PaymentStatus.CANCELLED, PaymentStatus.TIMEOUT}
)

# A late success after a timeout is real money (Daraja's timeout notices can precede the
# final result), so TIMEOUT -> COMPLETED is the one move out of a final status.
ALLOWED_TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    PaymentStatus.PENDING: frozenset({PaymentStatus.PROCESSING, PaymentStatus.FAILED}),
    PaymentStatus.PROCESSING: FINAL_STATUSES,
    PaymentStatus.TIMEOUT: frozenset({PaymentStatus.COMPLETED}),
    PaymentStatus.COMPLETED: frozenset(),
    PaymentStatus.FAILED: frozenset(),
    PaymentStatus.CANCELLED: frozenset(),
}
