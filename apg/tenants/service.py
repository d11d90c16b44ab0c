"""Create tenants and API keys; authenticate keys; route callbacks by a tenant's URL token."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from apg.crypto import digest
from apg.dbtypes import new_id
from apg.extensions import db
from apg.tenants.models import ApiKey, Tenant

KEY_MODES = ("test", "live")


def add_tenant(name: str, now: datetime) -> Tenant:
    """Add a tenant to the session (the caller commits) with a fresh callback URL token."""
    # Hex, so the token can never spell a word Daraja forbids in callback URLs (exe, sql…).
    tenant = Tenant(
        id=new_id("ten"), name=name, callback_token=secrets.token_hex(20), created_at=now
    )
    db.session.add(tenant)
    db.session.flush()  # parent row first: no relationship() tells the unit of work the order
    return tenant


def add_api_key(tenant_id: str, mode: str, now: datetime) -> str:
    """Add a key (the caller commits); the key itself is returned once and stored hashed."""
    if mode not in KEY_MODES:
        raise ValueError(f"key mode must be one of {', '.join(KEY_MODES)}")
    api_key = f"apg_{mode}_{secrets.token_urlsafe(32)}"
    db.session.add(
        ApiKey(
            id=new_id("key"),
            tenant_id=tenant_id,
            mode=mode,
            prefix=api_key[:13],
            key_hash=digest(api_key),
            created_at=now,
        )
    )
    return api_key


def authenticate(api_key: str) -> Tenant | None:
    """The tenant owning an active key, or None. Looks up by digest, never by plaintext."""
    return db.session.execute(
        select(Tenant)
        .join(ApiKey, ApiKey.tenant_id == Tenant.id)
        .where(ApiKey.key_hash == digest(api_key), ApiKey.revoked_at.is_(None))
    ).scalar_one_or_none()


def get_tenant(tenant_id: str) -> Tenant | None:
    return db.session.get(Tenant, tenant_id)


def tenant_by_callback_token(token: str) -> Tenant | None:
    return db.session.execute(
        select(Tenant).where(Tenant.callback_token == token)
    ).scalar_one_or_none()


def callback_token_for(tenant_id: str) -> str:
    """Read in a short session of its own: the caller may be about to call an upstream."""
    with Session(db.engine) as session:
        return session.execute(
            select(Tenant.callback_token).where(Tenant.id == tenant_id)
        ).scalar_one()


def find_tenant_by_name(name: str) -> Tenant | None:
    return (
        db.session.execute(select(Tenant).where(Tenant.name == name).order_by(Tenant.created_at))
        .scalars()
        .first()
    )


def key_mode_for(tenant_id: str) -> str:
    """live if the tenant has ever been issued a live key, else test."""
    modes = set(
        db.session.execute(select(ApiKey.mode).where(ApiKey.tenant_id == tenant_id)).scalars()
    )
    return "live" if "live" in modes else "test"
