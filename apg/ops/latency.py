"""A bounded window of this worker's most recent Daraja call times, for /ops/stats and the
health summary. APG records no latency per operation, so this is in-process and per worker;
the Prometheus histogram (apg.ops.metrics) is the view across workers."""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

# The account whose Daraja app makes the calls in hand (set by the processor), so /ops/stats
# can show latency per tenant.
calling_account: ContextVar[str | None] = ContextVar("apg_calling_account", default=None)


@contextmanager
def calls_for(account_id: str) -> Iterator[None]:
    token = calling_account.set(account_id)
    try:
        yield
    finally:
        calling_account.reset(token)


WINDOW = 1000


class LatencyWindow:
    """The last `size` (path, seconds, answered) calls. Thread-safe. `answered`: Daraja
    answered, not a transport failure nor a 5xx (what its uptime is made of)."""

    def __init__(self, size: int = WINDOW) -> None:
        self.size = size
        self._calls: deque[tuple[str, float, bool, str | None]] = deque(maxlen=size)
        self._lock = threading.Lock()

    def record(self, path: str, seconds: float, answered: bool = True) -> None:
        with self._lock:
            self._calls.append((path, seconds, answered, calling_account.get()))

    def uptime_percent(self) -> float | None:
        """Of this worker's last calls, the share Daraja answered (None before any call)."""
        with self._lock:
            calls = list(self._calls)
        if not calls:
            return None
        return round(100 * sum(answered for _, _, answered, _ in calls) / len(calls), 1)

    def summary(self) -> dict[str, Any]:
        """Count, average and p95 in milliseconds, overall and by path (None when empty)."""
        with self._lock:
            calls = list(self._calls)
        by_path: dict[str, list[float]] = {}
        for path, seconds, _, _ in calls:
            by_path.setdefault(path, []).append(seconds)
        return {
            "latency_scope": f"this worker, last {self.size} calls",
            **stats_of([seconds for _, seconds, _, _ in calls]),
            "by_path": {path: stats_of(times) for path, times in sorted(by_path.items())},
        }

    def times_by_account(self) -> dict[str, list[float]]:
        """Each calling account's recent call times (calls made outside one are left out)."""
        with self._lock:
            calls = list(self._calls)
        times: dict[str, list[float]] = {}
        for _, seconds, _, account in calls:
            if account is not None:
                times.setdefault(account, []).append(seconds)
        return times


def stats_of(times: list[float]) -> dict[str, Any]:
    """Count, average and nearest-rank p95 in milliseconds (None when there are none)."""
    if not times:
        return {"calls": 0, "average_ms": None, "p95_ms": None}
    ordered = sorted(times)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]  # nearest rank
    return {
        "calls": len(ordered),
        "average_ms": round(sum(ordered) / len(ordered) * 1000, 1),
        "p95_ms": round(p95 * 1000, 1),
    }


DARAJA_CALLS = LatencyWindow()
