"""Bearer-key authentication of the merchant API, and the security events of its refusals: a
failed authentication, and a key used on the other mode's accounts or keys."""

from __future__ import annotations

from typing import Any

from flask import g, request
from sqlalchemy import union_all

from apg.errors import AuthenticationError, KeyModeMismatchError, error_response
from apg.payments.queries import Scope
from apg.security import events as security_events
from apg.services import services
from apg.tenants import keys
from apg.tenants.service import authenticate_key, key_by_secret

PREFIX_LENGTH = 13  # apg_test_ + 4: what support chats quote; never more of a key is recorded


def authenticate_request() -> None:
    """Sets g.tenant, g.api_key (the key as sent), g.key_id and g.key_mode (test | live) from
    `Authorization: Bearer <key>`, and notes the key's use; else raises AuthenticationError."""
    now = services().clock.now()  # grace periods end by the app's clock
    scheme, _, api_key = request.headers.get("Authorization", "").partition(" ")
    api_key = api_key.strip()
    if scheme.lower() == "basic":  # the credentials are neither checked nor echoed
        _refused("basic auth")
        raise AuthenticationError(
            "HTTP Basic auth is not accepted (curl -u sends the key as a username):"
            " send Authorization: Bearer <key>.",
            code="basic_auth_not_supported",
        )
    if scheme.lower() != "bearer" or not api_key:
        _refused("missing" if scheme.lower() in ("", "bearer") else "not bearer")
        raise AuthenticationError()
    found = authenticate_key(api_key, now)
    if found is None:
        retired = key_by_secret(api_key)
        tenant_id = retired.tenant_id if retired else None
        _refused("revoked key" if retired else "unknown key", tenant_id, api_key)
        raise AuthenticationError("Invalid API key.")
    key, tenant = found
    keys.record_use(key, now)
    g.tenant, g.api_key, g.key_id, g.key_mode = tenant, api_key, key.id, key.mode
    g.pop("scope", None)  # viewer() works it out again for this key


def viewer() -> Scope:
    """What the calling key may read: its tenant's operations on the accounts of its mode."""
    if "scope" not in g:
        queries = [
            processor.accounts_of_mode_query(g.tenant.id, g.key_mode)
            for processor in services().processors.all().values()
        ]
        g.scope = Scope(g.tenant.id, queries[0] if len(queries) == 1 else union_all(*queries))
    return g.scope


def refuse_key_mode(error: KeyModeMismatchError) -> tuple[Any, int]:
    """The house Blueprint's handler of KeyModeMismatchError: the event, then the usual answer."""
    security_events.record(
        security_events.SecurityEventKind.KEY_MODE_MISMATCH,
        services().clock.now(),
        tenant_id=g.tenant.id,
        source_ip=request.remote_addr,
        path=request.path,
        key_prefix=g.api_key[:PREFIX_LENGTH],
        key_mode=g.key_mode,
        account_id=error.extra.get("account_id"),
    )
    return error_response(error)


def _refused(reason: str, tenant_id: str | None = None, api_key: str | None = None) -> None:
    security_events.record(
        security_events.SecurityEventKind.AUTH_FAILED,
        services().clock.now(),
        tenant_id=tenant_id,
        source_ip=request.remote_addr,
        path=request.path,
        reason=reason,
        key_prefix=api_key[:PREFIX_LENGTH] if api_key else None,
    )
