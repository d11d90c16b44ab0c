"""Real HTTP servers on loopback for end-to-end tests (no mocks between gateway and Daraja)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from werkzeug.serving import BaseWSGIServer, make_server

T = TypeVar("T")


class LiveServer:
    """Serve a WSGI app on 127.0.0.1:<free port> in a thread. The app may be set after binding,
    so an app can be built knowing its own public URL."""

    def __init__(self, app: Callable[..., Any] | None = None) -> None:
        self.app = app
        self._server: BaseWSGIServer = make_server("127.0.0.1", 0, self._dispatch, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _dispatch(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        assert self.app is not None, "LiveServer.app was never set"
        return self.app(environ, start_response)

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class SilentServer:
    """Accepts TCP connections and never answers: a Daraja that hangs.
    `connected` is set once a client is in, i.e. waiting for an answer."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self.connected = threading.Event()
        self._clients: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        try:
            while True:
                client, _ = self._sock.accept()
                self._clients.append(client)
                self.connected.set()
        except OSError:  # closed by stop()
            return

    def stop(self) -> None:
        for client in self._clients:
            client.close()
        self._sock.close()


def closed_port_url() -> str:
    """A loopback URL where nothing listens: connection refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class ScriptedDaraja:
    """A raw-socket Daraja whose OAuth works and whose product answers are scripted per test:
    `mode` is one of ok | html_503 | truncated | close (drop the connection after reading the
    request) | hang (never answer). Lets a test reach every transport outcome for real."""

    TOKEN = b'{"access_token":"T0k3nT0k3nT0k3nT0k3nT0k3nT0k3","expires_in":"3599"}'
    OK = b'{"MerchantRequestID":"1-2-3","CheckoutRequestID":"ws_CO_1","ResponseCode":"0"}'

    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.posts = 0
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        try:
            while True:
                client, _ = self._sock.accept()
                threading.Thread(target=self._serve, args=(client,), daemon=True).start()
        except OSError:  # closed by stop()
            return

    def _serve(self, client: socket.socket) -> None:
        request = client.recv(65536)
        if request.startswith(b"GET /oauth"):
            client.sendall(self._response(200, "application/json", self.TOKEN))
        else:
            self.posts += 1
            self._answer(client)
            if self.mode == "hang":
                return
        client.close()

    def _answer(self, client: socket.socket) -> None:
        if self.mode == "ok":
            client.sendall(self._response(200, "application/json", self.OK))
        elif self.mode == "html_503":
            page = b"<html><body><h1>503 Service Unavailable</h1></body></html>"
            client.sendall(self._response(503, "text/html", page))
        elif self.mode == "truncated":
            client.sendall(self._response(200, "application/json", self.OK[:30]))
        elif self.mode == "hang":
            self._held.append(client)

    @staticmethod
    def _response(status: int, content_type: str, body: bytes) -> bytes:
        head = (
            f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        return head.encode() + body

    def stop(self) -> None:
        for client in self._held:
            client.close()
        self._sock.close()


def together(count: int, action: Callable[[int], T]) -> list[T]:
    """Run action(0) … action(count - 1) in `count` threads released by one barrier, so the
    requests they make reach a server at the same instant. Their results, in order; an
    exception in any thread is raised here."""
    start = threading.Barrier(count)

    def run(index: int) -> T:
        start.wait(timeout=30)
        return action(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(run, index) for index in range(count)]
        return [future.result(timeout=60) for future in futures]


class Receiver:
    """A merchant's webhook URL: records each POST, answers `status`."""

    def __init__(self) -> None:
        self.status = 200
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {
            k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")
        }
        headers["Content-Type"] = environ.get("CONTENT_TYPE", "")
        with self.lock:
            self.received.append((headers, body))
        start_response(f"{self.status} X", [("Content-Type", "text/plain")])
        return [b"ok" if self.status < 300 else b"try later"]
