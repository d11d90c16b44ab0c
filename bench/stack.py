"""Processes a bench run starts on loopback, each in its own process group, and their helpers."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BOOT_SECONDS = 60


@dataclass
class Stack:
    """Every process this run started, each in its own process group, stopped in reverse."""

    logs: Path
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("wb") as output:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: gunicorn's workers go with it
            )
        self.processes.append((name, process))
        return process

    def check_alive(self) -> None:
        for name, process in self.processes:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited ({process.returncode}):\n{self.tail(name)}")

    def tail(self, name: str, lines: int = 30) -> str:
        path = self.logs / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def pids_that_served(self, name: str, request: str) -> set[str]:
        """The gunicorn worker pids whose access-log lines (`[pid] … gunicorn.access`) show
        `request`, e.g. 'POST /api/v1/payments'."""
        text = (self.logs / f"{name}.log").read_text(errors="replace")
        return set(re.findall(rf"\[(\d+)\] \w+ gunicorn\.access: .*\"{re.escape(request)}", text))

    def stop_one(self, name: str) -> None:
        for index, (each, process) in enumerate(self.processes):
            if each == name:
                _stop([process])
                del self.processes[index]
                return

    def stop(self) -> None:
        _stop([process for _, process in reversed(self.processes)])
        self.processes.clear()


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        _signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + 20
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait(timeout=5)


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with suppress(ProcessLookupError):  # the group id is the pid (start_new_session)
        os.killpg(process.pid, signum)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, stack: Stack, what: str) -> None:
    deadline = time.monotonic() + BOOT_SECONDS
    while time.monotonic() < deadline:
        stack.check_alive()
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer on {url} within {BOOT_SECONDS}s")


def flask(*arguments: str, env: dict[str, str], app: str = "wsgi") -> str:
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", app, *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(arguments)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def gunicorn(bind: str, app: str, *extra: str) -> list[str]:
    """The shipped configuration (gunicorn.conf.py), as deployed, on `bind`."""
    return [
        *(sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"),
        *("--bind", bind, *extra, app),
    ]
