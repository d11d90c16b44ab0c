"""Who may use the console, and the CSRF token every form of it carries.

An operator signs in with the ops token (APG_OPS_TOKEN, the JSON ops endpoints' bearer token):
Flask's signed session cookie then carries `ops` (a keyed hash of that token: rotating the
token signs everyone out) and a fresh CSRF token for eight hours. In
development with no ops token configured the console is open, as those endpoints are (the
pages say so). A CSRF token is in the session from the first page on (the sign-in form carries
one too), and every POST must send it back.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import Flask, request, session

from apg.security import events as security_events
from apg.services import services

SESSION_LIFETIME = timedelta(hours=8)
CSRF_FIELD = "csrf_token"


def configure_session(app: Flask, *, production: bool) -> None:
    """The session cookie: never read by scripts, never sent cross-site, HTTPS-only in
    production, expiring after SESSION_LIFETIME."""
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=production,
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
    )


def is_open() -> bool:
    """No ops token configured (development only: production cannot start without one)."""
    return not services().settings.security.ops_token


def signed_in() -> bool:
    """Open, or signed in with the ops token configured now: a new token (rotated because the
    old one leaked) signs every earlier session out."""
    expected = services().settings.security.ops_token
    if not expected:
        return True
    given = session.get("ops")
    return isinstance(given, str) and hmac.compare_digest(given, _fingerprint(expected))


def _fingerprint(token: str) -> str:
    """What the session keeps of the token it was opened with (never the token itself)."""
    key = services().settings.security.secret_key or ""
    return hmac.new(key.encode(), token.encode(), hashlib.sha256).hexdigest()


def sign_in(given: str) -> bool:
    """Compare `given` with the ops token in constant time. A match starts the operator's
    session (with a new CSRF token); a mismatch is a security event, as on the JSON side."""
    expected = services().settings.security.ops_token
    if not expected:
        return True
    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        security_events.record(
            security_events.SecurityEventKind.OPS_AUTH_FAILED,
            services().clock.now(),
            source_ip=request.remote_addr,
            path=request.path,
            reason="missing" if not given.strip() else "wrong token",
        )
        return False
    session.clear()  # nothing from before signing in survives it (session fixation)
    session.permanent = True
    session["ops"] = _fingerprint(expected)
    session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return True


def sign_out() -> None:
    session.clear()


def csrf_token() -> str:
    """This session's CSRF token, made on first use (the sign-in form needs one too)."""
    token = session.get(CSRF_FIELD)
    if not isinstance(token, str) or not token:
        token = session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return token


def csrf_matches(given: str | None) -> bool:
    expected = session.get(CSRF_FIELD)
    if not isinstance(expected, str) or not expected or not given:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())
