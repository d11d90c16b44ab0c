"""Worker processes share one OAuth token: Daraja (the emulator) issues one per token lifetime."""

from __future__ import annotations

import multiprocessing
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest
import redis
import requests
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, delete, update

from apg.crypto import SecretBox
from apg.processors.mpesa.tokens import (
    CachedToken,
    DatabaseTokenStore,
    OAuthToken,
    RedisTokenStore,
    SharedTokenStore,
)
from daraja_emulator import EmulatorServer, load_config

WORKERS = 4
CONSUMER = ("apg-emulator-key", "apg-emulator-secret")
OAUTH_PATH = "/oauth/v1/generate?grant_type=client_credentials"


@dataclass(frozen=True)
class Backend:
    """Where the workers keep the token: picklable, so each process builds its own store."""

    kind: str  # database | redis
    url: str
    fernet_key: str
    key: str  # the credential set's token key
    prefix: str = ""  # redis only

    def store(self) -> SharedTokenStore:
        box = SecretBox(self.fernet_key)
        if self.kind == "redis":
            return RedisTokenStore(redis.Redis.from_url(self.url), box, prefix=self.prefix)
        return DatabaseTokenStore(create_engine(self.url), box)

    def expire_token(self) -> None:
        """Stands for a token lifetime passing: the stored token's expiry moves into the past."""
        if self.kind == "redis":
            with redis.Redis.from_url(self.url) as client:
                client.hset(f"{self.prefix}{{{self.key}}}", "expires_at", "0")
            return
        engine = create_engine(self.url)
        with engine.begin() as conn:
            conn.execute(update(OAuthToken).where(OAuthToken.key == self.key).values(expires_at=0))
        engine.dispose()


def fetch_token(backend: Backend, emulator_url: str, start: Barrier, results: Queue[str]) -> None:
    """One worker process: its own store, then the token, minted by a real OAuth call."""

    def mint() -> CachedToken:
        response = requests.get(f"{emulator_url}{OAUTH_PATH}", auth=CONSUMER, timeout=10)
        response.raise_for_status()
        body = response.json()
        return CachedToken(body["access_token"], time.time() + int(body["expires_in"]))

    try:
        store = backend.store()
        start.wait(timeout=60)
        results.put(store.token(backend.key, mint, buffer_seconds=60))
    except BaseException as exc:
        results.put(f"worker failed: {exc!r}")
        raise


def tokens_from_workers(backend: Backend, emulator_url: str) -> list[str]:
    """Start WORKERS processes at once; the token each one got."""
    spawn = multiprocessing.get_context("spawn")
    start, results = spawn.Barrier(WORKERS), spawn.Queue()
    workers = [
        spawn.Process(target=fetch_token, args=(backend, emulator_url, start, results))
        for _ in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    tokens = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    results.close()
    results.join_thread()
    assert [w.exitcode for w in workers] == [0] * WORKERS, tokens
    return tokens


def tokens_issued(emulator: EmulatorServer) -> int:
    return int(
        requests.get(f"{emulator.url}/_emulator/stats", timeout=5).json()["oauth_tokens_issued"]
    )


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(load_config({})) as server:
        yield server


@pytest.fixture(params=["database", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    fernet_key, key = Fernet.generate_key().decode(), f"e2e:{uuid.uuid4().hex[:12]}"
    if request.param == "redis":
        url = os.environ.get("TEST_REDIS_URL")
        if not url:
            pytest.skip("TEST_REDIS_URL is not set")
        prefix = f"apg-test:{uuid.uuid4().hex}:"
        yield Backend("redis", url, fernet_key, key, prefix)
        with redis.Redis.from_url(url) as client:
            for name in client.scan_iter(f"{prefix}*"):
                client.delete(name)
        return
    postgres = os.environ.get("APG_TEST_DATABASE_URL")
    url = f"postgresql+psycopg://{postgres.split('://', 1)[1]}" if postgres else ""
    engine = create_engine(url or f"sqlite:///{tmp_path / 'tokens.db'}")
    OAuthToken.__table__.create(engine, checkfirst=True)
    yield Backend("database", engine.url.render_as_string(hide_password=False), fernet_key, key)
    with engine.begin() as conn:
        conn.execute(delete(OAuthToken).where(OAuthToken.key == key))
    engine.dispose()


def test_worker_processes_share_one_token_per_lifetime(
    backend: Backend, emulator: EmulatorServer
) -> None:
    first = tokens_from_workers(backend, emulator.url)
    assert len(set(first)) == 1
    assert tokens_issued(emulator) == 1

    backend.expire_token()
    second = tokens_from_workers(backend, emulator.url)
    assert len(set(second)) == 1
    assert second[0] != first[0]
    assert tokens_issued(emulator) == 2
