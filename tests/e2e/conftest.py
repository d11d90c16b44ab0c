"""Fixtures of the callback fuzz tests: the unthrottled gateway and a tenant with operations."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from apg.clock import Clock
from tests.support.fuzzing import (
    FuzzTenant,
    make_fuzz_tenant,
    make_waiting_operations,
    unthrottled_app,
)
from tests.support.servers import LiveServer, Receiver


@pytest.fixture(scope="module")
def fuzz_app(app: Flask, clock: Clock) -> Iterator[Flask]:
    with unthrottled_app(app, clock) as fuzz:
        yield fuzz


@pytest.fixture
def target(fuzz_app: Flask) -> FuzzTenant:
    """A tenant with one completed and one waiting operation of every kind."""
    tenant = make_fuzz_tenant(fuzz_app)
    make_waiting_operations(fuzz_app, tenant.id)
    return tenant


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    hook = Receiver()
    server = LiveServer(hook).start()
    yield hook, f"{server.url}/hooks"
    server.stop()
