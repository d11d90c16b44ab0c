"""A bounded window of this worker's most recent Daraja call times, for /ops/stats and the
health summary. APG records no latency per operation, so this is in-process and per worker;
the Prometheus histogram (apg.ops.metrics) is the view across workers."""

from __future__ import annotations

import math
import threading
from collections import deque
from typing import Any

WINDOW = 1000


class LatencyWindow:
    """The last `size` (path, seconds, answered) calls. Thread-safe. `answered`: Daraja
    answered, not a transport failure nor a 5xx (what its uptime is made of)."""

    def __init__(self, size: int = WINDOW) -> None:
        self.size = size
        self._calls: deque[tuple[str, float, bool]] = deque(maxlen=size)
        self._lock = threading.Lock()

    def record(self, path: str, seconds: float, answered: bool = True) -> None:
        with self._lock:
            self._calls.append((path, seconds, answered))

    def uptime_percent(self) -> float | None:
        """Of this worker's last calls, the share Daraja answered (None before any call)."""
        with self._lock:
            calls = list(self._calls)
        if not calls:
            return None
        return round(100 * sum(answered for _, _, answered in calls) / len(calls), 1)

    def summary(self) -> dict[str, Any]:
        """Count, average and p95 in milliseconds, overall and by path (None when empty)."""
        with self._lock:
            calls = list(self._calls)
        by_path: dict[str, list[float]] = {}
        for path, seconds, _ in calls:
            by_path.setdefault(path, []).append(seconds)
        return {
            "latency_scope": f"this worker, last {self.size} calls",
            **_stats([seconds for _, seconds, _ in calls]),
            "by_path": {path: _stats(times) for path, times in sorted(by_path.items())},
        }


def _stats(times: list[float]) -> dict[str, Any]:
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
