"""DarajaClient: pooled HTTP to one Daraja app, a shared OAuth token, and the one place that
classifies what came back: never sent, refused, or outcome unknown, and whether Daraja itself
failed (what the circuit breaker counts). Logs no secrets."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from apg.ops.metrics import observe_daraja_call
from apg.processors.mpesa import traffic
from apg.processors.mpesa.mapping import INVALID_TOKEN_CODES
from apg.processors.mpesa.tokens import CachedToken, TokenStore

log = logging.getLogger(__name__)

OAUTH_PATH = "/oauth/v1/generate?grant_type=client_credentials"
# "Error Occurred - Invalid Access Token - <the token>" (401.002.01) echoes our credential.
_TOKEN_ECHO = re.compile(r"(Invalid Access Token)\s*-\s*\S+", re.IGNORECASE)


class DarajaError(Exception):
    """Root of what a Daraja call can end in, other than a usable JSON answer.

    `upstream_fault`: Daraja could not be reached, did not answer in time, or failed with a 5xx
    that is not its own error body. False when Daraja answered in its own words (a refusal, bad
    credentials) or the fault is ours (an invalid base URL, the token store).
    """

    def __init__(self, reason: str, *, upstream_fault: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.upstream_fault = upstream_fault


class NotSentError(DarajaError):
    """The request surely never reached Daraja: safe to call it failed."""


class CredentialsRejectedError(NotSentError):
    """The OAuth endpoint refused the consumer key/secret: nothing was sent, and nothing will
    be until the account's credentials are fixed."""


class RefusedError(DarajaError):
    """Daraja answered and said no (its error envelope, or an edge 4xx)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code} {message}")
        self.code, self.message = code, message


class OutcomeUnknownError(DarajaError):
    """The request may have been acted on; nobody can say yet."""

    def __init__(
        self, reason: str, *, timed_out: bool = False, upstream_fault: bool = False
    ) -> None:
        super().__init__(reason, upstream_fault=upstream_fault)
        self.timed_out = timed_out


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


def mask_token(message: str, token: str | None = None) -> str:
    """Daraja's error text with any access token it echoes removed."""
    masked = _TOKEN_ECHO.sub(r"\1 - [redacted]", message)
    return masked.replace(token, "[redacted]") if token else masked


class DarajaClient:
    """Talks to one Daraja app (base URL + consumer key). Thread-safe."""

    def __init__(
        self,
        base_url: str,
        consumer_key: str,
        consumer_secret: str,
        *,
        session: requests.Session,
        tokens: TokenStore,
        timeout: tuple[float, float],
        refresh_buffer_seconds: float,
        clock: Any = time.time,
        log_traffic: bool = False,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._log_traffic = log_traffic  # monitoring.log_daraja_traffic
        self._auth = (consumer_key, consumer_secret)
        self._session = session
        self._tokens = tokens
        self._timeout = timeout
        self._buffer = refresh_buffer_seconds
        self._clock = clock
        fingerprint = credential_fingerprint(base_url, consumer_key, consumer_secret)
        self.token_key = f"daraja-token:{fingerprint}"

    def post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST to a product endpoint; its JSON answer, or a DarajaError saying what happened.

        An invalid-token answer refreshes the shared token once and retries once.
        """
        for attempt in (1, 2):
            token = self.access_token()
            response = self._send(
                "POST", path, json=payload, headers={"Authorization": f"Bearer {token}"}
            )
            try:
                return _answer(response, token)
            except RefusedError as exc:
                if attempt == 1 and exc.code in INVALID_TOKEN_CODES:
                    self._tokens.invalidate(self.token_key, token)
                    continue
                raise
        raise AssertionError("unreachable")

    def access_token(self) -> str:
        """The shared token; any failure to get one means the product call was never sent."""
        try:
            return self._tokens.token(self.token_key, self._mint, buffer_seconds=self._buffer)
        except NotSentError:
            raise
        except DarajaError as exc:  # the cause says whether a retry may help (retry.py)
            raise NotSentError(
                f"no OAuth token: {exc.reason}", upstream_fault=exc.upstream_fault
            ) from exc
        except Exception as exc:
            raise NotSentError(f"no OAuth token: {type(exc).__name__}") from exc

    def _mint(self) -> CachedToken:
        response = self._send("GET", OAUTH_PATH, auth=self._auth)
        if response.status_code == 400 and not response.content:
            # Wrong key/secret: empty body, the reason phrase says why (API.md §1).
            raise CredentialsRejectedError(response.reason or "Invalid Credentials")
        body = _answer(response, None)
        try:
            value, expires_in = str(body["access_token"]), int(body["expires_in"])
        except (KeyError, TypeError, ValueError) as exc:
            raise OutcomeUnknownError("the OAuth answer was not understood") from exc
        return CachedToken(value, self._clock() + expires_in)

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        where = path.split("?")[0]
        if self._log_traffic:
            traffic.log_request(method, where, kwargs.get("json"))
        started = time.monotonic()
        try:
            response = self._session.request(
                method, f"{self.base_url}{path}", timeout=self._timeout, **kwargs
            )
        except requests.exceptions.RequestException as exc:
            error = classify_transport(exc)
            observe_daraja_call(where, time.monotonic() - started, type(error).__name__)
            log.warning("daraja %s %s: %s (%s)", method, where, type(exc).__name__, error.reason)
            raise error from exc
        elapsed = time.monotonic() - started
        status = response.status_code
        observe_daraja_call(where, elapsed, f"http_{status}" if status >= 400 else None)
        log.info("daraja %s %s -> %s in %.0f ms", method, where, status, elapsed * 1000)
        if self._log_traffic:
            traffic.log_answer(method, where, response)
        return response


def classify_transport(exc: requests.exceptions.RequestException) -> DarajaError:
    """A requests exception -> never sent, or outcome unknown."""
    if isinstance(exc, requests.exceptions.ConnectTimeout | requests.exceptions.SSLError):
        reason = "could not connect" if "Timeout" in type(exc).__name__ else "TLS"
        return NotSentError(reason, upstream_fault=True)
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return OutcomeUnknownError("no answer in time", timed_out=True, upstream_fault=True)
    if isinstance(exc, requests.exceptions.ConnectionError) and _never_connected(exc):
        return NotSentError("connection refused or host not found", upstream_fault=True)
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return NotSentError("invalid base URL")  # ours to fix: Daraja is not at fault
    return OutcomeUnknownError(
        f"the connection broke mid-request ({type(exc).__name__})", upstream_fault=True
    )


def _never_connected(exc: requests.exceptions.ConnectionError) -> bool:
    """True when the request surely never reached Daraja (so it is safe to call it failed)."""
    from urllib3.exceptions import NameResolutionError, NewConnectionError

    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError | NameResolutionError)


def _answer(response: requests.Response, token: str | None) -> dict[str, Any]:
    """A response -> its JSON object, or Refused / OutcomeUnknown."""
    try:
        body = response.json()
    except ValueError:  # truncated, HTML, empty
        body = None
    if isinstance(body, dict) and "errorCode" in body:
        message = mask_token(str(body.get("errorMessage") or "")[:255], token)
        raise RefusedError(str(body["errorCode"])[:32], message)
    if response.status_code >= 500:  # an HTML page from a proxy or load balancer: Daraja is down
        raise OutcomeUnknownError(
            f"HTTP {response.status_code} without Daraja's error body", upstream_fault=True
        )
    if 400 <= response.status_code < 500:
        raise RefusedError(f"http_{response.status_code}", f"HTTP {response.status_code}")
    if not isinstance(body, dict):
        raise OutcomeUnknownError(f"HTTP {response.status_code} with an undecodable body")
    return body
