"""A tenant's callback URL token: which tenant a callback belongs to, and its rotation.

Daraja signs nothing, so the unguessable token in /webhooks/daraja/<token>/<kind> is what
ties a callback to a tenant. Rotating it (a leaked URL) gives the tenant a new token at once;
the old one keeps routing callbacks for a grace period, because operations already sent to
M-Pesa carry the old URL and their results may take hours (a B2C result can, API.md §16).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from apg.extensions import db
from apg.tenants.models import Tenant


@dataclass(frozen=True)
class TokenMatch:
    tenant: Tenant
    current: bool  # False: the previous token, still in its grace period


@dataclass(frozen=True)
class Lookup:
    match: TokenMatch | None
    retired_tenant_id: str | None = None  # the token was this tenant's, past its grace period


def new_token() -> str:
    """Hex, so it can never spell a word Daraja forbids in callback URLs (exe, sql, cmd…)."""
    return secrets.token_hex(20)


def find(token: str, now: datetime) -> Lookup:
    """The tenant a callback URL token routes to at `now`. The database finds the row by
    the token's index; the final comparison is constant-time, as for any secret."""
    if not token.isalnum():  # tokens are hex; a NUL would not even reach PostgreSQL's index
        return Lookup(None)
    tenant = db.session.execute(
        select(Tenant).where(
            or_(Tenant.callback_token == token, Tenant.previous_callback_token == token)
        )
    ).scalar_one_or_none()
    if tenant is None:
        return Lookup(None)
    if hmac.compare_digest(tenant.callback_token.encode(), token.encode()):
        return Lookup(TokenMatch(tenant, current=True))
    until = tenant.previous_callback_token_until
    if until is not None and until > now:
        return Lookup(TokenMatch(tenant, current=False))
    return Lookup(None, retired_tenant_id=tenant.id)


def rotate(tenant_id: str, now: datetime, grace: timedelta) -> Tenant:
    """Give the tenant a new token; the current one works until now + grace (the caller
    commits). A token still in an earlier rotation's grace period stops at once."""
    tenant = db.session.get(Tenant, tenant_id)
    if tenant is None:
        raise LookupError(f"no tenant {tenant_id}")
    tenant.previous_callback_token = tenant.callback_token
    tenant.previous_callback_token_until = now + grace
    tenant.callback_token = new_token()
    db.session.flush()
    return tenant
