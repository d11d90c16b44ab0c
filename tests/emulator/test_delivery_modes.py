"""Scenario `delivery` (drop, duplicate, early) and `then` follow-ups over real loopback HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from daraja_emulator import EmulatorServer

from .support import CallbackReceiver, Daraja, FakeClock

PHONE = "254711000001"


def result_codes(texts: list[str]) -> list[Any]:
    return [json.loads(text)["Body"]["stkCallback"]["ResultCode"] for text in texts]


def query_code(daraja: Daraja, checkout_id: str) -> str:
    response = daraja.query(checkout_id)
    assert response.status_code == 200, response.text
    return str(response.json()["ResultCode"])


def deliver_due(server: EmulatorServer, clock: FakeClock, seconds: float) -> None:
    clock.advance(seconds)
    server.scheduler.wake()


@pytest.fixture
def gate(receiver: CallbackReceiver) -> Iterator[threading.Event]:
    receiver.gate = threading.Event()
    yield receiver.gate
    receiver.gate.set()


def test_dropped_callback_is_decided_but_never_posted(
    daraja: Daraja, live_emulator: EmulatorServer, receiver: CallbackReceiver, fake_clock: FakeClock
) -> None:
    daraja.script(PHONE, result_code=1032, delivery="drop")
    checkout_id = daraja.push(PHONE)
    deliver_due(live_emulator, fake_clock, 3)
    record = live_emulator.wait_for_delivery(checkout_id, timeout=10)
    assert record is not None
    assert (record["kind"], record["dropped"], record["status_code"]) == ("callback", True, None)
    assert query_code(daraja, checkout_id) == "1032"
    assert live_emulator.scheduler.run_once() == []
    assert daraja.control(checkout_id, "settle")["dropped"] is True
    assert receiver.received == []
    assert daraja.http.get(f"{live_emulator.url}/_emulator/callbacks").json() == []


def test_settle_of_a_dropped_push_posts_nothing(daraja: Daraja, receiver: CallbackReceiver) -> None:
    daraja.script(PHONE, result_code=0, delivery="drop")
    checkout_id = daraja.push(PHONE)
    answer = daraja.control(checkout_id, "settle")
    assert (answer["dropped"], answer["error"]) == (True, None)
    assert [d["dropped"] for d in answer["deliveries"]] == [True]
    assert query_code(daraja, checkout_id) == "0"
    assert receiver.received == []


def test_duplicate_posts_the_first_callback_twice_back_to_back(
    daraja: Daraja, live_emulator: EmulatorServer, receiver: CallbackReceiver, fake_clock: FakeClock
) -> None:
    daraja.script(PHONE, result_code=0, delivery="duplicate")
    checkout_id = daraja.push(PHONE)
    deliver_due(live_emulator, fake_clock, 3)
    assert receiver.wait_for(2)
    first, second = receiver.texts_for(checkout_id)
    assert first == second
    settled = daraja.control(checkout_id, "settle")  # nothing left to send
    assert [d["kind"] for d in settled["deliveries"]] == ["callback", "duplicate"]
    assert [d["status_code"] for d in settled["deliveries"]] == [200, 200]
    assert live_emulator.scheduler.run_once() == []
    assert len(receiver.received) == 2


def test_early_callback_is_posted_before_the_push_is_answered(
    daraja: Daraja, receiver: CallbackReceiver, gate: threading.Event
) -> None:
    daraja.script(PHONE, result_code=0, delivery="early")
    answers: list[requests.Response] = []
    pusher = threading.Thread(target=lambda: answers.append(daraja.post_push(PHONE)))
    pusher.start()
    assert receiver.wait_for(1)  # the callback is held at the receiver …
    assert answers == [] and pusher.is_alive()  # … and the push is still unanswered
    gate.set()
    pusher.join()
    [answer] = answers
    assert answer.status_code == 200
    checkout_id = answer.json()["CheckoutRequestID"]
    assert len(receiver.texts_for(checkout_id)) == 1


def test_early_push_is_decided_at_accept_time_and_sent_once(
    daraja: Daraja, live_emulator: EmulatorServer, receiver: CallbackReceiver
) -> None:
    daraja.script(PHONE, result_code=1032, delivery="early")
    checkout_id = daraja.push(PHONE)
    assert result_codes(receiver.texts_for(checkout_id)) == [1032]  # already there
    assert query_code(daraja, checkout_id) == "1032"  # the fake clock has not moved
    assert live_emulator.scheduler.run_once() == []
    settled = daraja.control(checkout_id, "settle")
    assert settled["kind"] == "callback" and settled["status_code"] == 200
    assert len(receiver.received) == 1


def test_follow_up_comes_after_its_delay_and_query_reports_it_once_due(
    daraja: Daraja, live_emulator: EmulatorServer, receiver: CallbackReceiver, fake_clock: FakeClock
) -> None:
    """1037 (Daraja's timeout notice) at 60 s, then the real result 30 s later."""
    daraja.script(PHONE, result_code=1037, then={"result_code": 0, "delay_seconds": 30})
    checkout_id = daraja.push(PHONE)
    deliver_due(live_emulator, fake_clock, 60)
    assert live_emulator.wait_for_delivery(checkout_id, timeout=10) is not None
    assert query_code(daraja, checkout_id) == "1037"
    fake_clock.advance(29.9)
    assert live_emulator.scheduler.run_once() == []
    assert query_code(daraja, checkout_id) == "1037"
    deliver_due(live_emulator, fake_clock, 0.1)
    assert receiver.wait_for(2)
    texts = receiver.texts_for(checkout_id)
    assert result_codes(texts) == [1037, 0]
    items = json.loads(texts[1])["Body"]["stkCallback"]["CallbackMetadata"]["Item"]
    values = {item["Name"]: item.get("Value") for item in items}
    assert values["TransactionDate"] == 20240710091656  # accepted 09:15:26 + 60 s + 30 s
    assert query_code(daraja, checkout_id) == "0"
    # The receiver has the POST before the emulator records it; settle waits for the record.
    settled = daraja.control(checkout_id, "settle")
    assert [d["kind"] for d in settled["deliveries"]] == ["callback", "follow_up"]
    view = daraja.http.get(f"{live_emulator.url}/_emulator/stkpush/{checkout_id}").json()
    assert view["receipt"] == values["MpesaReceiptNumber"]


def test_settle_delivers_first_duplicate_and_follow_up_in_order(
    daraja: Daraja, receiver: CallbackReceiver
) -> None:
    daraja.script(
        PHONE, result_code=1037, delivery="duplicate", then={"result_code": 0, "delay_seconds": 30}
    )
    checkout_id = daraja.push(PHONE)
    settled = daraja.control(checkout_id, "settle")
    assert [d["kind"] for d in settled["deliveries"]] == ["callback", "duplicate", "follow_up"]
    assert settled["kind"] == "callback" and settled["body"] == settled["deliveries"][0]["body"]
    assert result_codes(receiver.texts_for(checkout_id)) == [1037, 1037, 0]
    assert query_code(daraja, checkout_id) == "0"


def test_drop_also_drops_the_follow_up(daraja: Daraja, receiver: CallbackReceiver) -> None:
    daraja.script(PHONE, result_code=1037, delivery="drop", then={"result_code": 1032})
    checkout_id = daraja.push(PHONE)
    settled = daraja.control(checkout_id, "settle")
    assert [(d["kind"], d["dropped"]) for d in settled["deliveries"]] == [
        ("callback", True),
        ("follow_up", True),
    ]
    assert query_code(daraja, checkout_id) == "1032"
    assert receiver.received == []


def test_early_callback_then_a_scheduled_follow_up(
    daraja: Daraja, live_emulator: EmulatorServer, receiver: CallbackReceiver, fake_clock: FakeClock
) -> None:
    daraja.script(
        PHONE, result_code=1037, delivery="early", then={"result_code": 0, "delay_seconds": 5}
    )
    checkout_id = daraja.push(PHONE)
    assert result_codes(receiver.texts_for(checkout_id)) == [1037]
    deliver_due(live_emulator, fake_clock, 5)
    assert receiver.wait_for(2)
    assert result_codes(receiver.texts_for(checkout_id)) == [1037, 0]


def test_redeliver_repeats_the_latest_due_callback(
    daraja: Daraja, receiver: CallbackReceiver
) -> None:
    daraja.script(PHONE, result_code=1037, then={"result_code": 0})
    checkout_id = daraja.push(PHONE)
    daraja.control(checkout_id, "settle")
    record = daraja.control(checkout_id, "redeliver")
    assert record["kind"] == "redelivery"
    assert result_codes(receiver.texts_for(checkout_id)) == [1037, 0, 0]


def test_settles_racing_the_scheduler_post_each_scheduled_callback_once(
    daraja: Daraja, live_emulator: EmulatorServer, receiver: CallbackReceiver, fake_clock: FakeClock
) -> None:
    phones = [f"2547200000{n:02d}" for n in range(8)]
    for phone in phones:
        daraja.script(
            phone,
            result_code=1037,
            delivery="duplicate",
            then={"result_code": 0, "delay_seconds": 0},
        )
    checkout_ids = [daraja.push(phone) for phone in phones]
    start = threading.Barrier(len(checkout_ids) + 1)

    def settle(checkout_id: str) -> None:
        start.wait()
        daraja.control(checkout_id, "settle")

    settlers = [threading.Thread(target=settle, args=(cid,)) for cid in checkout_ids]
    for settler in settlers:
        settler.start()
    start.wait()
    deliver_due(live_emulator, fake_clock, 60)
    for settler in settlers:
        settler.join()
    assert live_emulator.scheduler.run_once() == []
    for checkout_id in checkout_ids:
        assert result_codes(receiver.texts_for(checkout_id)) == [1037, 1037, 0]
    assert len(receiver.received) == 3 * len(checkout_ids)
