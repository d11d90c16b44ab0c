"""Answer latency: how long a Daraja API answer takes, configurable for load tests.

API.md gives no figure for how long Daraja takes to answer; the emulator answers as fast as it
can unless told otherwise (`answer_latency_seconds`, the CLI's `--latency`, or
`PUT /_emulator/latency`). The wait is real time, in the request's own thread, holding no lock.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from daraja_emulator import config_readers as read

Sleep = Callable[[float], None]

# Config keys (the YAML `emulator:` section and the control API body use the same names).
SECONDS = "answer_latency_seconds"
JITTER = "answer_latency_jitter_seconds"
OAUTH = "answer_latency_oauth"
KEYS = (SECONDS, JITTER, OAUTH)


@dataclass(frozen=True)
class AnswerLatency:
    """Each product answer waits `seconds` plus a uniform draw from [0, `jitter_seconds`];
    OAuth token requests wait too only when `oauth`."""

    seconds: float = 0
    jitter_seconds: float = 0
    oauth: bool = False

    def draw(self, rng: random.Random) -> float:
        """The wait for one answer, in seconds."""
        if self.jitter_seconds:
            return self.seconds + rng.uniform(0, self.jitter_seconds)
        return self.seconds

    def to_json(self) -> dict[str, Any]:
        return {SECONDS: self.seconds, JITTER: self.jitter_seconds, OAUTH: self.oauth}


def parse_latency(mapping: Mapping[Any, Any], path: str) -> AnswerLatency:
    """The three keys of `mapping` (absent: 0, 0, false); EmulatorConfigError naming `path.key`.

    Ignores other keys: the caller checks for unknown ones.
    """
    return AnswerLatency(
        seconds=finite_seconds(mapping.get(SECONDS, 0), f"{path}.{SECONDS}"),
        jitter_seconds=finite_seconds(mapping.get(JITTER, 0), f"{path}.{JITTER}"),
        oauth=read.boolean(mapping.get(OAUTH, False), f"{path}.{OAUTH}"),
    )


def finite_seconds(value: Any, path: str) -> float:
    """A number of seconds >= 0 that time.sleep accepts (not .inf or .nan)."""
    seconds = read.seconds(value, path)
    if not math.isfinite(seconds):
        raise read.fail(path, "must be a number of seconds >= 0")
    return seconds
