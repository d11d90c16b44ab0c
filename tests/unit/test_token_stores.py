"""The TokenStore contract, run on memory, the database (SQLite, PostgreSQL) and Redis."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import redis
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, delete, select
from sqlalchemy.engine import Engine

from apg.crypto import SecretBox
from apg.errors import UpstreamUnavailableError
from apg.processors.mpesa.tokens import (
    CachedToken,
    DatabaseTokenStore,
    MemoryTokenStore,
    OAuthToken,
    RedisTokenStore,
    SharedTokenStore,
    TokenStore,
)

POSTGRES_URL = os.environ.get("APG_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("TEST_REDIS_URL")

BUFFER = 60.0
LIFETIME = 3599.0
THREADS = 8
# Fast polling; a claim a broken store failed to release surfaces as a timeout, not a hang.
TIMING = {"poll_seconds": 0.001, "wait_seconds": 5.0}

MakeStore = Callable[..., SharedTokenStore]


class FakeClock:
    """Epoch seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Minter:
    """Daraja's OAuth endpoint as the stores see it: a new token per call, calls counted."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self) -> CachedToken:
        with self._lock:
            self.calls += 1
        return CachedToken(uuid.uuid4().hex[:28], self.clock() + LIFETIME)


class MintFailed(Exception):
    pass


def failing_mint() -> CachedToken:
    raise MintFailed


class TokenStoreContract:
    """What every TokenStore does; subclasses provide a `store` fixture built on `clock`."""

    @pytest.fixture
    def clock(self) -> FakeClock:
        return FakeClock()

    @pytest.fixture
    def mint(self, clock: FakeClock) -> Minter:
        return Minter(clock)

    @pytest.fixture
    def key(self) -> str:
        return f"test:{uuid.uuid4().hex[:12]}"

    def test_reuses_a_token_while_it_is_fresh(
        self, store: TokenStore, mint: Minter, clock: FakeClock, key: str
    ) -> None:
        first = store.token(key, mint, buffer_seconds=BUFFER)
        clock.advance(LIFETIME - BUFFER - 1)
        assert store.token(key, mint, buffer_seconds=BUFFER) == first
        assert mint.calls == 1

    def test_mints_a_new_token_once_inside_the_refresh_buffer(
        self, store: TokenStore, mint: Minter, clock: FakeClock, key: str
    ) -> None:
        first = store.token(key, mint, buffer_seconds=BUFFER)
        clock.advance(LIFETIME - BUFFER)
        second = store.token(key, mint, buffer_seconds=BUFFER)
        assert second != first
        assert store.token(key, mint, buffer_seconds=BUFFER) == second
        assert mint.calls == 2

    def test_racing_threads_share_a_single_mint(
        self, store: TokenStore, mint: Minter, key: str
    ) -> None:
        start = threading.Barrier(THREADS)

        def fetch() -> str:
            start.wait()
            return store.token(key, mint, buffer_seconds=BUFFER)

        with ThreadPoolExecutor(THREADS) as pool:
            values = {f.result() for f in [pool.submit(fetch) for _ in range(THREADS)]}
        assert len(values) == 1
        assert mint.calls == 1

    def test_a_failing_mint_reaches_its_caller_and_releases_the_claim(
        self, store: TokenStore, mint: Minter, key: str
    ) -> None:
        with pytest.raises(MintFailed):
            store.token(key, failing_mint, buffer_seconds=BUFFER)
        assert store.token(key, mint, buffer_seconds=BUFFER)
        assert mint.calls == 1

    def test_invalidate_forgets_the_refused_token(
        self, store: TokenStore, mint: Minter, key: str
    ) -> None:
        refused = store.token(key, mint, buffer_seconds=BUFFER)
        store.invalidate(key, refused)
        assert store.token(key, mint, buffer_seconds=BUFFER) != refused
        assert mint.calls == 2

    def test_invalidating_a_replaced_token_keeps_the_newer_one(
        self, store: TokenStore, mint: Minter, key: str
    ) -> None:
        refused = store.token(key, mint, buffer_seconds=BUFFER)
        store.invalidate(key, refused)
        newer = store.token(key, mint, buffer_seconds=BUFFER)
        store.invalidate(key, refused)  # a slower worker reports the same refusal
        assert store.token(key, mint, buffer_seconds=BUFFER) == newer
        assert mint.calls == 2

    def test_each_credential_set_has_its_own_token(
        self, store: TokenStore, mint: Minter, key: str
    ) -> None:
        one = store.token(f"{key}:one", mint, buffer_seconds=BUFFER)
        two = store.token(f"{key}:two", mint, buffer_seconds=BUFFER)
        assert one != two
        assert mint.calls == 2


class SharedStoreContract(TokenStoreContract):
    """Stores shared by processes; subclasses provide `make_store(**options)` and `raw_value`."""

    @pytest.fixture
    def fernet_key(self) -> str:
        return Fernet.generate_key().decode()

    @pytest.fixture
    def box(self, fernet_key: str) -> SecretBox:
        return SecretBox(fernet_key)

    @pytest.fixture
    def store(self, make_store: MakeStore) -> SharedTokenStore:
        return make_store()

    def test_another_process_reuses_the_stored_token(
        self, make_store: MakeStore, mint: Minter, key: str
    ) -> None:
        first = make_store().token(key, mint, buffer_seconds=BUFFER)
        assert make_store().token(key, mint, buffer_seconds=BUFFER) == first
        assert mint.calls == 1

    def test_the_token_is_stored_encrypted(
        self,
        store: SharedTokenStore,
        mint: Minter,
        key: str,
        box: SecretBox,
        raw_value: Callable[[str], str],
    ) -> None:
        value = store.token(key, mint, buffer_seconds=BUFFER)
        stored = raw_value(key)
        assert value not in stored
        assert box.decrypt(stored) == value

    def test_invalidate_spares_a_token_replaced_while_it_was_checking(
        self, make_store: MakeStore, mint: Minter, key: str, fernet_key: str
    ) -> None:
        other = make_store()
        refused = other.token(key, mint, buffer_seconds=BUFFER)
        newer: list[str] = []

        class ReplacingBox(SecretBox):
            """Lets the other worker replace the token between our read and our delete."""

            def decrypt(self, token: str) -> str:
                if not newer:
                    other.invalidate(key, refused)
                    newer.append(other.token(key, mint, buffer_seconds=BUFFER))
                return super().decrypt(token)

        make_store(box=ReplacingBox(fernet_key)).invalidate(key, refused)
        assert other.token(key, mint, buffer_seconds=BUFFER) == newer[0]
        assert mint.calls == 2

    def test_a_token_under_a_retired_encryption_key_is_minted_anew(
        self, make_store: MakeStore, mint: Minter, key: str
    ) -> None:
        old = make_store().token(key, mint, buffer_seconds=BUFFER)
        rekeyed = make_store(box=SecretBox(Fernet.generate_key().decode()))
        new = rekeyed.token(key, mint, buffer_seconds=BUFFER)
        assert new != old
        assert rekeyed.token(key, mint, buffer_seconds=BUFFER) == new
        assert mint.calls == 2

    def test_a_caller_behind_a_live_lease_gives_up_after_wait_seconds(
        self, store: SharedTokenStore, make_store: MakeStore, mint: Minter, key: str
    ) -> None:
        impatient = make_store(wait_seconds=0)

        def mint_while_another_asks() -> CachedToken:
            with pytest.raises(UpstreamUnavailableError):
                impatient.token(key, mint, buffer_seconds=BUFFER)
            return mint()

        value = store.token(key, mint_while_another_asks, buffer_seconds=BUFFER)
        assert impatient.token(key, mint, buffer_seconds=BUFFER) == value
        assert mint.calls == 1

    def test_a_lapsed_lease_is_taken_over_and_its_late_minter_adopts_the_new_token(
        self, make_store: MakeStore, mint: Minter, clock: FakeClock, key: str
    ) -> None:
        brief = make_store(lease_seconds=0.001)  # lapses at once, in fake and in real time
        successor = make_store()
        taken_over: list[str] = []

        def slow_mint() -> CachedToken:
            clock.advance(1)
            taken_over.append(successor.token(key, mint, buffer_seconds=BUFFER))
            return mint()

        assert brief.token(key, slow_mint, buffer_seconds=BUFFER) == taken_over[0]
        assert successor.token(key, mint, buffer_seconds=BUFFER) == taken_over[0]
        assert mint.calls == 2


class TestMemoryTokenStore(TokenStoreContract):
    @pytest.fixture
    def store(self, clock: FakeClock) -> MemoryTokenStore:
        return MemoryTokenStore(clock)


class TestDatabaseTokenStoreOnSQLite(SharedStoreContract):
    @pytest.fixture
    def engine(self, tmp_path: Path) -> Iterator[Engine]:
        engine = create_engine(f"sqlite:///{tmp_path / 'tokens.db'}")
        OAuthToken.__table__.create(engine)
        yield engine
        engine.dispose()

    @pytest.fixture
    def make_store(self, engine: Engine, box: SecretBox, clock: FakeClock) -> MakeStore:
        def make(**options: Any) -> DatabaseTokenStore:
            return DatabaseTokenStore(engine, options.pop("box", box), clock, **TIMING | options)

        return make

    @pytest.fixture
    def raw_value(self, engine: Engine) -> Callable[[str], str]:
        def raw(key: str) -> str:
            query = select(OAuthToken.value_enc).where(OAuthToken.key == key)
            with engine.connect() as conn:
                return str(conn.scalar(query))

        return raw


@pytest.mark.skipif(not POSTGRES_URL, reason="APG_TEST_DATABASE_URL (PostgreSQL) is not set")
class TestDatabaseTokenStoreOnPostgreSQL(TestDatabaseTokenStoreOnSQLite):
    @pytest.fixture
    def engine(self, key: str) -> Iterator[Engine]:
        engine = create_engine(f"postgresql+psycopg://{str(POSTGRES_URL).split('://', 1)[1]}")
        OAuthToken.__table__.create(engine, checkfirst=True)  # the app's migrations may have
        yield engine
        with engine.begin() as conn:
            conn.execute(delete(OAuthToken).where(OAuthToken.key.startswith(key)))
        engine.dispose()


@pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL is not set")
class TestRedisTokenStore(SharedStoreContract):
    @pytest.fixture
    def client(self) -> Iterator[redis.Redis]:
        client = redis.Redis.from_url(str(REDIS_URL))
        yield client
        client.close()

    @pytest.fixture
    def prefix(self, client: redis.Redis) -> Iterator[str]:
        prefix = f"apg-test:{uuid.uuid4().hex}:"
        yield prefix
        for name in client.scan_iter(f"{prefix}*"):
            client.delete(name)

    @pytest.fixture
    def make_store(
        self, client: redis.Redis, box: SecretBox, clock: FakeClock, prefix: str
    ) -> MakeStore:
        def make(**options: Any) -> RedisTokenStore:
            box_ = options.pop("box", box)
            return RedisTokenStore(client, box_, clock, prefix=prefix, **TIMING | options)

        return make

    @pytest.fixture
    def raw_value(self, client: redis.Redis, prefix: str) -> Callable[[str], str]:
        def raw(key: str) -> str:
            value = client.hget(f"{prefix}{{{key}}}", "value_enc")
            assert isinstance(value, bytes)
            return value.decode()

        return raw

    def test_redis_drops_the_token_when_it_expires(
        self, store: RedisTokenStore, mint: Minter, key: str, client: redis.Redis, prefix: str
    ) -> None:
        store.token(key, mint, buffer_seconds=BUFFER)
        assert 0 < int(client.pttl(f"{prefix}{{{key}}}")) <= LIFETIME * 1000
