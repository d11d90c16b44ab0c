"""The benchmark table: each row's numbers, its ratios to the baselines, and the targets."""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg

from bench.load import Result
from bench.stack import ROOT, Stack

ECHO, INSERT, TWO = (
    "baseline: parse JSON, answer",
    "baseline: INSERT + commit",
    "baseline: two commits",
)


@dataclass(frozen=True)
class Row:
    name: str
    result: Result


@dataclass(frozen=True)
class Targets:
    oauth_tokens: int | None
    rss_mb: float


@dataclass(frozen=True)
class Check:
    what: str
    met: bool
    detail: str


def machine(database_url: str, stack: Stack) -> list[str]:
    with psycopg.connect(database_url) as connection:
        postgres = connection.execute("SHOW server_version").fetchone()[0]
        synchronous = connection.execute("SHOW synchronous_commit").fetchone()[0]
    model = next(
        (line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo") if "model name" in line),
        platform.processor() or "unknown",
    )
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("[")[0]
    import gunicorn.config  # the shipped configuration, read as gunicorn reads it

    settings = gunicorn.config.Config()
    for name, value in _shipped_settings().items():
        settings.set(name, value)
    return [
        f"date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"machine: {os.cpu_count()} cores ({model}), {_memory_gb():.0f} GB",
        f"python: {platform.python_version()}  postgresql: {postgres} "
        f"(synchronous_commit={synchronous})  {wrk.strip()}",
        f"gunicorn (gunicorn.conf.py): {settings.workers} workers x {settings.threads} threads, "
        f"{settings.worker_class_str}",
    ]


def _shipped_settings() -> dict[str, object]:
    namespace: dict[str, object] = {"__file__": str(ROOT / "gunicorn.conf.py")}
    exec(compile((ROOT / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace)
    return {k: namespace[k] for k in ("workers", "threads", "worker_class") if k in namespace}


def _read(path: str) -> list[str]:
    try:
        with open(path) as handle:
            return handle.readlines()
    except OSError:
        return []


def _memory_gb() -> float:
    line = next((ln for ln in _read("/proc/meminfo") if ln.startswith("MemTotal")), "x 0 kB")
    return int(line.split()[1]) / 1024 / 1024


def render(header: list[str], rows: list[Row], targets: Targets) -> str:
    by_name = {row.name: row.result for row in rows}
    bases = [by_name.get(name) for name in (ECHO, INSERT, TWO)]
    lines = [*header, ""]
    lines.append("| row | req/s | p50 ms | p99 ms | x echo | x 1 commit | x 2 commits | not 2xx |")
    lines.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        r = row.result
        ratios = [f"{r.rate / b.rate:.2f}" if b and b.rate else "-" for b in bases]
        lines.append(
            f"| {row.name} | {r.rate:.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | "
            + " | ".join(ratios)
            + f" | {r.failed} |"
        )
    lines += ["", "Targets:"]
    for check in checks(by_name, targets):
        lines.append(f"- [{'x' if check.met else ' '}] {check.what}: {check.detail}")
    return "\n".join(lines)


def checks(by_name: dict[str, Result], targets: Targets) -> list[Check]:
    two, echo = by_name[TWO], by_name[ECHO]
    found: list[Check] = []

    def ratio(row_prefix: str, base: Result, floor: float, base_name: str) -> None:
        for name, result in by_name.items():
            if name.startswith(row_prefix):
                value = result.rate / base.rate
                found.append(
                    Check(
                        f"{name} >= {floor}x {base_name}",
                        value >= floor and not result.failed,
                        f"{value:.2f}x ({result.rate:.0f} / {base.rate:.0f} req/s, "
                        f"{result.failed} failed)",
                    )
                )

    ratio("(a)", two, 0.6, "two commits")
    ratio("(b)", two, 0.6, "two commits")
    ratio("(c)", two, 0.3, "two commits")
    for name, result in by_name.items():
        if name.startswith("(d)"):
            found.append(
                Check(
                    f"{name}: >= 200/s, p99 <= 1.5 s",
                    result.rate >= 200 and result.p99_ms <= 1500 and not result.failed,
                    f"{result.rate:.0f}/s, p99 {result.p99_ms / 1000:.2f} s, "
                    f"{result.failed} failed",
                )
            )
    ratio("(e)", echo, 0.4, "parse-and-answer")
    found.append(
        Check(
            "OAuth tokens asked of Daraja in the whole run <= 1 (one credential set)",
            targets.oauth_tokens is not None and targets.oauth_tokens <= 1,
            f"{targets.oauth_tokens}",
        )
    )
    found.append(
        Check("gunicorn worker RSS < 150 MB", targets.rss_mb < 150, f"{targets.rss_mb:.0f} MB")
    )
    return found
