"""The fault-injection summary: one row per injected fault, printed as issue 8's table."""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields


@dataclass(frozen=True)
class FaultRow:
    """What one fault did, seen from the emulator and from the gateway's books."""

    fault: str
    requests_sent: int  # STK Push requests the emulator received (refused ones count)
    pushes_accepted: int  # pushes the emulator stored (a prompt was, or could be, shown)
    payments_recorded: int
    applied_twice: int  # repeated target statuses in the payments' transition events
    unresolved: int  # payments left pending, processing or unknown after reconcile
    final: str  # the payments' final statuses


ROWS: list[FaultRow] = []


def render(rows: list[FaultRow]) -> str:
    """A plain-text table, columns as wide as their widest cell."""
    header = tuple(f.name for f in fields(FaultRow))
    cells = [header, *(tuple(str(value) for value in astuple(row)) for row in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(header))]
    lines = [
        " | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in cells
    ]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)
