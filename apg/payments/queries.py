"""Reading payments: one, a page, by Idempotency-Key, and the audit trail. Every read is scoped
to a tenant and, for an API key, to the accounts its mode may use (Scope)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    CompoundSelect,
    Select,
    String,
    any_,
    cast,
    func,
    literal,
    literal_column,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.orm import joinedload

from apg.dbtypes import UTCDateTime
from apg.errors import NotFoundError
from apg.extensions import db
from apg.payments.models import MERCHANT_EVENT_KINDS, PaymentEvent, PaymentTransaction

# What each API resource lists: collections are "payments"; payouts, inquiries… their own.
COLLECTIONS = ("stk_push", "c2b_payment")


@dataclass(frozen=True)
class Scope:
    """Whose operations a reader sees: the tenant's, on `account_ids` only when given (an API
    key sees its mode's accounts: a test key never reads a live payment, nor the reverse)."""

    tenant_id: str
    # None: every account (operators, the library); else the ids, or a SELECT of them that the
    # read joins in its own statement (an API key's: see apg.api.auth.viewer).
    account_ids: frozenset[str] | Select[str] | CompoundSelect[str] | None = None

    @classmethod
    def of(cls, scope: Scope | str) -> Scope:
        return scope if isinstance(scope, Scope) else cls(scope)

    def clauses(self) -> list[Any]:
        return [PaymentTransaction.tenant_id == self.tenant_id, *self.account_clauses()]

    def account_clauses(self, column: Any = PaymentTransaction.account_id) -> list[Any]:
        """The accounts condition alone (none for every account), for a query that scopes the
        tenant on a table of its own (`column`: that table's account id).

        A SELECT of ids is `account_id = ANY(CAST((SELECT array_agg(id) …)))` on PostgreSQL, still
        one statement: as `IN (SELECT …)` the planner estimates the semi-join to keep a twentieth
        of the rows it keeps (all of them, for a tenant of one mode), and reads a busy tenant's
        events by a parallel scan of every event (bench/explain.py, 60 ms instead of 1)."""
        accounts = self.account_ids
        if accounts is None:
            return []
        if isinstance(accounts, frozenset) or db.engine.dialect.name != "postgresql":
            return [column.in_(accounts)]
        ids = accounts.subquery()
        every = cast(select(func.array_agg(ids.c[0])).scalar_subquery(), ARRAY(String))
        return [column == any_(every)]


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
    payment = (
        db.session.execute(
            select(PaymentTransaction)
            .where(
                PaymentTransaction.id == payment_id,
                PaymentTransaction.transaction_type.in_(types),
                *Scope.of(scope).clauses(),
            )
            .options(joinedload(PaymentTransaction.refs))  # one round trip, not two
        )
        .unique()
        .scalar_one_or_none()
    )
    if payment is None:
        raise NotFoundError(f"No such {noun}: {payment_id[:64]!r}.", param="id")
    return payment


def visible(scope: Scope, payment_id: str) -> bool:
    """Whether the scope may read this transaction (whatever its type)."""
    seen = select(PaymentTransaction.id).where(
        PaymentTransaction.id == payment_id, *scope.clauses()
    )
    return db.session.execute(seen).first() is not None


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
    """The payment's audit trail as its merchant sees it (not ops' own rows)."""
    txn = get_payment(scope, payment_id, types)
    return list(
        db.session.execute(
            select(PaymentEvent)
            .where(
                PaymentEvent.payment_id == txn.id,
                PaymentEvent.kind.in_(MERCHANT_EVENT_KINDS),
            )
            .order_by(PaymentEvent.id)
        ).scalars()
    )


def list_payments(scope: Scope | str, f: PaymentFilter) -> Page:
    """Newest first; `starting_after` is the last id of the previous page (keyset cursor).

    Each type is read by its own ordered scan of an index that starts (tenant_id,
    transaction_type[, status]) and ends (created_at, id), stopping after a page: a page costs
    the same for a rare type or status as for a common one, and on page 1000 as on page 1.
    Several types (payments are STK Pushes and C2B payments) are the newest of those scans.
    """
    conditions = list(Scope.of(scope).clauses())
    if f.starting_after:
        try:
            anchor = get_payment(scope, f.starting_after, f.types)
        except NotFoundError as exc:
            exc.param = "starting_after"
            raise
        # A row comparison: an index bound after (tenant_id, …), not a filter of every row
        # newer than the anchor.
        conditions.append(
            tuple_(PaymentTransaction.created_at, PaymentTransaction.id)
            < tuple_(literal(anchor.created_at, UTCDateTime()), literal(anchor.id))
        )
    if f.status:
        conditions.append(PaymentTransaction.status == f.status)
    if f.reference:
        conditions.append(PaymentTransaction.reference == f.reference)
    if f.created_gte:
        conditions.append(PaymentTransaction.created_at >= f.created_gte)
    if f.created_lt:
        conditions.append(PaymentTransaction.created_at < f.created_lt)
    newest = (PaymentTransaction.created_at.desc(), PaymentTransaction.id.desc())
    size = f.limit + 1
    if len(f.types) == 1:
        query = select(PaymentTransaction).where(
            PaymentTransaction.transaction_type == f.types[0], *conditions
        )
        rows = db.session.execute(query.order_by(*newest).limit(size)).scalars()
    else:
        # (SELECT … LIMIT n) UNION ALL (SELECT … LIMIT n) ORDER BY … LIMIT n, loaded with
        # from_statement: no subquery, whose column proxies (and an aliased entity's
        # adaptation) cost more CPU to build on each request than the rest of the list.
        table = PaymentTransaction.__table__
        scans = [
            select(table)
            .where(PaymentTransaction.transaction_type == kind, *conditions)
            .order_by(*newest)
            .limit(size)
            for kind in f.types
        ]
        if db.session.get_bind().dialect.name == "sqlite":  # no LIMIT on a compound's parts
            scans = [select(scan.subquery()) for scan in scans]
        page = (
            union_all(*scans)
            .order_by(literal_column("created_at").desc(), literal_column("id").desc())
            .limit(size)
        )
        rows = db.session.execute(select(PaymentTransaction).from_statement(page)).scalars()
    found = list(rows)
    return Page(data=found[: f.limit], has_more=len(found) > f.limit)
