"""C2B over real loopback HTTP: the scheduler runs validation then confirmation when due,
delivery modes (duplicate, drop, early), redeliver, and client libraries' requests (CLIENTS.md)."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
import requests

from daraja_emulator import EmulatorServer
from daraja_emulator.products.c2b_payment import C2BPayment

from .c2b_support import ACCEPT, PAYER, REJECT, SHORTCODE, make_register_body, make_simulate_body
from .support import CallbackReceiver, Daraja, FakeClock
from .test_client_libraries import library_call

VALIDATION, CONFIRMATION = "/hooks/c2b/validation", "/hooks/c2b/confirmation"


class C2B:
    """Register and simulate over HTTP with a Daraja client; wait for what the emulator sent."""

    def __init__(self, daraja: Daraja, receiver: CallbackReceiver) -> None:
        self.daraja, self.receiver = daraja, receiver
        self.server = daraja.server

    def register(self, version: str = "v2", **overrides: Any) -> None:
        urls = {
            "ConfirmationURL": self.receiver.url_for(CONFIRMATION),
            "ValidationURL": self.receiver.url_for(VALIDATION),
        }
        body = make_register_body(**{**urls, **overrides})
        response = self.post(f"/mpesa/c2b/{version}/registerurl", body)
        assert response.status_code == 200, response.text

    def simulate(self, version: str = "v2", **overrides: Any) -> str:
        """Simulate a payment; its OriginatorCoversationID."""
        response = self.post(f"/mpesa/c2b/{version}/simulate", make_simulate_body(**overrides))
        assert response.status_code == 200, response.text
        return str(response.json()["OriginatorCoversationID"])

    def post(self, path: str, body: dict[str, Any]) -> requests.Response:
        url = f"{self.server.url}{path}"
        return self.daraja.http.post(url, json=body, headers=self.daraja.headers, timeout=30)

    def control(self, identifier: str, action: str = "") -> dict[str, Any]:
        url = f"{self.server.url}/_emulator/c2b/payments/{identifier}{action}"
        http = self.daraja.http
        response = http.post(url, timeout=30) if action else http.get(url, timeout=30)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait_until_run(self, identifier: str) -> dict[str, Any]:
        """Block until every callback the payment owes is over; its view."""
        trans_id = self.control(identifier)["trans_id"]
        payment = self.server.emulator.state.get(trans_id)
        assert isinstance(payment, C2BPayment)
        assert self.server.emulator.state.wait_until_done(trans_id, payment.callbacks[-1], 10)
        return self.control(trans_id)

    def paths(self) -> list[str]:
        return [r["path"] for r in self.receiver.received]

    def bodies(self, path: str) -> list[str]:
        return [r["text"] for r in self.receiver.received if r["path"] == path]


@pytest.fixture
def c2b(daraja: Daraja, receiver: CallbackReceiver) -> C2B:
    return C2B(daraja, receiver)


def deliver_due(server: EmulatorServer, clock: FakeClock, seconds: float) -> None:
    clock.advance(seconds)
    server.scheduler.wake()


def test_the_scheduler_validates_then_confirms_when_due(
    c2b: C2B, live_emulator: EmulatorServer, fake_clock: FakeClock
) -> None:
    c2b.register()
    c2b.receiver.replies[VALIDATION] = ACCEPT.encode()
    payment_id = c2b.simulate()
    fake_clock.advance(2.9)
    assert live_emulator.scheduler.run_once() == []
    deliver_due(live_emulator, fake_clock, 0.1)
    view = c2b.wait_until_run(payment_id)
    assert c2b.paths() == [VALIDATION, CONFIRMATION]
    assert view["state"] == "completed"
    [confirmation] = c2b.bodies(CONFIRMATION)
    assert json.loads(confirmation)["TransID"] == view["trans_id"]
    assert [r["status_code"] for r in view["deliveries"]] == [200, 200]


def test_a_rejection_over_http_stops_the_confirmation(
    c2b: C2B, live_emulator: EmulatorServer, fake_clock: FakeClock
) -> None:
    c2b.register()
    c2b.receiver.replies[VALIDATION] = REJECT.encode()
    payment_id = c2b.simulate()
    deliver_due(live_emulator, fake_clock, 3)
    view = c2b.wait_until_run(payment_id)
    assert (view["state"], c2b.paths()) == ("cancelled", [VALIDATION])


def test_an_unreachable_validation_url_leaves_it_to_the_response_type(
    c2b: C2B, receiver: CallbackReceiver
) -> None:
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}/validation"
    c2b.register(ValidationURL=nowhere, ResponseType="Completed")
    view = c2b.control(c2b.simulate(), "/settle")
    assert (view["state"], view["verdict"]["source"]) == ("completed", "response_type")
    assert "ConnectionError" in view["verdict"]["problem"]
    assert c2b.paths() == [CONFIRMATION]


def test_settle_by_the_simulate_answer_s_id_runs_the_payment_now(c2b: C2B) -> None:
    """What a gateway's end-to-end test does with a long callback delay."""
    c2b.register("v1")
    view = c2b.control(c2b.simulate(), "/settle")
    assert view["state"] == "completed"
    assert [d["kind"] for d in view["deliveries"]] == ["validation", "confirmation"]
    assert c2b.paths() == [VALIDATION, CONFIRMATION]
    assert c2b.control(view["trans_id"], "/settle") == view  # once only


def test_duplicate_delivery_posts_the_same_confirmation_twice(c2b: C2B) -> None:
    c2b.daraja.script(PAYER, result_code=0, delivery="duplicate")
    c2b.register()
    view = c2b.control(c2b.simulate(), "/settle")
    assert c2b.paths() == [VALIDATION, CONFIRMATION, CONFIRMATION]
    first, second = c2b.bodies(CONFIRMATION)
    assert first == second
    assert [d["kind"] for d in view["deliveries"]] == ["validation", "confirmation", "duplicate"]
    listed = c2b.daraja.http.get(f"{c2b.server.url}/_emulator/callbacks").json()
    assert [(r["product"], r["kind"]) for r in listed] == [
        ("c2b", "validation"),
        ("c2b", "confirmation"),
        ("c2b", "duplicate"),
    ]
    books = c2b.daraja.http.get(f"{c2b.server.url}/_emulator/accounts/{SHORTCODE}").json()
    assert books["accounts"]["Utility Account"] == "1000005.00"  # paid once


def test_dropped_delivery_moves_money_but_posts_no_confirmation(c2b: C2B) -> None:
    c2b.daraja.script(PAYER, result_code=0, delivery="drop")
    c2b.register()
    view = c2b.control(c2b.simulate(), "/settle")
    assert (view["state"], c2b.paths()) == ("completed", [VALIDATION])
    assert view["deliveries"][-1]["dropped"] is True
    redelivered = c2b.control(view["trans_id"], "/redeliver")
    assert (redelivered["kind"], redelivered["status_code"]) == ("redelivery", 200)
    assert c2b.paths() == [VALIDATION, CONFIRMATION]


def test_redeliver_posts_an_identical_confirmation(c2b: C2B) -> None:
    c2b.register()
    view = c2b.control(c2b.simulate(), "/settle")
    record = c2b.control(view["trans_id"], "/redeliver")
    first, again = c2b.bodies(CONFIRMATION)
    assert first == again == record["body"]


def test_early_delivery_runs_before_the_simulate_answer(c2b: C2B) -> None:
    c2b.daraja.script(PAYER, result_code=0, delivery="early")
    c2b.register()
    payment_id = c2b.simulate()
    assert c2b.paths() == [VALIDATION, CONFIRMATION]  # already, without settle or scheduler
    assert c2b.control(payment_id)["state"] == "completed"


LIBRARY_REGISTRATIONS = [
    pytest.param(
        "/mpesa/c2b/v1/registerurl",
        {"ShortCode": 600984, "ResponseType": "Completed"},
        id="v1-number-shortcode",
    ),
    pytest.param(
        "/mpesa/c2b/v2/registerurl",
        {"ShortCode": "600984", "ResponseType": "Cancelled", "Passkey": "ignored"},
        id="v2-string-extra-field",
    ),
]
LIBRARY_SIMULATIONS = [
    pytest.param(
        "/mpesa/c2b/v1/simulate",
        {
            "ShortCode": "600984",
            "CommandID": "CustomerPayBillOnline",
            "Amount": "1",
            "Msisdn": "254708374149",
            "BillRefNumber": "account",
        },
        id="v1-strings",
    ),
    pytest.param(
        "/mpesa/c2b/v2/simulate",
        {
            "ShortCode": 600984,
            "CommandID": "CustomerBuyGoodsOnline",
            "Amount": 1.0,
            "Msisdn": 254708374149,
            "BillRefNumber": None,
        },
        id="v2-numbers-till-null-reference",
    ),
]


@pytest.mark.parametrize(("register_path", "registration"), LIBRARY_REGISTRATIONS)
@pytest.mark.parametrize(("simulate_path", "simulation"), LIBRARY_SIMULATIONS)
def test_a_library_registers_and_simulates_unchanged(
    http: requests.Session,
    live_emulator: EmulatorServer,
    receiver: CallbackReceiver,
    register_path: str,
    registration: dict[str, Any],
    simulate_path: str,
    simulation: dict[str, Any],
) -> None:
    """A fresh token per call, lower-case header names, the misspelt key read back."""
    urls = {
        "ConfirmationURL": receiver.url_for(CONFIRMATION),
        "ValidationURL": receiver.url_for(VALIDATION),
    }
    registered = library_call(http, live_emulator, register_path, {**registration, **urls})
    assert registered.status_code == 200, registered.text
    assert registered.json()["ResponseCode"] == "0"
    simulated = library_call(http, live_emulator, simulate_path, simulation)
    assert simulated.status_code == 200, simulated.text
    assert '"ResponseCode":"0"' in simulated.text.replace(" ", "")
    payment_id = simulated.json()["OriginatorCoversationID"]
    settled = http.post(f"{live_emulator.url}/_emulator/c2b/payments/{payment_id}/settle")
    assert settled.status_code == 200, settled.text
    assert [r["path"] for r in receiver.received] == [VALIDATION, CONFIRMATION]
    assert json.loads(receiver.received[1]["text"])["TransAmount"] == "1.00"
