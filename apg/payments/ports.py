"""The processor contract: what payments asks of a payment rail, in plain dataclasses.

Nothing here knows M-Pesa. Processors implement `Processor`; no ORM row ever crosses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Select

from apg.payments.lifecycle import PaymentStatus


@dataclass(frozen=True)
class Ref:
    """A correlation id the processor uses, e.g. ("checkout_request_id", "ws_CO_…")."""

    kind: str
    value: str


@dataclass(frozen=True)
class Operation:
    """One money movement (or inquiry) as a processor sees it."""

    id: str
    tenant_id: str
    account_id: str
    transaction_type: str
    amount: int | None  # minor units
    currency: str
    reference: str
    phone_number: str | None = None
    description: str | None = None
    refs: tuple[Ref, ...] = ()
    # The product's own request fields as the API took them (command_id, remarks, receiver…).
    details: Mapping[str, Any] = field(default_factory=dict)

    def ref(self, kind: str) -> str | None:
        return next((r.value for r in self.refs if r.kind == kind), None)


# --- what submit() can answer -------------------------------------------------------------


@dataclass(frozen=True)
class Accepted:
    """The upstream took it; the outcome arrives later (callback or query)."""

    refs: tuple[Ref, ...]


@dataclass(frozen=True)
class Refused:
    """The upstream answered and said no: nothing will happen. Carries the upstream's code.
    `retry_after_seconds`: the same payment may go through after that long: the payer is busy
    (e.g. another prompt open), or the upstream is `throttled`: its rate limit refused the
    request itself, whatever it asked."""

    code: str
    message: str
    retry_after_seconds: int | None = None
    throttled: bool = False


@dataclass(frozen=True)
class Misconfigured:
    """The upstream rejected the account's own credentials: nothing happened, and nothing will
    until an operator fixes `setting` (e.g. "passkey"). Never the customer's decline."""

    setting: str
    code: str | None = None  # the upstream's, when it answered with one
    message: str | None = None


@dataclass(frozen=True)
class NotSent:
    """The request surely never reached the upstream (connection refused, DNS, TLS, OAuth).
    `retry_after_seconds`: it was not even tried, the upstream being known to be down (an open
    circuit breaker): the processor will try again after that long."""

    reason: str
    retry_after_seconds: int | None = None


@dataclass(frozen=True)
class Unknown:
    """It may have reached the upstream and we do not know what happened. Never a failure."""

    reason: str
    timed_out: bool = False


SubmitResult = Accepted | Refused | Misconfigured | NotSent | Unknown


# --- what the upstream reports later ------------------------------------------------------


RECEIPT_MAX_LENGTH = 32  # payment_transactions.receipt (M-Pesa's receipts have 10)


@dataclass(frozen=True)
class Outcome:
    """A decided result. `settles` marks evidence of money (receipt, amount) to be checked;
    a status-only answer (e.g. STK Query) completes without it and is enriched later."""

    status: PaymentStatus
    result_code: str | None = None
    result_desc: str | None = None
    receipt: str | None = None
    amount: int | None = None  # minor units the upstream says moved
    transaction_date: datetime | None = None
    settles: bool = False
    problems: tuple[str, ...] = ()  # why the evidence could not be read (e.g. "Amount 'x'")
    detail: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """A receipt longer than any receipt (and than the column that keeps one) is no
        receipt: it is dropped, and the evidence says why (a success then goes to review)."""
        if self.receipt is not None and len(self.receipt) > RECEIPT_MAX_LENGTH:
            why = f"receipt {self.receipt[:12]!r}… is longer than {RECEIPT_MAX_LENGTH} characters"
            object.__setattr__(self, "receipt", None)
            object.__setattr__(self, "problems", (*self.problems, why))


@dataclass(frozen=True)
class StillPending:
    """Asked, and the upstream has not decided yet."""


QueryResult = Outcome | StillPending | Refused | Misconfigured | NotSent | Unknown


@dataclass(frozen=True)
class Incoming:
    """Money a customer sent on their own (e.g. an M-Pesa C2B payment), as the upstream reports
    it. `account_number` is the upstream's number for the receiving account (a shortcode);
    `phone_number` is set only when the payer's number arrived in the clear; `details` keep
    what arrived as it arrived (names, the payer's number hashed or masked, balances…)."""

    transaction_type: str  # the lifecycle's word, e.g. "c2b_payment"
    payment_method_type: str  # e.g. "mpesa_c2b"
    amount: int  # minor units
    currency: str
    receipt: str | None  # the upstream's id for the money (TransID); None only when asked first
    reference: str  # what the payer typed (an account number); may be empty
    account_number: str
    phone_number: str | None = None
    transaction_date: datetime | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    problems: tuple[str, ...] = ()  # why it cannot be trusted as it stands (a malformed receipt)


@dataclass(frozen=True)
class ProcessorEvent:
    """A parsed callback: the refs that find its transaction, and what it reports.

    `incoming`: money that arrived unasked; recorded once (by its refs) when no transaction has
    them. `validation`: a payment asking to be let in; answered, never recorded.
    """

    refs: tuple[Ref, ...]
    outcome: Outcome | None = None
    incoming: Incoming | None = None
    validation: Incoming | None = None
    # The transaction types it may report on (its URL's kind says which); () = any. A report
    # naming another type's refs finds nothing: a B2B Result cannot settle a payout.
    reports_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class Health:
    healthy: bool
    detail: Mapping[str, Any] = field(default_factory=dict)


class CallbackRejected(ValueError):
    """The body is not a callback of that kind; the reason is safe to show and store."""


class NoAccount(LookupError):
    """The tenant has no account able to carry this transaction type."""


class WrongMode(NoAccount):
    """The account asked for is the tenant's and could carry it, but not for an API key of this
    mode (test or live). A NoAccount, so that a caller unaware of modes still refuses it."""


class Processor(Protocol):
    """A payment rail. Implementations own all talk with their upstream."""

    @property
    def name(self) -> str: ...

    @property
    def method_types(self) -> Mapping[str, str]:
        """payment_method_type (the API's word) -> transaction_type (the lifecycle's word)."""
        ...

    @property
    def lifecycles(self) -> Mapping[str, str]:
        """transaction_type -> the lifecycle it follows, by name (lifecycle.NAMED)."""
        ...

    @property
    def callback_kinds(self) -> frozenset[str]:
        """The <kind>s of /webhooks/…/<token>/<kind> that parse_callback understands."""
        ...

    def account_for(
        self,
        tenant_id: str,
        transaction_type: str,
        preferred: str | None = None,
        *,
        mode: str | None = None,
    ) -> str:
        """The id of the tenant's account for this type (`preferred` if it is the tenant's and
        can carry it), among those an API key of `mode` (test | live) may use: which those are
        is the processor's knowledge; None (an operator, no key) may use any. Raises NoAccount,
        or WrongMode when `preferred` is of the other mode."""
        ...

    def account_by_number(self, tenant_id: str, number: str) -> str | None:
        """The id of the tenant's account that the upstream knows as `number` (e.g. the
        shortcode a C2B payment was paid to), or None when the tenant has no such account."""
        ...

    def accounts_of_mode(self, tenant_id: str, mode: str) -> frozenset[str]:
        """The ids of the tenant's accounts an API key of `mode` (test | live) may use: what
        such a key may read operations of."""
        ...

    def accounts_of_mode_query(self, tenant_id: str, mode: str) -> Select[str]:
        """accounts_of_mode as a SELECT of the ids, for a read to join in its own statement
        (a key's every read would otherwise ask the database twice)."""
        ...

    def refs_before_submit(self, operation: Operation) -> tuple[Ref, ...]:
        """Refs the processor will use that are known before sending (stored first, so a Result
        that outruns a lost acknowledgement still finds its transaction)."""
        ...

    def submit(self, operation: Operation) -> SubmitResult: ...

    def query(self, operation: Operation) -> QueryResult: ...

    def parse_callback(self, kind: str, raw: bytes) -> ProcessorEvent:
        """Parse a raw callback body; raises CallbackRejected for anything else."""
        ...

    def cross_check(self, operation: Operation, outcome: Outcome) -> tuple[str, ...]:
        """Where a report disagrees with the operation it reports on, beyond a success's amount
        and receipt's presence (payments checks those): another payer or payee, another
        account, another transaction, a receipt of the wrong shape. One short reason each; ()
        when what the report names matches (what it leaves out or masks cannot disagree)."""
        ...

    def needs_confirmation(self, operation: Operation) -> bool:
        """Whether a reported success of `operation` may complete it only once query() says
        so too (a callback is unsigned: anyone with its URL can post one)."""
        ...

    def answer(self, kind: str, verdict: str) -> dict[str, Any]:
        """The body the upstream expects back for a callback of `kind`."""
        ...

    def health(self) -> Health: ...
