"""Sample APG's gunicorn workers with py-spy while a row runs; the top entries as text.

py-spy samples the live processes (no instrumentation): each sample is one thread's stack.
Idle threads (waiting on a socket, a lock, the pool) are left out (--idle not given), so the
shares are of CPU time. "self" is where the CPU was; "inclusive" counts a function whenever it
is anywhere on the stack (once per sample).
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

PY_SPY = Path(sys.executable).parent / "py-spy"
ROOT = str(Path(__file__).resolve().parent.parent) + "/"


def available() -> bool:
    return PY_SPY.exists()


def start(master_pid: int, seconds: int, output: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            *(str(PY_SPY), "record", "--pid", str(master_pid), "--subprocesses"),
            *("--duration", str(seconds), "--rate", "250", "--format", "raw"),
            *("--output", str(output), "--nonblocking"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def finish(sampler: subprocess.Popen[bytes], seconds: int) -> None:
    """Wait for the sampler; past its time (py-spy can lag under load), SIGINT makes it write
    what it has."""
    try:
        sampler.wait(timeout=seconds + 15)
    except subprocess.TimeoutExpired:
        sampler.send_signal(signal.SIGINT)
        sampler.wait(timeout=30)


def summary(collapsed: Path, top: int = 25) -> str:
    """The `top` functions by self and by inclusive share of the samples."""
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_short(frame) for frame in stack.split(";")]
        frames = [f for f in frames if not f.startswith(("process ", "<module>"))]
        if not frames:
            continue
        n = int(count)
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            anywhere[frame] += n
    if not total:
        return "(no samples)"
    lines = [f"{total} samples (CPU only)", "", "self %   function"]
    lines += [f"{100 * n / total:6.1f}   {name}" for name, n in own.most_common(top)]
    lines += ["", "incl %   function (the gateway's own code)"]
    ours = [(name, n) for name, n in anywhere.most_common() if "apg/" in name]
    lines += [f"{100 * n / total:6.1f}   {name}" for name, n in ours[:top]]
    return "\n".join(lines)


def _short(frame: str) -> str:
    """'handle (gunicorn/workers/gthread.py:350)' with site-packages paths cut short."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    for marker in ("site-packages/", "lib/python3.11/", ROOT):
        if marker in where:
            where = where.split(marker, 1)[1]
    path, _, _line = where.rpartition(":")
    return f"{name} ({path or where})"
