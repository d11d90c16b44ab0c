"""Drive one endpoint with wrk over prepared requests; the result as numbers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "requests.lua"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: str = ""
    idempotency_key: str | None = None

    def line(self) -> str:
        if "\t" in self.body or "\n" in self.body:
            raise ValueError("a prepared body is one line without tabs")
        return "\t".join((self.method, self.path, self.idempotency_key or "-", self.body))


@dataclass(frozen=True)
class Load:
    """How hard: wrk threads and connections, and at most how many seconds."""

    threads: int = 2
    connections: int = 32
    seconds: int = 10
    timeout_seconds: int = 10


@dataclass(frozen=True)
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    exhausted: bool = False  # every prepared request was answered before the time was up
    codes: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def failed(self) -> int:
        """Answers outside 2xx, and socket errors and timeouts."""
        bad = sum(count for code, count in self.codes.items() if not code.startswith("2"))
        return bad + sum(self.errors.values())


def wrk_path() -> str:
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed: `apt-get install wrk` (Debian's package)")
    return found


def drive(base_url: str, requests: list[Request], load: Load, headers: dict[str, str]) -> Result:
    """Send each request once (spread over the threads), within load.seconds."""
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as prepared:
        prepared.write("\n".join(request.line() for request in requests) + "\n")
    try:
        command = [
            wrk_path(),
            *(f"-t{load.threads}", f"-c{load.connections}", f"-d{load.seconds}s"),
            *(f"--timeout={load.timeout_seconds}s", "-s", str(SCRIPT)),
        ]
        for name, value in headers.items():
            command += ["-H", f"{name}: {value}"]
        env = {**os.environ, "BENCH_REQUESTS": prepared.name, "BENCH_THREADS": str(load.threads)}
        done = subprocess.run(
            [*command, base_url],
            env=env,
            capture_output=True,
            text=True,
            timeout=load.seconds + load.timeout_seconds + 30,
        )
    finally:
        os.unlink(prepared.name)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    numbers = json.loads(line.removeprefix("BENCH "))
    return Result(
        requests=numbers["requests"],
        seconds=numbers["duration_us"] / 1e6,
        p50_ms=numbers["p50_us"] / 1000,
        p90_ms=numbers["p90_us"] / 1000,
        p99_ms=numbers["p99_us"] / 1000,
        max_ms=numbers["max_us"] / 1000,
        exhausted=numbers["exhausted"] > 0,
        codes={str(code): count for code, count in numbers["codes"].items()},
        errors={kind: count for kind, count in numbers["errors"].items() if count},
    )
