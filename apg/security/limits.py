"""Rate limits (Flask-Limiter): per API key on the merchant API, per source address on failed
authentications and on callbacks from outside the allowlist. Counters live in Redis when
app.redis_url is set (shared by every worker), else in each worker's memory.

Callbacks from Safaricom's addresses are never throttled: at volume a handful of Safaricom
hosts send hundreds a minute, and a 429 there loses a payment's news. A refused request is a
429 with Retry-After and the error object; each limit hit is a security event, recorded once
per key and window so a flood does not become a flood of rows.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence

from flask import Blueprint, Flask, request
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter, RateLimitExceeded, RequestLimit

from apg.crypto import digest
from apg.errors import APGError, error_response
from apg.security import events
from apg.services import services
from apg.settings import Settings


class TooManyRequestsError(APGError):
    status, type, code = 429, "rate_limit_error", "too_many_requests"
    message = "Too many requests: slow down and retry after the time in Retry-After."


def init_app(
    app: Flask, settings: Settings, api: Sequence[Blueprint], callbacks: Blueprint
) -> Limiter:
    """Attach the limiter to the app, and its limits to the merchant API's blueprints and the
    callbacks' (limits are kept by blueprint name, per app)."""
    limiter = Limiter(
        key_func=_source_ip,
        app=app,
        storage_uri=settings.app.redis_url or "memory://",
        strategy="moving-window",  # exact: no burst at a window boundary, no flaky edge
        key_prefix="apg-limits",
        headers_enabled=False,  # Retry-After is set on refusals, by the error below
        swallow_errors=True,  # a Redis outage must not take the API down with it
    )
    inbox = app.extensions["apg"].inbox  # its sources: the allowlist the inbox enforces
    recorded: dict[str, float] = {}  # limit key -> until when its hit is already recorded
    if settings.security.api_rate_limit:
        for blueprint in api:
            limiter.limit(
                settings.security.api_rate_limit,
                key_func=_api_key,
                on_breach=_recorder("api", recorded),
            )(blueprint)
    if settings.security.auth_failure_rate_limit:
        # Counts only 401s, by address: cycling random keys (each its own api_rate_limit
        # bucket) cannot guess on, nor fill the security event log.
        for blueprint in api:
            limiter.limit(
                settings.security.auth_failure_rate_limit,
                key_func=lambda: f"auth-failures:{_source_ip()}",
                deduct_when=lambda response: response.status_code == 401,
                on_breach=_recorder("auth_failures", recorded),
            )(blueprint)
    if settings.security.callback_rate_limit:
        limiter.limit(
            settings.security.callback_rate_limit,
            key_func=lambda: f"source:{_source_ip()}",
            exempt_when=lambda: inbox.sources.trusted(_source_ip()),
            on_breach=_recorder("callbacks", recorded),
        )(callbacks)

    def too_many_requests(exc: RateLimitExceeded) -> ResponseReturnValue:
        current = limiter.current_limit
        wait = max(1, math.ceil(current.window.reset_time - time.time())) if current else 60
        return error_response(
            TooManyRequestsError(
                f"Too many requests ({exc.description}): retry in {wait} s.", retry_after=wait
            )
        )

    app.register_error_handler(RateLimitExceeded, too_many_requests)

    return limiter


def _source_ip() -> str:
    return request.remote_addr or "unknown"


def _api_key() -> str:
    """The presented key's digest (never the key); a request without one counts by address."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and key.strip():
        return "key:" + digest(key.strip())[:32]
    return f"source:{_source_ip()}"


_recorded_lock = threading.Lock()


def _recorder(scope: str, recorded: dict[str, float]) -> Callable[[RequestLimit], None]:
    """Records a limit's first hit in each window (per worker)."""

    def on_breach(limit: RequestLimit) -> None:
        now = time.time()
        with _recorded_lock:
            if recorded.get(limit.key, 0) > now:
                return
            if len(recorded) > 10_000:  # bounded: forget windows that have ended
                for key in [k for k, until in recorded.items() if until <= now]:
                    del recorded[key]
            recorded[limit.key] = float(limit.reset_at)
        key = request.headers.get("Authorization", "").partition(" ")[2].strip()
        events.record(
            events.SecurityEventKind.RATE_LIMITED,
            services().clock.now(),
            source_ip=_source_ip(),
            path=request.path[:200],
            scope=scope,
            limit=str(limit.limit),
            key_prefix=key[:13] if scope == "api" and key else None,
        )

    return on_breach
