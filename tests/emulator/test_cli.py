"""python -m daraja_emulator: config file handling, serving, clean Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from .support import basic

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def run_emulator(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "daraja_emulator", "--port", "0", *args],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("emulator:\n  callback_delayy: 3\n", "emulator.callback_delayy: unknown key"),
        (
            "scenarios:\n  '254708374150': {result_code: [1]}\n",
            "emulator.scenarios.254708374150.result_code: must be an integer or string",
        ),
        ("emulator: [unclosed\n", "is not valid YAML"),
    ],
)
def test_bad_config_file_prints_one_line_and_exits_2(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "mpesa.yaml"
    path.write_text(text)
    result = subprocess.run(
        [sys.executable, "-m", "daraja_emulator", "--config", str(path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr


def test_missing_config_file_exits_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "daraja_emulator", "--config", str(tmp_path / "absent.yaml")],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "cannot read" in result.stderr


def test_serves_the_emulator_section_and_stops_cleanly_on_ctrl_c(
    tmp_path: Path, http: requests.Session
) -> None:
    path = tmp_path / "mpesa.yaml"
    path.write_text("app:\n  name: APG\nemulator:\n  consumer_secret: laptop-secret\n")
    process = run_emulator("--config", str(path))
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        url = banner.rsplit(" ", 1)[-1].strip()
        assert banner.startswith("Daraja emulator listening on http://127.0.0.1:")
        assert http.get(f"{url}/_emulator/health", timeout=10).json() == {"status": "ok"}
        token_url = f"{url}/oauth/v1/generate?grant_type=client_credentials"
        authorization = {"Authorization": basic(secret="laptop-secret")}
        assert http.get(token_url, headers=authorization, timeout=10).status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        _stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "GET /_emulator/health" in stderr  # one log line per request
    assert "Traceback" not in stderr
