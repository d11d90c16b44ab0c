"""Results over real loopback HTTP: the scheduler, QueueTimeOutURL notices, delivery modes."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from daraja_emulator import EmulatorServer

from .results_support import B2C_V3, BALANCE, make_b2c_body, make_balance_body, parameters
from .support import CallbackReceiver, Daraja, FakeClock, sample

RECIPIENT = "254711000007"


class Initiator:
    """Posts initiator-API requests to a live emulator with results going to `receiver`."""

    def __init__(self, daraja: Daraja, receiver: CallbackReceiver) -> None:
        self.daraja = daraja
        base = receiver.url.rsplit("/callbacks/", 1)[0]
        self.result_url = f"{base}/hooks/result"
        self.timeout_url = f"{base}/hooks/timeout"

    def post(self, path: str, body: dict[str, Any]) -> requests.Response:
        body = {**body, "ResultURL": self.result_url, "QueueTimeOutURL": self.timeout_url}
        url = f"{self.daraja.server.url}{path}"
        return self.daraja.http.post(url, json=body, headers=self.daraja.headers, timeout=30)

    def accept(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.post(path, body)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def control(self, identifier: str, action: str) -> dict[str, Any]:
        url = f"{self.daraja.server.url}/_emulator/results/{identifier}/{action}"
        response = self.daraja.http.post(url, timeout=30)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def script(self, party: str, **scenario: Any) -> None:
        self.daraja.script(party, **scenario)


@pytest.fixture
def initiator(daraja: Daraja, receiver: CallbackReceiver) -> Initiator:
    return Initiator(daraja, receiver)


def deliver_due(server: EmulatorServer, clock: FakeClock, seconds: float) -> None:
    clock.advance(seconds)
    server.scheduler.wake()


def results(receiver: CallbackReceiver, path: str) -> list[dict[str, Any]]:
    return [json.loads(r["text"])["Result"] for r in receiver.received if r["path"] == path]


def test_the_scheduler_posts_the_b2c_result_when_due(
    initiator: Initiator,
    live_emulator: EmulatorServer,
    receiver: CallbackReceiver,
    fake_clock: FakeClock,
) -> None:
    ack = initiator.accept(B2C_V3, make_b2c_body(PartyB=RECIPIENT))
    deliver_due(live_emulator, fake_clock, 3)
    record = live_emulator.wait_for_delivery(ack["ConversationID"], timeout=10)
    assert record is not None and record["status_code"] == 200
    [received] = receiver.received
    assert (received["method"], received["path"]) == ("POST", "/hooks/result")
    assert received["headers"]["Content-Type"] == "application/json"
    assert "Authorization" not in received["headers"]
    result = json.loads(received["text"])["Result"]
    assert result["ConversationID"] == ack["ConversationID"]
    assert parameters(result)["TransactionCompletedDateTime"] == "10.07.2024 09:15:29"
    listed = initiator.daraja.http.get(f"{live_emulator.url}/_emulator/callbacks").json()
    assert [(r["product"], r["kind"], r["conversation_id"]) for r in listed] == [
        ("b2c", "result", ack["ConversationID"])
    ]


def test_a_queue_timeout_goes_to_the_queue_timeout_url_instead(
    initiator: Initiator, receiver: CallbackReceiver
) -> None:
    initiator.script(RECIPIENT, result_code=0, queue_timeout=True)
    ack = initiator.accept(B2C_V3, make_b2c_body(PartyB=RECIPIENT))
    settled = initiator.control(ack["OriginatorConversationID"], "settle")
    assert (settled["kind"], settled["url"]) == ("queue_timeout", initiator.timeout_url)
    assert results(receiver, "/hooks/result") == []
    [notice] = results(receiver, "/hooks/timeout")
    assert notice == {
        "ResultType": 0,
        "ResultCode": 26,
        "ResultDesc": "The request timed out while awaiting processing in the queue.",
        "OriginatorConversationID": ack["OriginatorConversationID"],
        "ConversationID": ack["ConversationID"],
        "TransactionID": "SGA0000000",
    }
    assert set(notice) <= set(sample("b2c_result_failure_2001_daraja-docs.json")["Result"])
    accounts = initiator.daraja.http.get(f"{initiator.daraja.server.url}/_emulator/accounts/600992")
    assert accounts.json()["accounts"]["Utility Account"] == "1000000.00"  # never processed


def test_a_queue_timeout_then_the_result(
    initiator: Initiator,
    live_emulator: EmulatorServer,
    receiver: CallbackReceiver,
    fake_clock: FakeClock,
) -> None:
    """API.md §16: timeout notices can precede final results."""
    initiator.script(
        RECIPIENT, result_code=0, queue_timeout=True, then={"result_code": 0, "delay_seconds": 30}
    )
    ack = initiator.accept(B2C_V3, make_b2c_body(PartyB=RECIPIENT, Amount=500))
    deliver_due(live_emulator, fake_clock, 3)
    assert receiver.wait_for(1)
    assert live_emulator.scheduler.run_once() == []
    assert results(receiver, "/hooks/timeout")[0]["ResultCode"] == 26
    deliver_due(live_emulator, fake_clock, 30)
    assert receiver.wait_for(2)
    [result] = results(receiver, "/hooks/result")
    assert result["ResultCode"] == 0
    assert parameters(result)["TransactionCompletedDateTime"] == "10.07.2024 09:15:59"
    assert parameters(result)["B2CUtilityAccountAvailableFunds"] == 999500.00
    settled = initiator.control(ack["ConversationID"], "settle")  # waits for sends in flight
    assert [d["kind"] for d in settled["deliveries"]] == ["queue_timeout", "result"]


@pytest.mark.parametrize(
    ("delivery", "kinds"),
    [("duplicate", ["result", "duplicate"]), ("drop", []), ("early", ["result"])],
)
def test_delivery_modes_apply_to_results(
    initiator: Initiator, receiver: CallbackReceiver, delivery: str, kinds: list[str]
) -> None:
    initiator.script("600992", result_code=0, delivery=delivery)
    ack = initiator.accept(BALANCE, make_balance_body())
    settled = initiator.control(ack["ConversationID"], "settle")
    posted = [d["kind"] for d in settled["deliveries"] if not d["dropped"]]
    assert posted == kinds
    assert len(results(receiver, "/hooks/result")) == len(kinds)


def test_an_early_result_arrives_before_the_acknowledgement(
    initiator: Initiator, receiver: CallbackReceiver
) -> None:
    initiator.script("600992", result_code=0, delivery="early")
    ack = initiator.accept(BALANCE, make_balance_body())
    [result] = results(receiver, "/hooks/result")  # already there when the answer came
    assert result["ConversationID"] == ack["ConversationID"]


@pytest.mark.parametrize(
    ("fault", "status"), [("spike_arrest", 500), ("quota_violation", 500), ("html_503", 503)]
)
def test_throttling_faults_refuse_before_anything_is_stored(
    initiator: Initiator, fault: str, status: int
) -> None:
    initiator.script(RECIPIENT, result_code=0, fault=fault)
    response = initiator.post(B2C_V3, make_b2c_body(PartyB=RECIPIENT))
    assert response.status_code == status
    listed = initiator.daraja.http.get(f"{initiator.daraja.server.url}/_emulator/results")
    assert listed.json() == []


def test_a_nonzero_response_code_fault_is_not_accepted(initiator: Initiator) -> None:
    initiator.script(RECIPIENT, result_code=0, fault="nonzero_response_code")
    answer = initiator.accept(B2C_V3, make_b2c_body(PartyB=RECIPIENT))
    assert answer == {
        "ConversationID": "",
        "OriginatorConversationID": "600992_Test_32et3241ed8yu",
        "ResponseCode": "1",
        "ResponseDescription": "Request not accepted for processing",
    }
    assert initiator.post(B2C_V3, make_b2c_body()).status_code == 200  # its id was not used
