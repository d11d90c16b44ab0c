"""Processors by name and by payment_method_type, so a new rail needs no API change."""

from __future__ import annotations

from apg.errors import InvalidRequestError
from apg.payments import lifecycle
from apg.payments.ports import Processor


class ProcessorRegistry:
    def __init__(self) -> None:
        self._by_name: dict[str, Processor] = {}
        self._by_method: dict[str, tuple[Processor, str]] = {}

    def register(self, processor: Processor) -> None:
        self._by_name[processor.name] = processor
        for method_type, transaction_type in processor.method_types.items():
            self._by_method[method_type] = (processor, transaction_type)
        for transaction_type, name in processor.lifecycles.items():
            lifecycle.register(transaction_type, name)

    def get(self, name: str) -> Processor:
        return self._by_name[name]

    def for_method(self, method_type: str) -> tuple[Processor, str]:
        """(processor, transaction_type) for an API payment_method_type; 400 if unknown."""
        try:
            return self._by_method[method_type]
        except KeyError:
            raise InvalidRequestError(
                f"Unsupported payment method type {method_type!r}.",
                code="unsupported_payment_method",
                param="payment_method_type",
            ) from None

    def all(self) -> dict[str, Processor]:
        return dict(self._by_name)
