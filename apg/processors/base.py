"""The processor contract. Plain dataclasses cross this boundary, never HTTP or ORM details."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from apg.payments.status import PaymentStatus

if TYPE_CHECKING:
    from apg.payments.models import PaymentMethod, PaymentTransaction


@dataclass(frozen=True)
class PaymentResult:
    """The upstream's synchronous answer to process_payment.

    PROCESSING: accepted, the outcome comes later. FAILED: refused, with the upstream's code.
    Transport failures are raised as apg.errors.Upstream*Error instead.
    """

    status: PaymentStatus
    external_ids: dict[str, str] = field(default_factory=dict)
    result_code: str | None = None
    result_desc: str | None = None


@dataclass(frozen=True)
class StatusResult:
    """What the upstream says now. PROCESSING means "not decided yet"."""

    status: PaymentStatus
    result_code: str | None = None
    result_desc: str | None = None
    receipt_number: str | None = None
    amount_minor: int | None = None
    transaction_date: datetime | None = None


@dataclass(frozen=True)
class HealthResult:
    healthy: bool
    detail: dict[str, Any] = field(default_factory=dict)


class PaymentProcessor(ABC):
    """One upstream payment rail. Implementations own all talk with their upstream."""

    method_type: str

    @abstractmethod
    def process_payment(
        self,
        transaction: PaymentTransaction,
        payment_method: PaymentMethod,
        additional_data: dict[str, Any],
    ) -> PaymentResult: ...

    @abstractmethod
    def get_transaction_status(self, transaction: PaymentTransaction) -> StatusResult: ...

    @abstractmethod
    def health_check(self) -> HealthResult: ...
