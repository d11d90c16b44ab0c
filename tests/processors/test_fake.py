"""The in-memory FakeProcessor passes the processor contract."""

from __future__ import annotations

from typing import Any

import pytest

from apg.payments import ports
from apg.payments.lifecycle import PaymentStatus
from apg.processors.fake import FakeProcessor
from tests.processors.contract import ProcessorContract


class TestFakeProcessor(ProcessorContract):
    kind = "result"

    @pytest.fixture
    def processor(self) -> FakeProcessor:
        return FakeProcessor()

    def operation(self, phone: str) -> ports.Operation:
        return ports.Operation(
            id="pay_1",
            tenant_id="ten_1",
            account_id="fake_account",
            transaction_type="stk_push",
            amount=10000,
            currency="KES",
            reference="INV-1",
            phone_number=phone,
        )

    def settle(self, processor: Any, accepted: ports.Accepted, status: PaymentStatus) -> bytes:
        return processor.decide(accepted.refs[0].value, status)  # type: ignore[no-any-return]

    def script(self, processor: Any, phone: str, behaviour: str) -> None:
        processor.script[phone] = {
            "refused": ports.Refused("R1", "no"),
            "not_sent": ports.NotSent("down"),
            "unknown": ports.Unknown("silence"),
        }[behaviour]
