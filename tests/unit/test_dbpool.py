"""Pooled connections are checked only after sitting idle, and a dead one is replaced."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine

from apg.dbpool import ping_when_idle
from apg.extensions import db


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def idle_clock() -> Clock:
    return Clock()


@pytest.fixture
def engine(tmp_path: Path, idle_clock: Clock) -> Engine:
    engine = create_engine(f"sqlite:///{tmp_path / 'pool.db'}", pool_size=1, max_overflow=0)
    ping_when_idle(engine, idle_seconds=30, clock=idle_clock)
    return engine


def connections(engine: Engine) -> list[int]:
    """The ids of the DBAPI connections opened, in order."""
    opened: list[int] = []
    event.listen(engine, "connect", lambda dbapi, record: opened.append(id(dbapi)))
    return opened


def kill_the_pooled_connection(engine: Engine) -> None:
    raw = engine.raw_connection()
    dbapi = raw.driver_connection
    raw.close()  # back to the pool, alive
    dbapi.close()  # type: ignore[union-attr]  # then cut under the pool's feet


def test_a_connection_idle_past_the_limit_that_died_is_replaced(
    engine: Engine, idle_clock: Clock
) -> None:
    opened = connections(engine)
    kill_the_pooled_connection(engine)
    idle_clock.now += 31
    with engine.connect() as connection:
        assert connection.execute(text("SELECT 2")).scalar() == 2
    assert len(opened) == 2  # the first, dead, and its replacement


def test_a_connection_used_moments_ago_is_not_checked(engine: Engine, idle_clock: Clock) -> None:
    """No round trip on the hot path: the check runs only after idling (this one died, and
    only its first statement shows it)."""
    kill_the_pooled_connection(engine)
    idle_clock.now += 5
    with pytest.raises(Exception, match="closed"), engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def test_a_live_idle_connection_is_kept(engine: Engine, idle_clock: Clock) -> None:
    opened = connections(engine)
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    idle_clock.now += 3600
    with engine.connect() as connection:
        assert connection.execute(text("SELECT 3")).scalar() == 3
    assert len(opened) == 1


def test_the_gateway_checks_idle_connections_instead_of_every_checkout(app: Flask) -> None:
    with app.app_context():
        pool = db.engine.pool
    assert not pool._pre_ping  # no round trip per transaction
    assert any(listener.__name__ == "_alive" for listener in pool.dispatch.checkout)  # apg.dbpool's
