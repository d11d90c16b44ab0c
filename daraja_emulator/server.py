"""EmulatorServer: the emulator on a real loopback port, with its callback scheduler, in threads."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import requests
from werkzeug.serving import BaseWSGIServer, make_server

from daraja_emulator.app import create_app
from daraja_emulator.clock import Clock
from daraja_emulator.config import EmulatorConfig
from daraja_emulator.runtime import EXTENSION, Emulator
from daraja_emulator.scheduler import CallbackScheduler

# How often the idle HTTP loop checks for stop(); bounds how long stop() takes.
SHUTDOWN_POLL_SECONDS = 0.1


class EmulatorServer:
    """Serve the emulator app from a background thread; use as a context manager.

    Nothing binds until start(). `url` is then e.g. http://127.0.0.1:54321.
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Clock = time.time,
        http: requests.Session | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.app = create_app(config, clock=clock, http=http, rng=rng)
        self.emulator: Emulator = self.app.extensions[EXTENSION]
        self.scheduler = CallbackScheduler(
            self.emulator.state,
            self.emulator.sender,
            clock,
            auto_deliver=self.emulator.config.auto_deliver,
        )
        self._host = host
        self._port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("EmulatorServer is not started")
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._server.server_port}"

    def start(self) -> EmulatorServer:
        """Bind, serve in a daemon thread, start the callback scheduler; returns self."""
        if self._server is None:
            self._server = make_server(self._host, self._port, self.app, threaded=True)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
                name="daraja-emulator-http",
                daemon=True,
            )
            self._thread.start()
            self.scheduler.start()
        return self

    def stop(self) -> None:
        """Stop the scheduler and the HTTP server, release the socket and the HTTP session."""
        self.scheduler.stop()
        if self._server is not None:
            self._server.shutdown()
            if self._thread is not None:
                self._thread.join()
            self._server.server_close()
            self._server = None
            self._thread = None
        self.emulator.close()

    def wait_for_delivery(self, checkout_request_id: str, timeout: float) -> dict[str, Any] | None:
        """Block until the first callback for this push was POSTed; its record, else None."""
        return self.emulator.state.wait_for_delivery(checkout_request_id, timeout)

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
