"""Answer latency: config keys, which answers wait, when, without locks; control API and CLI.

The sleep is injected everywhere: nothing here waits for real.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from daraja_emulator import EmulatorConfigError, EmulatorServer, create_app, load_config
from daraja_emulator.__main__ import build_config, main, parse_args
from daraja_emulator.latency import AnswerLatency
from daraja_emulator.products.stk_push import StkPush
from daraja_emulator.runtime import EXTENSION, Emulator
from daraja_emulator.server import LISTEN_BACKLOG, _ThreadedServer

from .support import FakeClock, StubHttp, basic, bearer_for, make_stk_body

STK = "/mpesa/stkpush/v1/processrequest"
TOKEN = "/oauth/v1/generate?grant_type=client_credentials"
# Every Daraja product path the emulator serves (OAuth aside).
PRODUCT_PATHS = [
    STK,
    "/mpesa/stkpushquery/v1/query",
    "/mpesa/b2c/v3/paymentrequest",
    "/mpesa/b2c/v1/paymentrequest",
    "/mpesa/b2b/v1/paymentrequest",
    "/mpesa/accountbalance/v1/query",
    "/mpesa/transactionstatus/v1/query",
    "/mpesa/reversal/v1/request",
    "/mpesa/c2b/v1/registerurl",
    "/mpesa/c2b/v2/registerurl",
    "/mpesa/c2b/v1/simulate",
    "/mpesa/c2b/v2/simulate",
    "/pulltransactions/v1/register",
    "/pulltransactions/v1/query",
]


class SleepRecorder:
    """Stands in for time.sleep: records each wait, runs `during` (if set) instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.during: Any = None

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.during is not None:
            self.during()


@pytest.fixture
def slept() -> SleepRecorder:
    return SleepRecorder()


def latency_app(slept: SleepRecorder, fake_clock: FakeClock, **config: Any) -> Any:
    settings = {"answer_latency_seconds": 1.5, "auto_deliver": False, **config}
    return create_app(
        load_config(settings),
        clock=fake_clock,
        http=StubHttp(),  # type: ignore[arg-type]
        rng=random.Random(5),
        sleep=slept,
    )


def emulator_of(app: Any) -> Emulator:
    emulator: Emulator = app.extensions[EXTENSION]
    return emulator


# --- config -------------------------------------------------------------------------------


def test_defaults_answer_at_once() -> None:
    config = load_config(None)
    assert (
        config.answer_latency_seconds,
        config.answer_latency_jitter_seconds,
        config.answer_latency_oauth,
    ) == (0, 0, False)
    assert config.answer_latency == AnswerLatency()


def test_given_keys_are_read() -> None:
    config = load_config(
        {
            "answer_latency_seconds": 1,
            "answer_latency_jitter_seconds": 0.25,
            "answer_latency_oauth": True,
        }
    )
    assert config.answer_latency == AnswerLatency(1, 0.25, oauth=True)


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"answer_latency_seconds": -1}, "emulator.answer_latency_seconds: must be a number"),
        ({"answer_latency_seconds": -0.001}, "emulator.answer_latency_seconds: must be a number"),
        ({"answer_latency_seconds": "1"}, "emulator.answer_latency_seconds: must be a number"),
        ({"answer_latency_seconds": True}, "emulator.answer_latency_seconds: must be a number"),
        (
            {"answer_latency_seconds": float("inf")},
            "emulator.answer_latency_seconds: must be a number",
        ),
        (
            {"answer_latency_seconds": float("nan")},
            "emulator.answer_latency_seconds: must be a number",
        ),
        (
            {"answer_latency_jitter_seconds": -0.5},
            "emulator.answer_latency_jitter_seconds: must be a number of seconds >= 0",
        ),
        ({"answer_latency_oauth": "yes"}, "emulator.answer_latency_oauth: must be a boolean"),
        ({"answer_latency": 1}, "emulator.answer_latency: unknown key"),
    ],
)
def test_bad_latency_keys_name_the_key(mapping: dict[str, Any], message: str) -> None:
    with pytest.raises(EmulatorConfigError) as caught:
        load_config(mapping)
    assert str(caught.value).startswith(message)


# --- which answers wait, and when -----------------------------------------------------------


def test_an_stk_push_answer_waits_the_latency(slept: SleepRecorder, fake_clock: FakeClock) -> None:
    client = latency_app(slept, fake_clock).test_client()
    headers = bearer_for(client)
    assert slept.waits == []  # the token request did not wait
    response = client.post(STK, json=make_stk_body(), headers=headers)
    assert response.status_code == 200
    assert slept.waits == [1.5]


@pytest.mark.parametrize("path", PRODUCT_PATHS)
def test_every_product_answer_waits_even_an_error(
    slept: SleepRecorder, fake_clock: FakeClock, path: str
) -> None:
    client = latency_app(slept, fake_clock).test_client()
    headers = bearer_for(client)
    response = client.post(path, json={}, headers=headers)  # an empty body: a Daraja error
    assert 400 <= response.status_code < 600
    no_token = client.post(path, json={})  # refused before the body is read
    assert 400 <= no_token.status_code < 500
    assert slept.waits == [1.5, 1.5]


def test_oauth_control_api_and_routing_errors_answer_at_once(
    slept: SleepRecorder, fake_clock: FakeClock
) -> None:
    client = latency_app(slept, fake_clock).test_client()
    assert client.get(TOKEN, headers={"Authorization": basic()}).status_code == 200
    assert client.get(TOKEN, headers={"Authorization": basic(secret="wrong")}).status_code == 400
    assert client.get("/_emulator/stats").status_code == 200
    assert client.get("/mpesa/nothing/here").status_code == 404
    assert client.get(STK).status_code == 405
    assert slept.waits == []


def test_oauth_waits_too_when_answer_latency_oauth(
    slept: SleepRecorder, fake_clock: FakeClock
) -> None:
    client = latency_app(slept, fake_clock, answer_latency_oauth=True).test_client()
    client.get(TOKEN, headers={"Authorization": basic()})
    client.get(TOKEN, headers={"Authorization": basic(secret="wrong")})
    assert slept.waits == [1.5, 1.5]


def test_zero_latency_never_calls_sleep(slept: SleepRecorder, fake_clock: FakeClock) -> None:
    client = latency_app(slept, fake_clock, answer_latency_seconds=0).test_client()
    client.post(STK, json=make_stk_body(), headers=bearer_for(client))
    assert slept.waits == []


def test_jitter_adds_a_uniform_draw_up_to_the_jitter(
    slept: SleepRecorder, fake_clock: FakeClock
) -> None:
    app = latency_app(slept, fake_clock, answer_latency_jitter_seconds=0.5)
    emulator_of(app).latency_rng = random.Random(1)
    client = app.test_client()
    headers = bearer_for(client)
    for _ in range(20):
        client.post(STK, json={}, headers=headers)
    assert len(slept.waits) == 20
    assert all(1.5 <= wait <= 2.0 for wait in slept.waits)
    assert len(set(slept.waits)) == 20  # drawn for each answer


def test_draw_is_the_latency_plus_a_uniform_share_of_the_jitter() -> None:
    class Midpoint(random.Random):
        def uniform(self, a: float, b: float) -> float:
            return (a + b) / 2

    assert AnswerLatency(1, 0.5).draw(Midpoint()) == 1.25
    assert AnswerLatency(1).draw(Midpoint()) == 1


def test_the_push_is_accepted_before_the_answer_waits(
    slept: SleepRecorder, fake_clock: FakeClock
) -> None:
    app = latency_app(slept, fake_clock)
    emulator, client = emulator_of(app), app.test_client()
    seen: list[int] = []
    slept.during = lambda: seen.append(
        sum(isinstance(t, StkPush) for t in emulator.state.transactions())
    )
    client.post(STK, json=make_stk_body(), headers=bearer_for(client))
    assert seen == [1]  # stored (and its callback scheduled) while the answer waits


def test_the_wait_holds_no_emulator_lock(slept: SleepRecorder, fake_clock: FakeClock) -> None:
    app = latency_app(slept, fake_clock)
    emulator, client = emulator_of(app), app.test_client()
    other_thread_got: list[str] = []

    def touch_shared_state() -> None:  # what concurrent requests need, from another thread
        emulator.state.count("probe")
        emulator.state.transactions()
        with emulator.books.lock:
            other_thread_got.append("state and books")

    def during_the_wait() -> None:
        worker = threading.Thread(target=touch_shared_state)
        worker.start()
        worker.join(timeout=10)
        assert not worker.is_alive(), "a lock is held while the answer waits"

    slept.during = during_the_wait
    response = client.post(STK, json=make_stk_body(), headers=bearer_for(client))
    assert response.status_code == 200
    assert other_thread_got == ["state and books"]


def test_many_answers_wait_at_the_same_time_on_the_real_server(fake_clock: FakeClock) -> None:
    """Each wait blocks until all of them are waiting: if answers waited one after another
    (a lock, a single worker), the barrier would break and the answers would be 500s."""
    concurrent = 24
    everyone_waiting = threading.Barrier(concurrent)

    def sleep(seconds: float) -> None:
        assert seconds == 1
        everyone_waiting.wait(timeout=10)

    config = load_config({"answer_latency_seconds": 1, "auto_deliver": False})
    with EmulatorServer(config, clock=fake_clock, rng=random.Random(2), sleep=sleep) as server:
        with requests.Session() as http:
            http.trust_env = False
            token = http.get(
                f"{server.url}{TOKEN}", headers={"Authorization": basic()}, timeout=30
            ).json()["access_token"]

        def push(n: int) -> int:
            phone = f"2547{n:08d}"
            with requests.Session() as session:
                session.trust_env = False
                response = session.post(
                    f"{server.url}{STK}",
                    json=make_stk_body(PartyA=phone, PhoneNumber=phone),
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=30,
                )
            return response.status_code

        with ThreadPoolExecutor(concurrent) as pool:
            statuses = list(pool.map(push, range(concurrent)))
    assert statuses == [200] * concurrent
    assert not everyone_waiting.broken


def test_the_listen_backlog_takes_hundreds_of_connections_at_once() -> None:
    assert LISTEN_BACKLOG >= 1024
    with EmulatorServer(load_config({"auto_deliver": False})) as server:
        assert server._server is not None
        assert server._server.request_queue_size == LISTEN_BACKLOG


def request_workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "daraja-emulator-request"]


def wait_until(condition: Any, timeout: float = 10) -> bool:
    done = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if condition():
            return True
        done.wait(0.01)
    return bool(condition())


def test_connections_reuse_an_idle_worker_and_workers_end_with_the_server() -> None:
    before = set(request_workers())
    with EmulatorServer(load_config({"auto_deliver": False})) as server, requests.Session() as http:
        http.trust_env = False
        pool = server._server
        assert isinstance(pool, _ThreadedServer)
        for _ in range(5):
            assert http.get(f"{server.url}/_emulator/health", timeout=10).status_code == 200
            assert wait_until(lambda: pool._idle == 1)  # the worker is back, waiting
        workers = [t for t in request_workers() if t not in before]
        assert len(workers) == 1  # one thread served the five connections
    workers[0].join(timeout=10)
    assert not workers[0].is_alive()  # stop() dismissed the idle worker


# --- control API ---------------------------------------------------------------------------


def test_control_api_shows_and_changes_the_latency(
    slept: SleepRecorder, fake_clock: FakeClock
) -> None:
    client = latency_app(slept, fake_clock).test_client()
    configured = {
        "answer_latency_seconds": 1.5,
        "answer_latency_jitter_seconds": 0,
        "answer_latency_oauth": False,
    }
    assert client.get("/_emulator/latency").get_json() == {**configured, "configured": configured}

    response = client.put(
        "/_emulator/latency", json={"answer_latency_seconds": 0.25, "answer_latency_oauth": True}
    )
    assert response.status_code == 200
    assert response.get_json() == {
        "answer_latency_seconds": 0.25,
        "answer_latency_jitter_seconds": 0,
        "answer_latency_oauth": True,
        "configured": configured,
    }
    headers = bearer_for(client)  # OAuth waits now
    client.post(STK, json=make_stk_body(), headers=headers)
    assert slept.waits == [0.25, 0.25]

    restored = client.delete("/_emulator/latency").get_json()
    assert restored == {**configured, "configured": configured}
    client.post(STK, json={}, headers=headers)
    assert slept.waits == [0.25, 0.25, 1.5]


def test_reset_restores_the_configured_latency(slept: SleepRecorder, fake_clock: FakeClock) -> None:
    client = latency_app(slept, fake_clock).test_client()
    client.put("/_emulator/latency", json={"answer_latency_seconds": 3})
    client.post("/_emulator/reset")
    assert client.get("/_emulator/latency").get_json()["answer_latency_seconds"] == 1.5


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"answer_latency_seconds": -1}, "latency.answer_latency_seconds: must be a number"),
        ({"answer_latency_jitter_seconds": "x"}, "latency.answer_latency_jitter_seconds: must"),
        ({"answer_latency_oauth": 1}, "latency.answer_latency_oauth: must be a boolean"),
        ({"latency": 1}, "latency.latency: unknown key"),
        ([1], "latency: must be a mapping"),
    ],
)
def test_control_api_refuses_bad_values_and_keeps_the_latency(
    slept: SleepRecorder, fake_clock: FakeClock, body: Any, message: str
) -> None:
    client = latency_app(slept, fake_clock).test_client()
    response = client.put("/_emulator/latency", json=body)
    assert response.status_code == 400
    assert response.get_json()["errorCode"] == "emulator.bad_request"
    assert response.get_json()["errorMessage"].startswith(message)
    assert client.get("/_emulator/latency").get_json()["answer_latency_seconds"] == 1.5


def test_control_api_refuses_a_body_that_is_not_json(
    slept: SleepRecorder, fake_clock: FakeClock
) -> None:
    client = latency_app(slept, fake_clock).test_client()
    response = client.put("/_emulator/latency", data="1 s", content_type="text/plain")
    assert response.status_code == 400
    assert response.get_json()["errorMessage"] == "latency: the body must be a JSON object"


# --- command line --------------------------------------------------------------------------


def test_latency_flag_is_parsed() -> None:
    assert parse_args(["--latency", "1.5"]).latency == 1.5
    assert parse_args([]).latency is None


def test_latency_flag_overrides_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "mpesa.yaml"
    path.write_text("emulator:\n  answer_latency_seconds: 3\n  answer_latency_jitter_seconds: 1\n")
    from_file = build_config(parse_args(["--config", str(path)]))
    assert from_file.answer_latency == AnswerLatency(3, 1)
    overridden = build_config(parse_args(["--config", str(path), "--latency", "0.5"]))
    assert overridden.answer_latency == AnswerLatency(0.5, 1)
    assert overridden == dataclasses.replace(from_file, answer_latency_seconds=0.5)
    assert build_config(parse_args(["--latency", "1"])).answer_latency == AnswerLatency(1)


@pytest.mark.parametrize("value", ["-1", "inf", "nan"])
def test_a_bad_latency_flag_is_a_config_error(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(EmulatorConfigError, match=r"^--latency: must be a number of seconds >= 0"):
        build_config(argparse.Namespace(config=None, latency=float(value)))
    assert main(["--port", "0", f"--latency={value}"]) == 2  # before anything binds
    assert "config error: --latency: must be a number of seconds >= 0" in capsys.readouterr().err
