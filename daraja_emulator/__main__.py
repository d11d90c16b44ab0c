"""python -m daraja_emulator: serve the emulator standalone until Ctrl-C."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import sys
import time
from collections.abc import Sequence
from logging.handlers import QueueHandler, QueueListener
from pathlib import Path
from queue import SimpleQueue
from typing import Any

import yaml

from daraja_emulator.config import EmulatorConfig, EmulatorConfigError, load_config
from daraja_emulator.latency import AnswerLatency, finite_seconds
from daraja_emulator.server import EmulatorServer

log = logging.getLogger("daraja_emulator")
# Python runs signal handlers in the main thread, and only when it wakes: with hundreds of
# request threads a signal may be taken by one of them, so the main thread never blocks for long.
MAIN_THREAD_WAKEUP_SECONDS = 0.5


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
    parser.add_argument(
        "--latency",
        type=float,
        metavar="SECONDS",
        help="every Daraja API answer (OAuth aside) waits this long; overrides the config's "
        "answer_latency_seconds",
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


def build_config(args: argparse.Namespace) -> EmulatorConfig:
    """The config file's settings (else the defaults), then the command line's overrides."""
    config = read_config_file(args.config) if args.config else load_config(None)
    if args.latency is not None:
        seconds = finite_seconds(args.latency, "--latency")
        config = dataclasses.replace(config, answer_latency_seconds=seconds)
    return config


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = build_config(args)
    except EmulatorConfigError as exc:
        print(f"daraja_emulator: config error: {exc}", file=sys.stderr)
        return 2
    log_writer = _log_from_one_thread()
    # Ctrl-C stops it even when started with SIGINT ignored (a background job, some CI runners).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    server = EmulatorServer(config, args.host, args.port).start()
    print(f"Daraja emulator listening on {server.url}", flush=True)
    if config.answer_latency != AnswerLatency():
        log.info("answer latency: %s", config.answer_latency.to_json())
    try:
        while True:  # a timed wait: a SIGTERM that another thread took is acted on within it
            time.sleep(MAIN_THREAD_WAKEUP_SECONDS)
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        server.stop()
        log_writer.stop()  # writes what is still queued
    return 0


def _log_from_one_thread() -> QueueListener:
    """Log lines (one per request, one per callback) go to stderr from a single thread: a
    request thread only formats its line and queues it, never waits for the stream's lock."""
    lines: SimpleQueue[logging.LogRecord] = SimpleQueue()
    queued = QueueHandler(lines)  # formats the line (a traceback included) in the caller
    queued.setFormatter(logging.Formatter("%(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[queued])
    writer = QueueListener(lines, logging.StreamHandler())  # writes the formatted line
    writer.start()
    return writer


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
