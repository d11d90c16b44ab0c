"""EmulatorServer: the emulator on a real loopback port, with its callback scheduler, in threads."""

from __future__ import annotations

import random
import socket
import threading
import time
from queue import Empty, SimpleQueue
from typing import Any

import requests
from werkzeug.serving import BaseWSGIServer, ThreadedWSGIServer

from daraja_emulator.app import create_app
from daraja_emulator.clock import Clock
from daraja_emulator.config import EmulatorConfig
from daraja_emulator.latency import Sleep
from daraja_emulator.runtime import EXTENSION, Emulator
from daraja_emulator.scheduler import CallbackScheduler

# How often the idle HTTP loop checks for stop(); bounds how long stop() takes.
SHUTDOWN_POLL_SECONDS = 0.1
# listen() backlog: Werkzeug's 128 drops SYNs when hundreds of clients connect at once (each
# dropped SYN costs the client a 1 s retransmit). The kernel caps it at net.core.somaxconn.
LISTEN_BACKLOG = 1024
IDLE_WORKER_SECONDS = 30


Connection = tuple[socket.socket, Any]


class _ThreadedServer(ThreadedWSGIServer):
    """Werkzeug's threaded server, one request per connection (Werkzeug closes each after its
    answer; no keep-alive), with a deeper backlog and reused threads.

    socketserver starts a thread per connection, and Thread.start() waits until the new
    thread has run: under load that wait, for the GIL, stalls the single accept loop while
    connections pile up in the backlog. Here a connection goes to an idle worker thread
    through a queue; a new worker starts only when none is idle (as many as there are
    connections at once), and a worker idle for IDLE_WORKER_SECONDS ends.
    """

    request_queue_size = LISTEN_BACKLOG
    block_on_close = False  # our workers are daemons; nothing joins them

    def __init__(self, host: str, port: int, app: Any) -> None:
        super().__init__(host, port, app)
        self._connections: SimpleQueue[Connection | None] = SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0  # workers waiting for a connection that no process_request has claimed
        self._closed = False

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            claimed = self._idle > 0
            if claimed:
                self._idle -= 1
        self._connections.put((request, client_address))
        if not claimed:
            threading.Thread(target=self._work, name="daraja-emulator-request", daemon=True).start()

    def _work(self) -> None:
        while True:
            try:
                connection = self._connections.get(timeout=IDLE_WORKER_SECONDS)
            except Empty:
                with self._lock:
                    if self._idle == 0:
                        continue  # every idle worker is claimed: a connection is on its way
                    self._idle -= 1
                return
            if connection is None:
                return
            self.process_request_thread(*connection)  # handles, logs errors, closes
            with self._lock:
                if self._closed:
                    return
                self._idle += 1

    def server_close(self) -> None:
        super().server_close()
        with self._lock:
            self._closed, idle, self._idle = True, self._idle, 0
        for _ in range(idle):
            self._connections.put(None)


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
        sleep: Sleep = time.sleep,
    ) -> None:
        self.app = create_app(config, clock=clock, http=http, rng=rng, sleep=sleep)
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
            self._server = _ThreadedServer(self._host, self._port, self.app)
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
