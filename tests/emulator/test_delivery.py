"""Callback delivery: scheduler timing, settle/redeliver, failures, exactly-once under races."""

from __future__ import annotations

import dataclasses
import json
import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from daraja_emulator import EmulatorConfig, EmulatorServer
from daraja_emulator.delivery import mask_tokens

from .support import CallbackReceiver, Daraja, FakeClock, serve


def test_redeliver_posts_an_identical_duplicate(daraja: Daraja, receiver: CallbackReceiver) -> None:
    checkout_id = daraja.push()
    first = daraja.control(checkout_id, "settle")
    second = daraja.control(checkout_id, "redeliver")
    assert (first["kind"], second["kind"]) == ("callback", "redelivery")
    assert second["status_code"] == 200
    assert receiver.texts_for(checkout_id) == [first["body"], first["body"]]


def test_no_answer_is_not_delivered_before_the_timeout(
    daraja: Daraja, live_emulator: EmulatorServer, fake_clock: FakeClock
) -> None:
    checkout_id = daraja.push("254708374152")
    fake_clock.advance(59.9)
    assert live_emulator.scheduler.run_once() == []
    fake_clock.advance(0.1)
    live_emulator.scheduler.wake()
    record = live_emulator.wait_for_delivery(checkout_id, timeout=10)
    assert record is not None
    assert json.loads(record["body"])["Body"]["stkCallback"]["ResultCode"] == 1037


def test_zero_delay_push_is_delivered_without_any_nudge(
    emulator_config: EmulatorConfig,
    fake_clock: FakeClock,
    http: requests.Session,
    receiver: CallbackReceiver,
) -> None:
    with serve(
        dataclasses.replace(emulator_config, callback_delay_seconds=0), fake_clock
    ) as server:
        checkout_id = Daraja(http, server, receiver.url).push()
        record = server.wait_for_delivery(checkout_id, timeout=10)
    assert record is not None and record["status_code"] == 200


def test_without_auto_deliver_only_settle_sends(
    emulator_config: EmulatorConfig,
    fake_clock: FakeClock,
    http: requests.Session,
    receiver: CallbackReceiver,
) -> None:
    config = dataclasses.replace(emulator_config, auto_deliver=False, callback_delay_seconds=0)
    with serve(config, fake_clock) as server:
        daraja = Daraja(http, server, receiver.url)
        checkout_id = daraja.push()
        server.scheduler.wake()
        assert server.wait_for_delivery(checkout_id, timeout=0.2) is None
        assert receiver.received == []
        assert daraja.control(checkout_id, "settle")["status_code"] == 200
    assert len(receiver.received) == 1


def test_wait_for_delivery_wakes_when_another_thread_delivers(
    daraja: Daraja, live_emulator: EmulatorServer
) -> None:
    checkout_id = daraja.push()
    seen: list[dict[str, Any] | None] = []
    waiter = threading.Thread(
        target=lambda: seen.append(live_emulator.wait_for_delivery(checkout_id, timeout=10))
    )
    waiter.start()
    settled = daraja.control(checkout_id, "settle")
    waiter.join()
    assert seen == settled["deliveries"]


def test_unreachable_callback_url_is_recorded_once(daraja: Daraja) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    daraja.callback_url = f"http://127.0.0.1:{closed_port}/callbacks/stk"
    checkout_id = daraja.push()
    record = daraja.control(checkout_id, "settle")
    assert record["status_code"] is None
    assert record["error"].startswith("ConnectionError")


def test_receiver_error_status_is_recorded_without_retry(
    daraja: Daraja, live_emulator: EmulatorServer, receiver: CallbackReceiver, fake_clock: FakeClock
) -> None:
    receiver.status = "500 Internal Server Error"
    checkout_id = daraja.push()
    record = daraja.control(checkout_id, "settle")
    assert record["status_code"] == 500
    fake_clock.advance(3600)
    assert live_emulator.scheduler.run_once() == []
    assert len(receiver.received) == 1


@pytest.fixture
def gate(receiver: CallbackReceiver) -> Iterator[threading.Event]:
    receiver.gate = threading.Event()
    yield receiver.gate
    receiver.gate.set()


def test_settle_racing_the_scheduler_delivers_exactly_once(
    daraja: Daraja,
    live_emulator: EmulatorServer,
    receiver: CallbackReceiver,
    fake_clock: FakeClock,
    gate: threading.Event,
) -> None:
    """While settle's POST is in flight, neither the scheduler nor a second settle resends."""
    checkout_id = daraja.push()
    answers: list[dict[str, Any]] = []
    settlers = [
        threading.Thread(target=lambda: answers.append(daraja.control(checkout_id, "settle")))
        for _ in range(2)
    ]
    settlers[0].start()
    assert receiver.wait_for(1)  # the first POST is now held at the receiver
    fake_clock.advance(3)
    assert live_emulator.scheduler.run_once() == []  # already claimed by settle
    settlers[1].start()
    gate.set()
    for settler in settlers:
        settler.join()
    assert len(receiver.received) == 1
    assert answers[0] == answers[1]
    assert len(live_emulator.emulator.state.deliveries()) == 1


def test_many_settles_racing_the_scheduler_deliver_each_push_once(
    daraja: Daraja,
    live_emulator: EmulatorServer,
    receiver: CallbackReceiver,
    fake_clock: FakeClock,
) -> None:
    phones = [f"2547100000{n:02d}" for n in range(12)]
    checkout_ids = [daraja.push(phone) for phone in phones]
    start = threading.Barrier(len(checkout_ids) + 1)

    def settle(checkout_id: str) -> None:
        start.wait()
        daraja.control(checkout_id, "settle")

    settlers = [threading.Thread(target=settle, args=(cid,)) for cid in checkout_ids]
    for settler in settlers:
        settler.start()
    start.wait()
    fake_clock.advance(3)
    live_emulator.scheduler.wake()
    for settler in settlers:
        settler.join()
    for checkout_id in checkout_ids:
        assert live_emulator.wait_for_delivery(checkout_id, timeout=10) is not None
    assert live_emulator.scheduler.run_once() == []
    assert sorted(cid for cid in checkout_ids for _ in receiver.texts_for(cid)) == sorted(
        checkout_ids
    )
    assert len(receiver.received) == len(checkout_ids)


TOKEN = "Zq3x9VbN7mK2pL5tRw8y_-A"  # 23 characters, like the gateway's callback tokens


def delivery_log(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.name == "daraja_emulator.delivery")


def test_callback_url_tokens_are_masked_in_the_log_but_not_in_the_record(
    daraja: Daraja, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="daraja_emulator.delivery")
    daraja.callback_url = f"{daraja.callback_url}/{TOKEN}/done"
    checkout_id = daraja.push()
    record = daraja.control(checkout_id, "settle")
    daraja.control(checkout_id, "redeliver")
    assert record["url"].endswith(f"/callbacks/stk/{TOKEN}/done")  # stored as sent
    lines = delivery_log(caplog)
    assert TOKEN not in lines
    assert f"/callbacks/stk/{TOKEN[:4]}…/done: 200" in lines
    assert lines.count("…") == 2  # callback and redelivery


def test_tokens_in_delivery_errors_are_masked_in_the_log(
    daraja: Daraja, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="daraja_emulator.delivery")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    daraja.callback_url = f"http://127.0.0.1:{closed_port}/cb/{TOKEN}"
    record = daraja.control(daraja.push(), "settle")
    assert TOKEN in record["error"]  # requests quotes the path in its message
    lines = delivery_log(caplog)
    assert "ConnectionError" in lines and TOKEN not in lines


@pytest.mark.parametrize(
    ("url", "logged"),
    [
        ("https://h.example/cb/abcdefghijklmnop", "https://h.example/cb/abcd…"),  # 16
        ("https://h.example/cb/abcdefghijklmno", "https://h.example/cb/abcdefghijklmno"),  # 15
        ("https://h.example/abcdefghijklmnop.json", "https://h.example/abcdefghijklmnop.json"),
        ("https://h.example/a/0123456789abcdef0123?t=1", "https://h.example/a/0123…?t=1"),
        (
            "https://averyveryverylonghostname.example/x",
            "https://averyveryverylonghostname.example/x",
        ),
    ],
)
def test_mask_tokens_shortens_long_path_segments_only(url: str, logged: str) -> None:
    assert mask_tokens(url) == logged
