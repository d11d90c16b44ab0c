"""What an asynchronous Daraja product is to the processor: B2C, B2B, balance, status, reversal.

Each is a request Daraja acknowledges at once (ConversationID, OriginatorConversationID) and a
Result POSTed later to ResultURL, or a notice to QueueTimeOutURL. A product module is pure:
payloads in, parsed events out. The processor does the HTTP and picks the product by
transaction_type (to submit) or by callback kind (`<kind>-result`, `<kind>-timeout`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from apg.payments.ports import Operation, ProcessorEvent, Ref

ORIGINATOR = "originator_conversation_id"  # ours for B2C v3 (the transaction id), else Daraja's
CONVERSATION = "conversation_id"  # Daraja's AG_…


@dataclass(frozen=True)
class AsyncRequest:
    """Everything a payload needs: the operation, the account, and where results go."""

    operation: Operation
    shortcode: str  # the account's shortcode (PartyA)
    initiator_name: str
    security_credential: str  # base64 RSA PKCS#1 v1.5 of the initiator password
    result_url: str
    timeout_url: str
    options: Mapping[str, Any] = field(default_factory=dict)  # per account, e.g. b2c version

    @property
    def details(self) -> Mapping[str, Any]:
        """The product's own request fields (command_id, remarks, …), as the API took them."""
        return self.operation.details


class AsyncProduct(Protocol):
    """One asynchronous Daraja product (a module: see products/b2c.py)."""

    TRANSACTION_TYPE: str  # the lifecycle's word, e.g. "b2c_payment"
    KIND: str  # callback kinds are f"{KIND}-result" and f"{KIND}-timeout"

    def path(self, request: AsyncRequest) -> str: ...

    def payload(self, request: AsyncRequest) -> dict[str, Any]: ...

    def submitted_refs(self, request: AsyncRequest) -> tuple[Ref, ...]:
        """Refs known before sending (B2C v3: our OriginatorConversationID), else ()."""
        ...

    def accepted_refs(self, answer: Mapping[str, Any]) -> tuple[Ref, ...] | None:
        """The acknowledgement's refs when ResponseCode is "0", else None (a refusal)."""
        ...

    def parse_result(self, raw: bytes) -> ProcessorEvent:
        """A Result callback -> refs + Outcome (status from ResultCode, named fields in
        detail). Raises ports.CallbackRejected for anything that is not one."""
        ...
