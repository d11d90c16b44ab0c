"""Fixtures for the emulator tests; names avoid the gateway's `app`, `client`, `clock` fixtures."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from daraja_emulator import EmulatorConfig, EmulatorServer, create_app, load_config

from .support import CallbackReceiver, Daraja, FakeClock, StubHttp, bearer_for


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return load_config(None)


@pytest.fixture
def stub_http() -> StubHttp:
    return StubHttp()


@pytest.fixture
def emulator_app(
    emulator_config: EmulatorConfig, fake_clock: FakeClock, stub_http: StubHttp
) -> Any:
    return create_app(
        emulator_config,
        clock=fake_clock,
        http=stub_http,  # type: ignore[arg-type]
        rng=random.Random(7),
    )


@pytest.fixture
def emulator_client(emulator_app: Any) -> Any:
    return emulator_app.test_client()


@pytest.fixture
def bearer(emulator_client: Any) -> dict[str, str]:
    return bearer_for(emulator_client)


@pytest.fixture
def receiver() -> Iterator[CallbackReceiver]:
    receiver = CallbackReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        yield session


@pytest.fixture
def live_emulator(
    emulator_config: EmulatorConfig, fake_clock: FakeClock
) -> Iterator[EmulatorServer]:
    """A real EmulatorServer on loopback, on the fake clock, with its scheduler running."""
    with EmulatorServer(emulator_config, clock=fake_clock, rng=random.Random(11)) as server:
        yield server


@pytest.fixture
def daraja(
    http: requests.Session, live_emulator: EmulatorServer, receiver: CallbackReceiver
) -> Daraja:
    return Daraja(http, live_emulator, receiver.url)
