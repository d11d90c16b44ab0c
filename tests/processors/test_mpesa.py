"""MpesaProcessor passes the processor contract, against the Daraja emulator over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from apg.extensions import db
from apg.payments import ports
from apg.payments.lifecycle import PaymentStatus
from apg.processors.mpesa.accounts import MpesaAccount
from apg.processors.mpesa.processor import MpesaProcessor
from tests.processors.contract import ProcessorContract
from tests.support.factories import EmulatorControl, make_tenant
from tests.support.servers import closed_port_url

RESULT_CODES = {PaymentStatus.COMPLETED: 0, PaymentStatus.CANCELLED: 1032, PaymentStatus.FAILED: 1}


class TestMpesaProcessor(ProcessorContract):
    kind = "stk"

    @pytest.fixture
    def processor(self, app: Flask, emulator_control: EmulatorControl) -> Any:
        self.app, self.emulator = app, emulator_control
        self.tenant_id, _ = make_tenant(app, "Contract Ltd")
        with app.app_context():
            yield app.extensions["apg"].processors.get("mpesa")

    def account_id(self, tenant_id: str) -> str:
        return db.session.execute(
            select(MpesaAccount.id).where(MpesaAccount.tenant_id == tenant_id)
        ).scalar_one()

    def operation(self, phone: str, tenant_id: str | None = None) -> ports.Operation:
        tenant_id = tenant_id or self.tenant_id
        return ports.Operation(
            id="pay_contract",
            tenant_id=tenant_id,
            account_id=self.account_id(tenant_id),
            transaction_type="stk_push",
            amount=10000,
            currency="KES",
            reference="INV-1",
            phone_number=phone,
        )

    def prepare(self, processor: Any, phone: str, status: PaymentStatus) -> None:
        self.emulator.scenario(phone, result_code=RESULT_CODES[status])

    def settle(self, processor: Any, accepted: ports.Accepted, status: PaymentStatus) -> bytes:
        checkout = next(r.value for r in accepted.refs if r.kind == "checkout_request_id")
        return str(self.emulator.settle(checkout)["body"]).encode()

    def script(self, processor: MpesaProcessor, phone: str, behaviour: str) -> None:
        if behaviour == "not_sent":  # this tenant's Daraja is a closed port
            self.tenant_id, _ = make_tenant(self.app, "Down Ltd", base_url=closed_port_url())
        else:
            fault = {"refused": "spike_arrest", "unknown": "html_504"}[behaviour]
            self.emulator.scenario(phone, result_code=0, fault=fault)
