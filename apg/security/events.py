"""The security event log: what was refused or looked wrong, for ops to read.

Rejected callbacks (and why), authentication failures, rate-limit hits and callbacks whose
evidence did not match the operation. Each event is written in a session of its own, so it is
kept whatever the request does next, and it never holds a secret: API keys appear by prefix.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from apg.dbtypes import UTCDateTime
from apg.extensions import db

log = logging.getLogger(__name__)


class SecurityEventKind:
    CALLBACK_UNKNOWN_TOKEN = "callback_unknown_token"  # no tenant has this URL token
    CALLBACK_RETIRED_TOKEN = "callback_retired_token"  # a rotated token past its grace period
    CALLBACK_SOURCE_REFUSED = "callback_source_refused"  # from outside the IP allowlist
    CALLBACK_MALFORMED = "callback_malformed"  # not a callback of its kind
    CALLBACK_MISMATCH = "callback_mismatch"  # its evidence did not match: held for review
    AUTH_FAILED = "auth_failed"  # a merchant API call with a missing or unknown key
    KEY_MODE_MISMATCH = "key_mode_mismatch"  # a test key on a production account, or reverse
    OPS_AUTH_FAILED = "ops_auth_failed"  # an ops endpoint without the ops token
    RATE_LIMITED = "rate_limited"  # a limit was hit (recorded once per key and window)


KINDS = tuple(v for k, v in vars(SecurityEventKind).items() if not k.startswith("_"))


class SecurityEvent(db.Model):  # type: ignore[name-defined]
    __tablename__ = "security_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    tenant_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    source_ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    path: Mapped[str | None] = mapped_column(String(200), nullable=True)
    detail: Mapped[str] = mapped_column(Text)  # JSON object
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "tenant_id": self.tenant_id,
            "source_ip": self.source_ip,
            "path": self.path,
            "detail": json.loads(self.detail),
            "occurred_at": self.occurred_at.isoformat(),
        }


def record(
    kind: str,
    now: datetime,
    *,
    tenant_id: str | None = None,
    source_ip: str | None = None,
    path: str | None = None,
    **detail: Any,
) -> None:
    """Store one event in its own transaction. Never raises: a failure to record is logged,
    and the refusal it describes still happens."""
    log.warning("security event %s from %s on %s: %s", kind, source_ip, path, detail)
    try:
        with Session(db.engine) as session, session.begin():
            session.add(
                SecurityEvent(
                    kind=kind,
                    tenant_id=tenant_id,
                    source_ip=(source_ip or "")[:64] or None,
                    path=(path or "")[:200] or None,
                    detail=json.dumps(detail, default=str)[:4000],
                    occurred_at=now,
                )
            )
    except Exception:  # the database is down: the log line above is the record
        log.exception("could not store security event %s", kind)


def recent(
    *,
    kind: str | None = None,
    tenant_id: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[SecurityEvent]:
    """Newest first; page with before_id (the last id of the previous page)."""
    query = select(SecurityEvent).order_by(SecurityEvent.id.desc()).limit(limit)
    if kind:
        query = query.where(SecurityEvent.kind == kind)
    if tenant_id:
        query = query.where(SecurityEvent.tenant_id == tenant_id)
    if before_id:
        query = query.where(SecurityEvent.id < before_id)
    return list(db.session.execute(query).scalars())
