"""Processors by payment_method_type, so a new rail needs no API change."""

from __future__ import annotations

from apg.errors import InvalidRequestError
from apg.processors.base import PaymentProcessor


class ProcessorRegistry:
    def __init__(self) -> None:
        self._processors: dict[str, PaymentProcessor] = {}

    def register(self, processor: PaymentProcessor) -> None:
        self._processors[processor.method_type] = processor

    def get(self, method_type: str) -> PaymentProcessor:
        try:
            return self._processors[method_type]
        except KeyError:
            raise InvalidRequestError(
                f"Unsupported payment method type {method_type!r}.",
                code="unsupported_payment_method",
                param="payment_method_type",
            ) from None

    def all(self) -> dict[str, PaymentProcessor]:
        return dict(self._processors)
