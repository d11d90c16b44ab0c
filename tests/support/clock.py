"""A real clock that tests can move forward."""

from __future__ import annotations

from datetime import datetime, timedelta

from apg.clock import Clock


class ShiftableClock(Clock):
    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return super().now() + self.offset

    def shift(self, delta: timedelta) -> None:
        self.offset += delta
