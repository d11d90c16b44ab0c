"""EmulatorState finds due callbacks and subscriber locks without scanning every transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from daraja_emulator.state import EmulatorState
from daraja_emulator.transaction import FIRST, FOLLOW_UP, ScheduledCallback


@dataclass
class Job:
    """A minimal AsyncTransaction that counts how often its callbacks are looked at."""

    key: str
    due: list[float]
    payer: str = "254700000001"
    callback_url: str = "http://127.0.0.1:9/callback"
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    looked_at: int = 0

    def __post_init__(self) -> None:
        kinds = [FIRST, FOLLOW_UP]
        self._callbacks = [ScheduledCallback(kinds[i], at) for i, at in enumerate(self.due)]

    @property
    def callbacks(self) -> list[ScheduledCallback]:
        self.looked_at += 1
        return self._callbacks

    def render_callback(self, callback: ScheduledCallback) -> str | None:
        return "{}"

    def labels(self) -> dict[str, str]:
        return {"key": self.key}

    def describe(self, now: float) -> dict[str, Any]:
        return {"key": self.key}


def claimed_keys(state: EmulatorState, now: float) -> list[tuple[str, str]]:
    return [(t.key, c.kind) for t, c in state.claim_due(now)]


def test_due_callbacks_are_claimed_once_in_accept_order() -> None:
    state = EmulatorState()
    for key, due in [("a", 30.0), ("b", 10.0), ("c", 20.0), ("d", 99.0)]:
        state.add(Job(key, [due]))
    assert state.next_due_at() == 10.0
    assert claimed_keys(state, 30.0) == [("a", FIRST), ("b", FIRST), ("c", FIRST)]
    assert claimed_keys(state, 30.0) == []
    assert state.next_due_at() == 99.0


def test_a_follow_up_is_due_only_once_the_first_callback_is_done() -> None:
    state = EmulatorState()
    job = Job("a", [10.0, 15.0])
    state.add(job)
    [(_, first)] = state.claim_due(20.0)
    assert state.next_due_at() is None  # the follow-up waits for the first callback
    assert state.claim_due(20.0) == []
    state.finish(job, first)
    assert state.next_due_at() == 15.0
    assert claimed_keys(state, 20.0) == [("a", FOLLOW_UP)]


def test_deciding_now_brings_a_callback_forward() -> None:
    state = EmulatorState()
    state.add(Job("a", [60.0]))
    state.add(Job("b", [30.0]))
    state.decide_now("a", 5.0)
    assert state.next_due_at() == 5.0
    assert claimed_keys(state, 5.0) == [("a", FIRST)]
    assert state.next_due_at() == 30.0


def test_a_callback_claimed_elsewhere_is_not_claimed_again() -> None:
    state = EmulatorState()
    job = Job("a", [10.0, 12.0])
    state.add(job)
    assert state.claim(job.callbacks[0])  # settle took it
    assert state.claim_due(20.0) == []
    state.finish(job, job.callbacks[0])
    assert claimed_keys(state, 20.0) == [("a", FOLLOW_UP)]


def test_reset_forgets_what_was_due() -> None:
    state = EmulatorState()
    job = Job("a", [10.0, 12.0])
    state.add(job)
    state.reset()
    assert state.next_due_at() is None
    assert state.claim_due(100.0) == []
    state.finish(job, job.callbacks[0])  # a send that was in flight during the reset
    assert state.claim_due(100.0) == []


def test_finding_due_callbacks_looks_only_at_the_earliest() -> None:
    state = EmulatorState()
    jobs = [Job(f"job{n}", [1000.0 + n]) for n in range(2000)]
    for job in jobs:
        state.add(job)
    for job in jobs:
        job.looked_at = 0
    assert state.claim_due(500.0) == []
    assert state.next_due_at() == 1000.0
    assert claimed_keys(state, 1001.0) == [("job0", FIRST), ("job1", FIRST)]
    assert sum(job.looked_at for job in jobs) <= 6


def test_add_checks_only_its_scope() -> None:
    state = EmulatorState()
    first = Job("a", [10.0], payer="254700000001")
    state.add(first, scope=first.payer)
    others = [Job(f"o{n}", [10.0], payer=f"2547{n:08d}") for n in range(2, 500)]
    for other in others:
        state.add(other, scope=other.payer)
    for job in [first, *others]:
        job.looked_at = 0
    seen: list[str] = []

    def same_payer_open(other: object) -> bool:
        assert isinstance(other, Job)
        seen.append(other.key)
        return other.payer == "254700000001"

    second = Job("b", [10.0], payer="254700000001")
    assert not state.add(second, scope=second.payer, unless=same_payer_open)
    assert seen == ["a"]  # not the 498 other payers' transactions
    assert state.get("b") is None
    third = Job("c", [10.0], payer="254700000003")
    assert state.add(third, scope="254700000003", unless=same_payer_open)
    assert seen == ["a", "o3"]


def test_add_without_a_scope_checks_every_transaction() -> None:
    state = EmulatorState()
    state.add(Job("a", [10.0]), scope="one")
    state.add(Job("b", [10.0]))
    seen: list[str] = []

    def record(other: object) -> bool:
        assert isinstance(other, Job)
        seen.append(other.key)
        return False

    assert state.add(Job("c", [10.0]), unless=record)
    assert seen == ["a", "b"]
