"""Test helpers for the emulator: fake clock, stub HTTP session, callback receiver, factories."""

from __future__ import annotations

import base64
import json
import random
import re
import threading
from pathlib import Path
from typing import Any

import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request

from daraja_emulator import EmulatorConfig, EmulatorServer
from daraja_emulator.defaults import SANDBOX_PASSKEY, SANDBOX_SHORTCODE

# Daraja documentation samples, copied into the repository (see its README.md).
SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "daraja"
# 2024-07-10 09:15:26.171 EAT (06:15:26.171 UTC), the moment in the docs' CheckoutRequestID.
EPOCH = 1720592126.171
TIMESTAMP = "20240710091526"
PAYER = "254708374149"
KEY, SECRET = "apg-emulator-key", "apg-emulator-secret"
# Current-format gateway id (requestId, MerchantRequestID), API.md §0.1.
REQUEST_ID = re.compile(r"[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}[0-9]{4,8}")


class FakeClock:
    """Epoch seconds that only move when a test says so."""

    def __init__(self, start: float = EPOCH) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class StubResponse:
    def __init__(self, status_code: int = 200, text: str = "") -> None:
        self.status_code = status_code
        self.text = text

    def __enter__(self) -> StubResponse:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None


class StubHttp:
    """Stands in for requests.Session in test-client tests: records POSTs, answers or raises
    (`answers` by URL, else `answer`)."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.answer: StubResponse | Exception = StubResponse(200, '{"ResultCode":0}')
        self.answers: dict[str, StubResponse | Exception] = {}

    def post(self, url: str, **kwargs: Any) -> StubResponse:
        self.posts.append({"url": url, **kwargs})
        answer = self.answers.get(url, self.answer)
        if isinstance(answer, Exception):
            raise answer
        return answer


class CallbackReceiver:
    """A real HTTP server on 127.0.0.1:0 that records every request it receives and answers
    `reply` (or `replies[path]`)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.status = "200 OK"
        self.reply = b'{"ResultCode":0,"ResultDesc":"Accepted"}'
        self.replies: dict[str, bytes] = {}
        self.gate: threading.Event | None = None  # when set, handlers block until it opens
        self._arrived = threading.Condition()
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return self.url_for("/callbacks/stk")

    def url_for(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_port}{path}"

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        request = Request(environ)
        record = {
            "method": request.method,
            "path": request.path,
            "headers": dict(request.headers),
            "text": request.get_data(as_text=True),
        }
        with self._arrived:
            self.received.append(record)
            self._arrived.notify_all()
        if self.gate is not None:
            self.gate.wait(10)
        start_response(self.status, [("Content-Type", "application/json")])
        return [self.replies.get(request.path, self.reply)]

    def wait_for(self, count: int, timeout: float = 5) -> bool:
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self.received) >= count, timeout)

    def texts_for(self, checkout_request_id: str) -> list[str]:
        with self._arrived:
            return [r["text"] for r in self.received if checkout_request_id in r["text"]]

    def start(self) -> CallbackReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.gate is not None:
            self.gate.set()
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()


def sample(name: str) -> Any:
    """A Daraja documentation sample from tests/fixtures/daraja, parsed."""
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


def basic(key: str = KEY, secret: str = SECRET) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


def make_password(
    timestamp: str = TIMESTAMP, shortcode: str = SANDBOX_SHORTCODE, passkey: str = SANDBOX_PASSKEY
) -> str:
    return base64.b64encode(f"{shortcode}{passkey}{timestamp}".encode()).decode()


def bearer_for(client: Any) -> dict[str, str]:
    """Authorization header with a fresh token from a Flask test client."""
    response = client.get(
        "/oauth/v1/generate?grant_type=client_credentials", headers={"Authorization": basic()}
    )
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def make_stk_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "BusinessShortCode": 174379,
        "Password": make_password(),
        "Timestamp": TIMESTAMP,
        "TransactionType": "CustomerPayBillOnline",
        "Amount": 10,
        "PartyA": PAYER,
        "PartyB": "174379",
        "PhoneNumber": PAYER,
        "CallBackURL": "https://example.com/callbacks/stk",
        "AccountReference": "INV-001",
        "TransactionDesc": "Order 1",
    }
    body.update(overrides)
    return body


def make_query_body(checkout_request_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "BusinessShortCode": "174379",
        "Password": make_password(),
        "Timestamp": TIMESTAMP,
        "CheckoutRequestID": checkout_request_id,
    }
    body.update(overrides)
    return body


def error_of(response: Any) -> tuple[int, str, str]:
    """(HTTP status, errorCode, errorMessage) of a Daraja error envelope, checking its shape."""
    body = response.get_json()
    assert list(body) == ["requestId", "errorCode", "errorMessage"]
    assert REQUEST_ID.fullmatch(body["requestId"])
    return response.status_code, body["errorCode"], body["errorMessage"]


class Daraja:
    """A minimal Daraja client for the tests: token, push, settle, redeliver over HTTP."""

    def __init__(self, http: requests.Session, server: EmulatorServer, callback_url: str):
        self.http, self.server, self.callback_url = http, server, callback_url
        token = http.get(
            f"{server.url}/oauth/v1/generate?grant_type=client_credentials",
            headers={"Authorization": basic()},
        ).json()["access_token"]
        self.headers = {"Authorization": f"Bearer {token}"}

    def push(self, phone: str = PAYER, **overrides: Any) -> str:
        response = self.post_push(phone, **overrides)
        assert response.status_code == 200, response.text
        return str(response.json()["CheckoutRequestID"])

    def post_push(
        self, phone: str = PAYER, *, timeout: float = 30, **overrides: Any
    ) -> requests.Response:
        """POST a processrequest for `phone` and return the raw HTTP answer."""
        body = make_stk_body(PartyA=phone, PhoneNumber=phone, CallBackURL=self.callback_url)
        body.update(overrides)
        return self.http.post(
            f"{self.server.url}/mpesa/stkpush/v1/processrequest",
            json=body,
            headers=self.headers,
            timeout=timeout,
        )

    def query(self, checkout_id: str) -> requests.Response:
        return self.http.post(
            f"{self.server.url}/mpesa/stkpushquery/v1/query",
            json=make_query_body(checkout_id),
            headers=self.headers,
        )

    def script(self, phone: str, **scenario: Any) -> None:
        """Override the scenario for `phone` through the control API."""
        response = self.http.put(f"{self.server.url}/_emulator/scenarios/{phone}", json=scenario)
        assert response.status_code == 200, response.text

    def pushes(self, phone: str) -> list[dict[str, Any]]:
        """The control API's view of every push accepted for `phone`."""
        url = f"{self.server.url}/_emulator/stkpush"
        return list(self.http.get(url, params={"phone": phone}).json())

    def stats(self) -> dict[str, int]:
        return dict(self.http.get(f"{self.server.url}/_emulator/stats").json())

    def control(self, checkout_id: str, action: str) -> dict[str, Any]:
        """POST a control action; a session per call, so threads can race safely."""
        with requests.Session() as session:
            session.trust_env = False
            url = f"{self.server.url}/_emulator/stkpush/{checkout_id}/{action}"
            response = session.post(url, timeout=30)
        assert response.status_code == 200, response.text
        return dict(response.json())


def serve(config: EmulatorConfig, clock: FakeClock) -> EmulatorServer:
    return EmulatorServer(config, clock=clock, rng=random.Random(13))
