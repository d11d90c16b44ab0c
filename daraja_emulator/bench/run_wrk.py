"""Drive a running emulator's STK Push endpoint with wrk (see stk_push.lua).

    python -m daraja_emulator --latency 1 &
    python -m daraja_emulator.bench.run_wrk --url http://127.0.0.1:8089 -c 400 -d 30s

Fetches a token with the default consumer key/secret, computes the sandbox Password and runs
`wrk --latency`. Callbacks go to --callback-url (default: a closed loopback port, so each
callback attempt fails fast with "connection refused"; see callback_sink.py for a receiver).
The token revokes earlier ones (`revoke_previous_tokens`): do not aim this at an emulator a
gateway is using.
"""

from __future__ import annotations

import argparse
import base64
import subprocess
import sys
import time
from pathlib import Path

import requests

from daraja_emulator.defaults import DEFAULTS, SANDBOX_PASSKEY, SANDBOX_SHORTCODE

SCRIPT = Path(__file__).with_name("stk_push.lua")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8089")
    parser.add_argument("-c", "--connections", type=int, default=256)
    parser.add_argument("-t", "--threads", type=int, default=4)
    parser.add_argument("-d", "--duration", default="30s")
    parser.add_argument("--timeout", default="10s")
    parser.add_argument("--callback-url", default="http://127.0.0.1:9/callback")
    args = parser.parse_args()
    session = requests.Session()
    session.trust_env = False
    answer = session.get(
        f"{args.url}/oauth/v1/generate",
        params={"grant_type": "client_credentials"},
        auth=(DEFAULTS["consumer_key"], DEFAULTS["consumer_secret"]),
        timeout=30,
    )
    answer.raise_for_status()
    token = answer.json()["access_token"]
    timestamp = time.strftime("%Y%m%d%H%M%S")
    password = base64.b64encode(f"{SANDBOX_SHORTCODE}{SANDBOX_PASSKEY}{timestamp}".encode())
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.duration}",
        f"--timeout={args.timeout}",
        "--latency",
        "-s",
        str(SCRIPT),
        args.url,
        "--",
        token,
        timestamp,
        password.decode("ascii"),
        args.callback_url,
    ]
    return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
