"""Time as Daraja writes it: Nairobi time (EAT, UTC+3), from an injectable epoch-seconds clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

Clock = Callable[[], float]

EAT = timezone(timedelta(hours=3), "EAT")


def to_eat(epoch_seconds: float) -> datetime:
    """The instant as an aware Nairobi-time datetime."""
    return datetime.fromtimestamp(epoch_seconds, tz=EAT)


def eat_stamp(epoch_seconds: float) -> str:
    """YYYYMMDDHHmmss in Nairobi time, as in TransactionDate."""
    return to_eat(epoch_seconds).strftime("%Y%m%d%H%M%S")
