"""A tenant's API keys as the tenant itself manages them (the merchant API): issue, rotate and
revoke, each within the calling key's mode and never locking the tenant out; and when each key
was last used."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from apg.errors import APGError, KeyModeMismatchError, NotFoundError
from apg.extensions import db
from apg.tenants import service as tenants
from apg.tenants.models import ApiKey, Tenant

log = logging.getLogger(__name__)
T = TypeVar("T")

# last_used_at is written at most this often per key: a busy key must not turn every request
# into a write.
USE_RESOLUTION = timedelta(minutes=1)
MAX_GRACE = timedelta(days=7)


class ApiKeyConflictError(APGError):
    """The key's state forbids the change (409): retired already, or the last active one."""

    status, type, code = 409, "invalid_request_error", "api_key_conflict"


@dataclass(frozen=True)
class Issued:
    """A key just issued: its row and the key itself, shown this once. `replaces`: the key it
    rotated, which works until replaces.revoked_at."""

    row: ApiKey
    api_key: str
    replaces: ApiKey | None = None


@dataclass(frozen=True)
class Revoked:
    row: ApiKey
    already_revoked: bool  # it had stopped working before this request


def record_use(key: ApiKey, now: datetime) -> None:
    """Note that `key` authenticated a request at `now`, at most once per USE_RESOLUTION.

    A conditional UPDATE committed in a session of its own: it never rides in the request's
    transaction (a payment's), and of racing requests one writes. Never raises: bookkeeping
    must not fail the request it describes.
    """
    stale = now - USE_RESOLUTION
    if key.last_used_at is not None and key.last_used_at >= stale:
        return
    try:
        with Session(db.engine) as session, session.begin():
            session.execute(
                update(ApiKey)
                .where(ApiKey.id == key.id)
                .where(or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < stale))
                .values(last_used_at=now)
            )
    except Exception:  # e.g. the database is busy: the next request records the use
        log.exception("could not record the use of API key %s", key.id)
        return
    set_committed_value(key, "last_used_at", now)  # what a re-read would show, yet not dirty


def issue(tenant_id: str, mode: str, now: datetime) -> Issued:
    """Another key for the tenant, of `mode` (the calling key's: a test key never mints a live
    one). Committed."""
    return _committed(lambda: Issued(*tenants.new_api_key(tenant_id, mode, now)))


def rotate(tenant_id: str, key_id: str, mode: str, grace: timedelta, now: datetime) -> Issued:
    """A new key of the same mode replacing the tenant's active key `key_id`, which keeps working
    for `grace` (0 to MAX_GRACE). Committed. Raises NotFoundError, KeyModeMismatchError, or
    ApiKeyConflictError (api_key_not_active) for a key already revoked or retiring."""

    def change() -> Issued:
        key = _managed(tenant_id, key_id, mode)
        if key.revoked_at is not None:
            state = "revoked" if key.revoked_at <= now else "already retiring"
            raise ApiKeyConflictError(
                f"API key {key_id} is {state} (it stops at {key.revoked_at.isoformat()}): only"
                " an active key can be rotated. Rotate its replacement, or create a new key.",
                code="api_key_not_active",
            )
        rotation = tenants.rotate_api_key(key_id, now, grace)
        return Issued(rotation.new, rotation.api_key, replaces=rotation.old)

    return _committed(change)


def revoke(tenant_id: str, key_id: str, mode: str, now: datetime) -> Revoked:
    """Stop the tenant's key `key_id` now (ending a grace period too). Committed. Revoking a
    revoked key changes nothing. Raises NotFoundError, KeyModeMismatchError, or
    ApiKeyConflictError (last_active_key) when no other active key of its mode would be left:
    the tenant would lock itself out, and only an operator could issue it another key."""

    def change() -> Revoked:
        key = _managed(tenant_id, key_id, mode)
        if key.revoked_at is None and not _another_active(key):
            raise ApiKeyConflictError(
                f"API key {key_id} is this tenant's last active {key.mode} key: revoking it"
                f" would lock {key.mode} mode out until an operator issues another. Rotate it"
                f" instead (POST /api/v1/api-keys/{key_id}/rotate, grace_seconds 0 to stop it"
                " now), or create another key first.",
                code="last_active_key",
            )
        row, revoked = tenants.revoke_api_key(key_id, now)
        return Revoked(row, already_revoked=not revoked)

    return _committed(change)


def _managed(tenant_id: str, key_id: str, mode: str) -> ApiKey:
    """The tenant's key, locked with its tenant's row so that two revocations at once cannot
    both see the other's key as the one left. Another tenant's key is answered as an unknown
    id; a key of the other mode is refused: a test key (in a CI job, say) must never retire a
    live key, nor be handed a new one."""
    db.session.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())
    key = db.session.get(ApiKey, key_id)
    if key is None or key.tenant_id != tenant_id:
        raise NotFoundError(f"No such API key: {key_id!r}.", param="id")
    if key.mode != mode:
        raise KeyModeMismatchError(
            f"API key {key_id} is a {key.mode} key, and a {mode} key manages only {mode} keys:"
            f" use a {key.mode} key (apg_{key.mode}_…) to rotate or revoke it."
        )
    return key


def _another_active(key: ApiKey) -> bool:
    """Another key of the tenant and mode that works with no end date (not one in a grace
    period: it stops by itself)."""
    other = select(ApiKey.id).where(
        ApiKey.tenant_id == key.tenant_id,
        ApiKey.mode == key.mode,
        ApiKey.revoked_at.is_(None),
        ApiKey.id != key.id,
    )
    return db.session.execute(other.limit(1)).first() is not None


def _committed(change: Callable[[], T]) -> T:
    """Run `change` and commit it, or roll everything back if it raises."""
    try:
        result = change()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return result
