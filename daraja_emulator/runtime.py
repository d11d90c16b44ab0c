"""The per-app emulator runtime (config, clock, ids, state, books, callback sender) and how to
reach it."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

import requests
from flask import current_app

from daraja_emulator.clock import Clock
from daraja_emulator.config import EmulatorConfig
from daraja_emulator.delivery import CallbackSender
from daraja_emulator.ids import IdGenerator
from daraja_emulator.latency import AnswerLatency, Sleep
from daraja_emulator.ledger import Books
from daraja_emulator.scenarios import Scenario
from daraja_emulator.state import EmulatorState

EXTENSION = "daraja_emulator"


@dataclass
class Emulator:
    """Everything one emulator app shares between requests and background threads."""

    config: EmulatorConfig
    clock: Clock
    ids: IdGenerator
    state: EmulatorState
    books: Books
    sender: CallbackSender
    owns_http: bool
    # The answer latency in force: the config's, or PUT /_emulator/latency's until reset.
    # Replaced whole, never mutated, so a request reads it once without a lock.
    latency: AnswerLatency = field(default_factory=AnswerLatency)
    sleep: Sleep = time.sleep  # real seconds; injectable for tests
    latency_rng: random.Random = field(default_factory=random.Random)  # jitter only, not ids

    @classmethod
    def build(
        cls,
        config: EmulatorConfig,
        *,
        clock: Clock,
        http: requests.Session | None,
        rng: random.Random | None,
        sleep: Sleep = time.sleep,
    ) -> Emulator:
        state = EmulatorState()
        session = http if http is not None else _private_session()
        sender = CallbackSender(state, session, clock, config.callback_timeout_seconds)
        return cls(
            config=config,
            clock=clock,
            ids=IdGenerator(rng if rng is not None else random.Random()),
            state=state,
            books=Books(config.opening_balances_for),
            sender=sender,
            owns_http=http is None,
            latency=config.answer_latency,
            sleep=sleep,
        )

    def scenario_for(self, party: str) -> Scenario:
        """The runtime override for this MSISDN (or shortcode), else the configured scenario."""
        return self.state.scenario_override(party) or self.config.scenario_for(party)

    def wait_answer_latency(self, *, oauth: bool = False) -> float:
        """Sleep the answer latency in this request's thread (no lock held); the seconds slept.

        OAuth answers wait only when the latency says so (`answer_latency_oauth`).
        """
        latency = self.latency  # one read: a concurrent PUT replaces it whole
        if oauth and not latency.oauth:
            return 0.0
        seconds = latency.draw(self.latency_rng)
        if seconds > 0:
            self.sleep(seconds)
        return seconds

    def reset(self) -> None:
        """Forget everything that happened: state first, then the books (see NOTES.md); the
        answer latency goes back to the configured one."""
        self.state.reset()
        self.books.reset()
        self.latency = self.config.answer_latency

    def close(self) -> None:
        """Release the HTTP session the emulator created for itself (an injected one is kept)."""
        if self.owns_http:
            self.sender.http.close()


def current_emulator() -> Emulator:
    """The runtime of the app handling the current request."""
    emulator: Emulator = current_app.extensions[EXTENSION]
    return emulator


def _private_session() -> requests.Session:
    # Callbacks usually target loopback; don't let HTTP(S)_PROXY from the environment reroute them.
    session = requests.Session()
    session.trust_env = False
    return session
