"""Validating incoming payments: each account's rules, and the accept-or-reject decision."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from apg.dbtypes import UTCDateTime
from apg.errors import InvalidRequestError
from apg.extensions import db
from apg.payments import ports

ACCEPTED = "accepted"
REJECTED = "rejected"  # the verdict is "rejected:<reason>"
# Why a payment is refused, in neutral words; a processor maps them to its own codes.
REASONS = (
    "invalid_msisdn",
    "invalid_account_number",
    "invalid_amount",
    "invalid_kyc",
    "invalid_shortcode",
    "other",
)
MAX_PATTERN_LENGTH = 200
MAX_REFERENCES = 1000


class CollectionRule(db.Model):  # type: ignore[name-defined]
    """What one receiving account lets in. No row, or empty fields: everything."""

    __tablename__ = "collection_rules"

    account_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    account_number_pattern: Mapped[str | None] = mapped_column(
        String(MAX_PATTERN_LENGTH), nullable=True
    )
    min_amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # minor units
    max_amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    allowed_account_references: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


@dataclass(frozen=True)
class Rules:
    account_number_pattern: str | None = None
    min_amount: int | None = None
    max_amount: int | None = None
    allowed_account_references: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decision:
    accepted: bool
    reason: str | None = None  # one of REASONS when refused

    @property
    def verdict(self) -> str:
        return ACCEPTED if self.accepted else f"{REJECTED}:{self.reason}"


def evaluate(rules: Rules | None, incoming: ports.Incoming) -> Decision:
    """Accept unless a rule says no. With a pattern or a list (or both), the account number the
    payer typed must match the whole pattern or be on the list; the list ignores case and
    surrounding spaces. Then the amount must be within the bounds (inclusive)."""
    if rules is None:
        return Decision(True)
    reference = incoming.reference.strip()
    allowed = {r.strip().casefold() for r in rules.allowed_account_references}
    pattern = rules.account_number_pattern
    if (pattern or allowed) and not (
        reference.casefold() in allowed or (pattern and re.fullmatch(pattern, reference))
    ):
        return Decision(False, "invalid_account_number")
    too_little = rules.min_amount is not None and incoming.amount < rules.min_amount
    if too_little or (rules.max_amount is not None and incoming.amount > rules.max_amount):
        return Decision(False, "invalid_amount")
    return Decision(True)


def decide(tenant_id: str, account_id: str | None, incoming: ports.Incoming) -> str:
    """The verdict on a payment asking to be let in to one of the tenant's accounts (None: the
    tenant has no account with the number it was paid to)."""
    if account_id is None:
        return Decision(False, "invalid_shortcode").verdict
    return evaluate(rules_for(tenant_id, account_id), incoming).verdict


def rules_for(tenant_id: str, account_id: str) -> Rules | None:
    row = _row(tenant_id, account_id)
    if row is None:
        return None
    return Rules(
        row.account_number_pattern,
        row.min_amount,
        row.max_amount,
        tuple(row.allowed_account_references or ()),
    )


def rules_of(tenant_id: str, account_id: str) -> CollectionRule:
    """The account's rules as stored, or empty ones (not stored) when none were set."""
    return _row(tenant_id, account_id) or CollectionRule(account_id=account_id, tenant_id=tenant_id)


def save_rules(tenant_id: str, account_id: str, rules: Rules, now: datetime) -> CollectionRule:
    """Replace the account's rules (the caller commits). Raises InvalidRequestError naming the
    field when a rule cannot work."""
    check(rules)
    values = {
        "account_number_pattern": rules.account_number_pattern,
        "min_amount": rules.min_amount,
        "max_amount": rules.max_amount,
        "allowed_account_references": list(rules.allowed_account_references),
        "updated_at": now,
    }
    row = _row(tenant_id, account_id)
    if row is None:
        row = CollectionRule(account_id=account_id, tenant_id=tenant_id, **values)
        try:  # a concurrent first save: the primary key decides, and this one updates it
            with db.session.begin_nested():
                db.session.add(row)
            return row
        except IntegrityError:
            row = _row(tenant_id, account_id)
            assert row is not None
    for name, value in values.items():
        setattr(row, name, value)
    db.session.flush()
    return row


def check(rules: Rules) -> None:
    """Refuse rules that cannot work: bounds the wrong way round, a pattern that does not
    compile or that could backtrack for seconds (the validation answer is due in ~8 s)."""
    low, high = rules.min_amount, rules.max_amount
    if low is not None and high is not None and low > high:
        raise InvalidRequestError("min_amount must not exceed max_amount.", param="min_amount")
    if len(rules.allowed_account_references) > MAX_REFERENCES:
        raise InvalidRequestError(
            f"allowed_account_references takes at most {MAX_REFERENCES} references.",
            param="allowed_account_references",
        )
    pattern = rules.account_number_pattern
    if pattern is None:
        return
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise InvalidRequestError(
            f"account_number_pattern is longer than {MAX_PATTERN_LENGTH} characters.",
            param="account_number_pattern",
        )
    try:
        re.compile(pattern)
    except re.error as exc:
        raise InvalidRequestError(
            f"account_number_pattern is not a regular expression: {exc}.",
            param="account_number_pattern",
        ) from None
    if _repeats_a_repetition(pattern):
        raise InvalidRequestError(
            "account_number_pattern repeats a group that itself repeats or alternates, such as"
            " (a+)+ or (a|ab)*: such a pattern can take exponential time. Write it without the"
            " outer repetition, e.g. [A-Z0-9]+ instead of ([A-Z]+[0-9]*)+.",
            param="account_number_pattern",
        )


def _repeats_a_repetition(pattern: str) -> bool:
    """True for a group holding a quantifier or an alternation that is itself followed by * + or
    {…}: the shape of catastrophic backtracking. Conservative: it may refuse a safe pattern."""
    holds: list[bool] = [False]  # per open group (and the whole): a quantifier or "|" inside?
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 1  # the escaped character is a literal
        elif char == "[":
            i = _class_end(pattern, i)
        elif char == "(":
            holds.append(False)
            if pattern.startswith("?", i + 1):  # (?:…, (?i)…: that "?" is no quantifier
                i += 1
        elif char == ")" and len(holds) > 1:
            held = holds.pop()
            if held and pattern[i + 1 : i + 2] in ("*", "+", "{"):
                return True
            holds[-1] = holds[-1] or held
        elif char in "*+?|" or (char == "{" and not re.match(r"\{\d+\}", pattern[i:])):
            holds[-1] = True
        i += 1
    return False


def _class_end(pattern: str, start: int) -> int:
    """The index of the "]" that closes the character class opened at `start`."""
    i = start + 1
    if pattern[i : i + 1] == "^":
        i += 1
    if pattern[i : i + 1] == "]":
        i += 1
    while i < len(pattern) and pattern[i] != "]":
        i += 2 if pattern[i] == "\\" else 1
    return i


def _row(tenant_id: str, account_id: str) -> CollectionRule | None:
    return db.session.execute(
        select(CollectionRule).where(
            CollectionRule.account_id == account_id, CollectionRule.tenant_id == tenant_id
        )
    ).scalar_one_or_none()
