"""ProcessorContract: the suite every processor must pass. Subclass it and provide the hooks.

Hooks (fixtures or methods on the subclass):
- `processor`: the processor under test.
- `operation(phone)`: a new Operation the processor can submit.
- `prepare(processor, phone, status)`: before submitting, make the upstream's eventual
  decision for `phone` be `status` (an upstream may decide at accept time).
- `settle(processor, accepted, status)`: make the upstream decide `accepted` (as prepared)
  and return the raw callback body it sends.
- `script(processor, phone, behaviour)`: make the next submit for `phone` end in `refused`,
  `not_sent` or `unknown`, for real (over the wire where there is one).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from apg.payments import ports
from apg.payments.lifecycle import PaymentStatus

GARBAGE = [
    b"",
    b"not json",
    b"[]",
    b"{}",
    b'{"a": NaN}',
    b"\xff\xfe",
    b"[" * 5000,
    b'{"Body": {"stkCallback": {"CheckoutRequestID": ["x"], "ResultCode": 0}}}',
    b'{"id": 5, "status": "completed"}',
]


class ProcessorContract:
    PHONE = "254700000001"

    def operation(self, phone: str) -> ports.Operation:
        raise NotImplementedError

    def prepare(self, processor: Any, phone: str, status: PaymentStatus) -> None:
        """Default: the upstream decides at settle time."""

    def settle(self, processor: Any, accepted: ports.Accepted, status: PaymentStatus) -> bytes:
        raise NotImplementedError

    def script(self, processor: Any, phone: str, behaviour: str) -> None:
        raise NotImplementedError

    @property
    def kind(self) -> str:
        raise NotImplementedError

    def submit_accepted(
        self, processor: Any, phone: str, status: PaymentStatus = PaymentStatus.COMPLETED
    ) -> tuple[ports.Operation, ports.Accepted]:
        self.prepare(processor, phone, status)
        operation = self.operation(phone)
        accepted = processor.submit(operation)
        assert isinstance(accepted, ports.Accepted), accepted
        return operation, accepted

    def test_it_declares_what_it_carries(self, processor: Any) -> None:
        assert processor.name and processor.method_types and processor.callback_kinds
        assert self.kind in processor.callback_kinds

    def test_an_accepted_submit_gives_refs_that_route_its_callback(self, processor: Any) -> None:
        operation, accepted = self.submit_accepted(processor, self.PHONE)
        assert accepted.refs and all(r.kind and r.value for r in accepted.refs)
        raw = self.settle(processor, accepted, PaymentStatus.COMPLETED)
        event = processor.parse_callback(self.kind, raw)
        assert set(event.refs) & set(accepted.refs)
        outcome = event.outcome
        assert (outcome.status, outcome.settles) == (PaymentStatus.COMPLETED, True)
        assert outcome.amount == operation.amount and outcome.receipt

    @pytest.mark.parametrize("status", [PaymentStatus.CANCELLED, PaymentStatus.FAILED])
    def test_a_failure_callback_carries_no_money(
        self, processor: Any, status: PaymentStatus
    ) -> None:
        _, accepted = self.submit_accepted(processor, self.PHONE, status)
        event = processor.parse_callback(self.kind, self.settle(processor, accepted, status))
        assert event.outcome.status == status
        assert event.outcome.receipt is None

    def test_a_query_is_pending_until_decided_then_reports_the_status(self, processor: Any) -> None:
        operation, accepted = self.submit_accepted(processor, self.PHONE)
        asked = dataclasses.replace(operation, refs=accepted.refs)
        assert isinstance(processor.query(asked), ports.StillPending)
        self.settle(processor, accepted, PaymentStatus.COMPLETED)
        outcome = processor.query(asked)
        assert isinstance(outcome, ports.Outcome)
        assert outcome.status == PaymentStatus.COMPLETED

    @pytest.mark.parametrize(
        ("behaviour", "result"),
        [("refused", ports.Refused), ("not_sent", ports.NotSent), ("unknown", ports.Unknown)],
    )
    def test_submit_says_what_happened(self, processor: Any, behaviour: str, result: type) -> None:
        phone = "254700000009"
        self.script(processor, phone, behaviour)
        answer = processor.submit(self.operation(phone))
        assert isinstance(answer, result), answer

    @pytest.mark.parametrize("raw", GARBAGE)
    def test_anything_else_is_rejected_with_a_reason(self, processor: Any, raw: bytes) -> None:
        with pytest.raises(ports.CallbackRejected) as info:
            processor.parse_callback(self.kind, raw)
        assert str(info.value)

    def test_an_unknown_kind_is_rejected(self, processor: Any) -> None:
        with pytest.raises(ports.CallbackRejected):
            processor.parse_callback("no-such-kind", b"{}")

    def test_health_is_plain_data(self, processor: Any) -> None:
        health = processor.health()
        assert isinstance(health, ports.Health) and isinstance(health.healthy, bool)

    def test_the_callback_answer_is_a_json_object(self, processor: Any) -> None:
        assert isinstance(processor.answer(self.kind, "applied"), dict)
