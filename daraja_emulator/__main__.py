"""python -m daraja_emulator: serve the emulator standalone until Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from daraja_emulator.config import EmulatorConfig, EmulatorConfigError, load_config
from daraja_emulator.server import EmulatorServer

log = logging.getLogger("daraja_emulator")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m daraja_emulator", description="Local Safaricom Daraja API emulator."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089, help="0 picks a free port")
    parser.add_argument(
        "--config",
        type=Path,
        help="YAML file: its top-level `emulator:` section if present, else the whole file",
    )
    return parser.parse_args(argv)


def read_config_file(path: Path) -> EmulatorConfig:
    """Load and validate a YAML config file; EmulatorConfigError with one readable line."""
    try:
        document: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise EmulatorConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())
        raise EmulatorConfigError(f"{path} is not valid YAML: {detail}") from None
    if isinstance(document, dict) and "emulator" in document:
        document = document["emulator"]
    return load_config(document)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = read_config_file(args.config) if args.config else load_config(None)
    except EmulatorConfigError as exc:
        print(f"daraja_emulator: config error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # Ctrl-C stops it even when started with SIGINT ignored (a background job, some CI runners).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    server = EmulatorServer(config, args.host, args.port).start()
    print(f"Daraja emulator listening on {server.url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        server.stop()
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
