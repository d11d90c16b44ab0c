"""FakeProcessor: an in-memory payment rail that honours the processor contract.

For tests and for building a new flow before its upstream exists. Outcomes are scripted by
phone number; callbacks are JSON `{"id", "status", "amount", "receipt"}` that `callback_for`
renders, so the contract suite can drive it exactly like a real upstream.
"""

from __future__ import annotations

import itertools
import json
import threading
from typing import Any

from sqlalchemy import Select, literal, select

from apg.payments import ports
from apg.payments.lifecycle import PaymentStatus

REF_KIND = "fake_id"


class FakeProcessor:
    name = "fake"
    method_types = {"fake": "stk_push"}
    lifecycles = {"stk_push": "prompt"}
    callback_kinds = frozenset({"result"})

    def __init__(self) -> None:
        self.script: dict[str, ports.SubmitResult] = {}  # phone -> what submit answers
        self.submitted: list[ports.Operation] = []
        self._decided: dict[str, ports.Outcome] = {}
        self._amounts: dict[str, int | None] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def account_for(
        self,
        tenant_id: str,
        transaction_type: str,
        preferred: str | None = None,
        *,
        mode: str | None = None,
    ) -> str:
        return preferred or f"fake_account_{tenant_id}"  # one account, usable in either mode

    def account_by_number(self, tenant_id: str, number: str) -> str | None:
        return None  # the fake takes no incoming money: any report of some is unmatched

    def accounts_of_mode(self, tenant_id: str, mode: str) -> frozenset[str]:
        return frozenset({f"fake_account_{tenant_id}"})

    def accounts_of_mode_query(self, tenant_id: str, mode: str) -> Select[str]:
        return select(literal(f"fake_account_{tenant_id}"))

    def cross_check(self, operation: ports.Operation, outcome: ports.Outcome) -> tuple[str, ...]:
        return ()  # its reports name nothing beyond the outcome itself

    def needs_confirmation(self, operation: ports.Operation) -> bool:
        return False

    def refs_before_submit(self, operation: ports.Operation) -> tuple[ports.Ref, ...]:
        return ()

    def submit(self, operation: ports.Operation) -> ports.SubmitResult:
        with self._lock:
            self.submitted.append(operation)
            scripted = self.script.get(operation.phone_number or "")
            if scripted is not None:
                return scripted
            ref = f"fk_{next(self._ids)}"
            self._amounts[ref] = operation.amount
        return ports.Accepted((ports.Ref(REF_KIND, ref),))

    def decide(
        self, ref: str, status: PaymentStatus, *, receipt: str | None = "FAKE000001"
    ) -> bytes:
        """Settle an accepted operation; returns the callback body the upstream would POST."""
        amount = self._amounts[ref]
        paid = status == PaymentStatus.COMPLETED
        outcome = ports.Outcome(
            status=status,
            result_code="0" if paid else status.value,
            receipt=receipt if paid else None,
            amount=amount if paid else None,
            settles=True,
        )
        with self._lock:
            self._decided[ref] = outcome
        body = {
            "id": ref,
            "status": status.value,
            "amount": outcome.amount,
            "receipt": outcome.receipt,
        }
        return json.dumps(body).encode()

    def query(self, operation: ports.Operation) -> ports.QueryResult:
        ref = operation.ref(REF_KIND)
        outcome = self._decided.get(ref or "")
        if outcome is None:
            return ports.StillPending()
        return ports.Outcome(outcome.status, outcome.result_code, settles=False)

    def parse_callback(self, kind: str, raw: bytes) -> ports.ProcessorEvent:
        if kind not in self.callback_kinds:
            raise ports.CallbackRejected(f"unknown callback kind {kind[:20]!r}")
        try:
            body = json.loads(raw, parse_constant=_reject)
            ref, status = body["id"], PaymentStatus(body["status"])
            amount, receipt = body.get("amount"), body.get("receipt")
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise ports.CallbackRejected(f"not a fake result: {str(exc)[:80]}") from exc
        if not isinstance(ref, str) or not (amount is None or type(amount) is int):
            raise ports.CallbackRejected("id must be a string and amount an integer")
        outcome = ports.Outcome(
            status=status,
            result_code="0" if status == PaymentStatus.COMPLETED else status.value,
            receipt=receipt if isinstance(receipt, str) else None,
            amount=amount,
            settles=True,
        )
        return ports.ProcessorEvent(refs=(ports.Ref(REF_KIND, ref),), outcome=outcome)

    def answer(self, kind: str, verdict: str) -> dict[str, Any]:
        return {"received": True}

    def health(self) -> ports.Health:
        return ports.Health(True, {"submitted": len(self.submitted)})


def _reject(name: str) -> Any:
    raise ValueError(f"{name} is not a number")
