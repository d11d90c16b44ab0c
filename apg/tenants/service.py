"""Create and name tenants; issue, rotate and revoke API keys; authenticate keys; route
callbacks by a tenant's URL token."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from apg.clock import Clock
from apg.crypto import digest
from apg.dbtypes import new_id
from apg.extensions import db
from apg.tenants.models import ApiKey, Tenant

KEY_MODES = ("test", "live")
NAME_LENGTH = 200


@dataclass(frozen=True)
class Rotation:
    old: ApiKey  # works until old.revoked_at
    new: ApiKey
    api_key: str  # the new key itself, shown once


def add_tenant(name: str, now: datetime) -> Tenant:
    """Add a tenant to the session (the caller commits) with a fresh callback URL token.

    Raises ValueError if the name is blank, too long or another tenant's.
    """
    name = _free_name(name)
    # Hex, so the token can never spell a word Daraja forbids in callback URLs (exe, sql…).
    tenant = Tenant(
        id=new_id("ten"), name=name, callback_token=secrets.token_hex(20), created_at=now
    )
    db.session.add(tenant)
    _flush_named(name)  # parent row first: no relationship() tells the unit of work the order
    return tenant


def rename_tenant(tenant_id: str, name: str) -> Tenant:
    """Rename a tenant (the caller commits). Raises LookupError, or ValueError as add_tenant."""
    tenant = get_tenant(tenant_id)
    if tenant is None:
        raise LookupError(f"no tenant {tenant_id}")
    tenant.name = _free_name(name, tenant_id)
    _flush_named(tenant.name)
    return tenant


def _free_name(name: str, tenant_id: str | None = None) -> str:
    name = name.strip()
    if not name:
        raise ValueError("a tenant name must not be empty")
    if len(name) > NAME_LENGTH:
        raise ValueError(f"a tenant name must be at most {NAME_LENGTH} characters")
    taken = find_tenant_by_name(name)
    if taken is not None and taken.id != tenant_id:
        raise ValueError(f"tenant {taken.id} is already named {name!r}")
    return name


def _flush_named(name: str) -> None:
    try:
        db.session.flush()
    except IntegrityError as exc:  # another session took the name since _free_name looked
        raise ValueError(f"another tenant is already named {name!r}") from exc


def add_api_key(tenant_id: str, mode: str, now: datetime) -> str:
    """Add a key (the caller commits); the key itself is returned once and stored hashed."""
    return new_api_key(tenant_id, mode, now)[1]


def new_api_key(tenant_id: str, mode: str, now: datetime) -> tuple[ApiKey, str]:
    """add_api_key, with the new row too."""
    if mode not in KEY_MODES:
        raise ValueError(f"key mode must be one of {', '.join(KEY_MODES)}")
    api_key = f"apg_{mode}_{secrets.token_urlsafe(32)}"
    row = ApiKey(
        id=new_id("key"),
        tenant_id=tenant_id,
        mode=mode,
        prefix=api_key[:13],
        key_hash=digest(api_key),
        created_at=now,
    )
    db.session.add(row)
    return row, api_key


def revoke_api_key(key_id: str, now: datetime) -> tuple[ApiKey, bool]:
    """Stop a key working from `now` (the caller commits); True if this call revoked it.

    A key already revoked keeps its revoked_at; one in a rotation's grace period stops now.
    Raises LookupError for an unknown key.
    """
    key = _key(key_id)
    if not key.works_at(now):
        return key, False
    key.revoked_at = now
    return key, True


def rotate_api_key(key_id: str, now: datetime, grace: timedelta = timedelta(0)) -> Rotation:
    """Issue a key of the same tenant and mode, and retire the old one after `grace` (the
    caller commits). Raises LookupError for an unknown key, ValueError for a retired one."""
    old = _key(key_id)
    if old.revoked_at is not None:
        raise ValueError(
            f"key {key_id} is already revoked or retiring (revoked_at {old.revoked_at.isoformat()})"
        )
    new, api_key = new_api_key(old.tenant_id, old.mode, now)
    old.revoked_at = now + grace
    return Rotation(old, new, api_key)


def _key(key_id: str) -> ApiKey:
    key = db.session.get(ApiKey, key_id)
    if key is None:
        raise LookupError(f"no API key {key_id}")
    return key


def api_keys_of(tenant_id: str) -> list[ApiKey]:
    """Oldest first, revoked ones included."""
    return list(
        db.session.execute(
            select(ApiKey)
            .where(ApiKey.tenant_id == tenant_id)
            .order_by(ApiKey.created_at, ApiKey.id)
        ).scalars()
    )


def key_by_secret(api_key: str) -> ApiKey | None:
    """The row of an API key, working or not. Looks up by digest, never by plaintext."""
    return db.session.execute(
        select(ApiKey).where(ApiKey.key_hash == digest(api_key))
    ).scalar_one_or_none()


def authenticate(api_key: str, now: datetime | None = None) -> Tenant | None:
    """The tenant owning a key that works at `now`, or None (see authenticate_key).

    `now` defaults to the wall clock; callers holding the app's clock should pass it.
    """
    found = authenticate_key(api_key, now or Clock().now())
    return found[1] if found else None


def authenticate_key(api_key: str, now: datetime) -> tuple[ApiKey, Tenant] | None:
    """A key that works at `now`, and its tenant; None for an unknown or retired key. Looks up
    by digest, never by plaintext. A rotated key works until the end of its grace period."""
    row = db.session.execute(
        select(ApiKey, Tenant)
        .join(Tenant, ApiKey.tenant_id == Tenant.id)
        .where(
            ApiKey.key_hash == digest(api_key),
            or_(ApiKey.revoked_at.is_(None), ApiKey.revoked_at > now),
        )
    ).one_or_none()
    return (row[0], row[1]) if row else None


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
    """Names are stored stripped, so they are looked up stripped."""
    query = select(Tenant).where(Tenant.name == name.strip())
    return db.session.execute(query).scalar_one_or_none()


def list_tenants() -> list[Tenant]:
    """Oldest first."""
    return list(db.session.execute(select(Tenant).order_by(Tenant.created_at, Tenant.id)).scalars())


def key_mode_for(tenant_id: str) -> str:
    """live if the tenant has ever been issued a live key, else test."""
    modes = set(
        db.session.execute(select(ApiKey.mode).where(ApiKey.tenant_id == tenant_id)).scalars()
    )
    return "live" if "live" in modes else "test"
