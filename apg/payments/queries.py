"""Reading payments: one, a page, by Idempotency-Key, and the audit trail. Every read is scoped
to a tenant and, for an API key, to the accounts its mode may use (Scope)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select

from apg.errors import NotFoundError
from apg.extensions import db
from apg.payments.models import PaymentEvent, PaymentTransaction

# What each API resource lists: collections are "payments"; payouts, inquiries… their own.
COLLECTIONS = ("stk_push", "c2b_payment")


@dataclass(frozen=True)
class Scope:
    """Whose operations a reader sees: the tenant's, on `account_ids` only when given (an API
    key sees its mode's accounts: a test key never reads a live payment, nor the reverse)."""

    tenant_id: str
    account_ids: frozenset[str] | None = None  # None: every account (operators, the library)

    @classmethod
    def of(cls, scope: Scope | str) -> Scope:
        return scope if isinstance(scope, Scope) else cls(scope)

    def clauses(self) -> list[Any]:
        found = [PaymentTransaction.tenant_id == self.tenant_id]
        if self.account_ids is not None:
            found.append(PaymentTransaction.account_id.in_(self.account_ids))
        return found


def scope_of(tenant_id: str, account_ids: Collection[str] | None) -> Scope:
    return Scope(tenant_id, None if account_ids is None else frozenset(account_ids))


@dataclass(frozen=True)
class PaymentFilter:
    types: tuple[str, ...] = COLLECTIONS
    limit: int = 20
    starting_after: str | None = None
    status: str | None = None
    reference: str | None = None
    created_gte: datetime | None = None
    created_lt: datetime | None = None


@dataclass(frozen=True)
class Page:
    data: list[PaymentTransaction] = field(default_factory=list)
    has_more: bool = False


def get_payment(
    scope: Scope | str,
    payment_id: str,
    types: tuple[str, ...] = COLLECTIONS,
    noun: str = "payment",
) -> PaymentTransaction:
    """The scope's transaction of one of `types` (each resource sees only its own kind)."""
    payment = db.session.execute(
        select(PaymentTransaction).where(
            PaymentTransaction.id == payment_id,
            PaymentTransaction.transaction_type.in_(types),
            *Scope.of(scope).clauses(),
        )
    ).scalar_one_or_none()
    if payment is None:
        raise NotFoundError(f"No such {noun}: {payment_id[:64]!r}.", param="id")
    return payment


def by_idempotency_key(tenant_id: str, key: str, since: datetime) -> PaymentTransaction | None:
    """The payment a request with this key recorded, if any, since the key was claimed
    (a key may be reused once it expires, so older payments with it do not count)."""
    return (
        db.session.execute(
            select(PaymentTransaction)
            .where(
                PaymentTransaction.tenant_id == tenant_id,
                PaymentTransaction.idempotency_key == key,
                PaymentTransaction.created_at >= since,
            )
            .order_by(PaymentTransaction.created_at.desc())
        )
        .scalars()
        .first()
    )


def events_of(
    scope: Scope | str, payment_id: str, types: tuple[str, ...] = COLLECTIONS
) -> list[PaymentEvent]:
    txn = get_payment(scope, payment_id, types)
    return list(
        db.session.execute(
            select(PaymentEvent).where(PaymentEvent.payment_id == txn.id).order_by(PaymentEvent.id)
        ).scalars()
    )


def list_payments(scope: Scope | str, f: PaymentFilter) -> Page:
    """Newest first; `starting_after` is the last id of the previous page (keyset cursor)."""
    query = select(PaymentTransaction).where(
        PaymentTransaction.transaction_type.in_(f.types), *Scope.of(scope).clauses()
    )
    if f.starting_after:
        try:
            anchor = get_payment(scope, f.starting_after, f.types)
        except NotFoundError as exc:
            exc.param = "starting_after"
            raise
        query = query.where(
            or_(
                PaymentTransaction.created_at < anchor.created_at,
                and_(
                    PaymentTransaction.created_at == anchor.created_at,
                    PaymentTransaction.id < anchor.id,
                ),
            )
        )
    if f.status:
        query = query.where(PaymentTransaction.status == f.status)
    if f.reference:
        query = query.where(PaymentTransaction.reference == f.reference)
    if f.created_gte:
        query = query.where(PaymentTransaction.created_at >= f.created_gte)
    if f.created_lt:
        query = query.where(PaymentTransaction.created_at < f.created_lt)
    query = query.order_by(PaymentTransaction.created_at.desc(), PaymentTransaction.id.desc())
    rows = list(db.session.execute(query.limit(f.limit + 1)).scalars())
    return Page(data=rows[: f.limit], has_more=len(rows) > f.limit)
