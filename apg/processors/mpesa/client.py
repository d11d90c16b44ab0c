"""DarajaClient: pooled HTTP to one Daraja app, OAuth tokens, typed errors. Logs no secrets."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NameResolutionError, NewConnectionError

from apg.errors import (
    UpstreamError,
    UpstreamRejectedError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)
from apg.processors.mpesa.mapping import INVALID_TOKEN_CODES
from apg.processors.mpesa.tokens import CachedToken, TokenCache

log = logging.getLogger(__name__)

OAUTH_PATH = "/oauth/v1/generate?grant_type=client_credentials"
STK_PUSH_PATH = "/mpesa/stkpush/v1/processrequest"
STK_QUERY_PATH = "/mpesa/stkpushquery/v1/query"


def credential_fingerprint(base_url: str, consumer_key: str, consumer_secret: str) -> str:
    """Identifies one credential set without revealing it. The secret is part of it, so a
    caller who knows only the consumer key can never reuse another's client or token."""
    material = "\x00".join((base_url.rstrip("/"), consumer_key, consumer_secret))
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def new_session(pool_maxsize: int) -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_maxsize, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class DarajaClient:
    """Talks to one Daraja app (base URL + consumer key). Thread-safe."""

    def __init__(
        self,
        base_url: str,
        consumer_key: str,
        consumer_secret: str,
        *,
        session: requests.Session,
        tokens: TokenCache,
        timeout: tuple[float, float],
        refresh_buffer_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._auth = (consumer_key, consumer_secret)
        self._session = session
        self._tokens = tokens
        self._timeout = timeout
        self._buffer = refresh_buffer_seconds
        self._clock = clock
        self.token_key = (
            f"daraja-token:{credential_fingerprint(base_url, consumer_key, consumer_secret)}"
        )

    def stk_push(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self._post(STK_PUSH_PATH, payload)

    def stk_query(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self._post(STK_QUERY_PATH, payload)

    def access_token(self) -> str:
        cached = self._tokens.get(self.token_key)
        if cached and cached.fresh(self._clock(), self._buffer):
            return cached.value
        with self._tokens.lock(self.token_key):  # single flight: one mint, others reuse it
            cached = self._tokens.get(self.token_key)
            if cached and cached.fresh(self._clock(), self._buffer):
                return cached.value
            token = self._mint_token()
            self._tokens.put(self.token_key, token)
            return token.value

    def _mint_token(self) -> CachedToken:
        response = self._send("GET", OAUTH_PATH, auth=self._auth)
        if response.status_code == 400 and not response.content:
            # Wrong key/secret: empty body, the reason phrase says why (API.md §1).
            raise UpstreamRejectedError(
                "M-Pesa rejected the consumer key/secret.",
                code="daraja_auth_failed",
                daraja_message=response.reason,
            )
        body = _json_or_raise(response)
        try:
            value, expires_in = str(body["access_token"]), int(body["expires_in"])
        except (KeyError, TypeError, ValueError) as exc:
            raise UpstreamError("M-Pesa's token response was not understood.") from exc
        return CachedToken(value, self._clock() + expires_in)

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        for attempt in (1, 2):
            token = self.access_token()
            response = self._send(
                "POST", path, json=payload, headers={"Authorization": f"Bearer {token}"}
            )
            try:
                return _json_or_raise(response)
            except UpstreamRejectedError as exc:
                # A token can die early (re-minted elsewhere): refresh once, retry once.
                if attempt == 1 and exc.extra.get("daraja_code") in INVALID_TOKEN_CODES:
                    self._tokens.discard(self.token_key, token)
                    continue
                raise
        raise AssertionError("unreachable")

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = f"{self.base_url}{path}"
        started = time.monotonic()
        try:
            response = self._session.request(method, url, timeout=self._timeout, **kwargs)
        except requests.exceptions.ReadTimeout as exc:
            log.warning("daraja %s %s: read timeout", method, path.split("?")[0])
            raise UpstreamTimeoutError() from exc
        except requests.exceptions.ConnectionError as exc:
            log.warning("daraja %s %s: %s", method, path.split("?")[0], type(exc).__name__)
            if _never_connected(exc):
                raise UpstreamUnavailableError() from exc
            raise UpstreamTimeoutError("The connection to M-Pesa broke mid-request.") from exc
        elapsed_ms = (time.monotonic() - started) * 1000
        log.info(
            "daraja %s %s -> %s in %.0f ms",
            method,
            path.split("?")[0],
            response.status_code,
            elapsed_ms,
        )
        return response


def _never_connected(exc: requests.exceptions.ConnectionError) -> bool:
    """True when the request surely never reached Daraja (so it is safe to call it failed)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError | NameResolutionError)


def _json_or_raise(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "errorCode" in body:
        raise UpstreamRejectedError(
            daraja_code=str(body.get("errorCode")),
            daraja_message=str(body.get("errorMessage") or ""),
            daraja_request_id=body.get("requestId"),
        )
    if response.status_code in (502, 503, 504):
        raise UpstreamUnavailableError(f"M-Pesa answered HTTP {response.status_code}.")
    if not response.ok or not isinstance(body, dict):
        raise UpstreamError(f"M-Pesa answered HTTP {response.status_code} with no usable body.")
    return body
