"""Checkout sessions: create, find by page token, list, and pay by prompt at most once.

A session is paid at most once because a prompt goes out only from the request whose UPDATE
turned `paying` on (open, unexpired, no prompt out), committed before the prompt is sent; it
stays on until that prompt's payment is decided (apg.checkout.outcomes turns it off, or
completes the session). Each prompt is an ordinary payment (POST /api/v1/payments does the
same), tagged with the session in its metadata and numbered in its Idempotency-Key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from apg.checkout.models import OPEN, CheckoutSession
from apg.clock import Clock
from apg.crypto import SecretBox
from apg.dbtypes import new_id
from apg.errors import APGError, InvalidRequestError, NotFoundError, OutcomeUnknownError
from apg.extensions import db
from apg.payments import ports
from apg.payments.models import PaymentTransaction
from apg.payments.operations import NewPayment, account_refused
from apg.payments.queries import Scope
from apg.payments.service import Payments

METHOD = "mpesa_stk"  # the prompt; Paybill and QR payments arrive as C2B
TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)
# Typed by customers from a phone screen: no 0/O or 1/I to confuse.
ACCOUNT_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
ACCOUNT_NUMBER_LENGTH = 8
MIN_LIFETIME, MAX_LIFETIME = timedelta(minutes=5), timedelta(hours=24)
DEFAULT_LIFETIME = timedelta(minutes=30)
SESSION_KEY = "checkout_session_id"  # in each prompt's metadata


class SessionNotOpenError(APGError):
    """A prompt was asked for a session that is paid, expired, or already prompting."""

    status, type, code = 409, "invalid_request_error", "checkout_session_not_open"


@dataclass(frozen=True)
class NewSession:
    amount: int
    reference: str
    success_url: str
    cancel_url: str
    currency: str = "KES"
    description: str | None = None
    phone_number: str | None = None
    expires_at: datetime | None = None
    metadata: dict[str, Any] | None = None


class Checkout:
    def __init__(self, payments: Payments, box: SecretBox, clock: Clock) -> None:
        self.payments = payments
        self.box = box
        self.clock = clock

    def create(
        self,
        tenant_id: str,
        new: NewSession,
        *,
        key_mode: str | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[CheckoutSession, str]:
        """The session and its page token (shown in its url; only its hash finds it)."""
        self.payments.check_amount(new.amount, new.currency)
        now = self.clock.now()
        expires_at = new.expires_at or now + DEFAULT_LIFETIME
        if not MIN_LIFETIME <= expires_at - now <= MAX_LIFETIME:
            raise InvalidRequestError(
                "expires_at must be between 5 minutes and 24 hours from now.", param="expires_at"
            )
        processor, transaction_type = self.payments.registry.for_method(METHOD)
        try:
            account_id = processor.account_for(tenant_id, transaction_type, mode=key_mode)
        except ports.NoAccount as exc:
            raise account_refused(exc, None) from exc
        token = secrets.token_urlsafe(32)
        for _ in range(3):  # a clash of 8 characters of 32 letters is one in 10^12
            session = CheckoutSession(
                id=new_id("cs"),
                tenant_id=tenant_id,
                account_id=account_id,
                token_hash=token_hash(token),
                token_ciphertext=self.box.encrypt(token),
                account_number="".join(
                    secrets.choice(ACCOUNT_ALPHABET) for _ in range(ACCOUNT_NUMBER_LENGTH)
                ),
                amount=new.amount,
                currency=new.currency,
                reference=new.reference,
                description=new.description,
                phone_number=new.phone_number,
                success_url=new.success_url,
                cancel_url=new.cancel_url,
                metadata_=new.metadata,
                status=OPEN,
                paying=False,
                attempts=0,
                idempotency_key=idempotency_key,
                expires_at=expires_at,
                created_at=now,
                updated_at=now,
            )
            try:
                db.session.add(session)
                db.session.commit()
                return session, token
            except IntegrityError:
                db.session.rollback()
        raise APGError("Could not allot an account number; try again.")

    def token_of(self, session: CheckoutSession) -> str:
        return self.box.decrypt(session.token_ciphertext)

    def pay(self, session: CheckoutSession, phone_number: str) -> PaymentTransaction | None:
        """Send the prompt if this request wins the claim; the payment (None when the outcome
        of sending is unknown: the session stays `paying` until reconciliation decides).
        Raises SessionNotOpenError when another prompt is out or the session is closed, and
        the payment's own errors (refused, busy phone, unavailable) after releasing it."""
        attempt = self._claim(session.id)
        new = NewPayment(
            amount=session.amount,
            currency=session.currency,
            phone_number=phone_number,
            reference=session.reference,
            description=session.description,
            metadata={**(session.metadata_ or {}), SESSION_KEY: session.id},
            payment_method_type=METHOD,
            account_id=session.account_id,
        )
        key = f"{session.id}:{attempt}"
        try:
            txn = self.payments.initiate(session.tenant_id, new, idempotency_key=key)
        except OutcomeUnknownError as exc:
            self._attempted(session.id, attempt, exc.extra.get("payment"), release=False)
            return None
        except APGError as exc:
            self._attempted(session.id, attempt, exc.extra.get("payment"), release=True)
            raise
        except Exception:
            db.session.rollback()  # recorded or not, its payment says; nothing went out
            self._attempted(session.id, attempt, None, release=True)
            raise
        self._attempted(session.id, attempt, txn, release=False)
        return txn

    def _claim(self, session_id: str) -> int:
        now = self.clock.now()
        attempt = db.session.execute(
            update(CheckoutSession)
            .where(
                CheckoutSession.id == session_id,
                CheckoutSession.status == OPEN,
                CheckoutSession.paying.is_(False),
                CheckoutSession.expires_at > now,
            )
            .values(paying=True, attempts=CheckoutSession.attempts + 1, updated_at=now)
            .returning(CheckoutSession.attempts)
            .execution_options(synchronize_session=False)
        ).scalar()
        db.session.commit()
        if attempt is None:
            raise SessionNotOpenError(
                "This checkout is already waiting for a payment, or it is paid or expired."
            )
        return int(attempt)

    def _attempted(
        self, session_id: str, attempt: int, txn: PaymentTransaction | None, *, release: bool
    ) -> None:
        """Name the attempt's payment; release the claim when nothing is out. Guarded by the
        attempt number: its payment's outcome may already have moved the session on."""
        values: dict[str, Any] = {"updated_at": self.clock.now()}
        if txn is not None:
            values["attempt_payment_id"] = txn.id
        if release:
            values["paying"] = False
        db.session.execute(
            update(CheckoutSession)
            .where(
                CheckoutSession.id == session_id,
                CheckoutSession.attempts == attempt,
                CheckoutSession.status == OPEN,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def by_token(token: str) -> CheckoutSession | None:
    """The session a page token opens: found by the hash's index, then compared in constant
    time; a malformed token never reaches the database."""
    if not TOKEN.match(token):
        return None
    wanted = token_hash(token)
    found = db.session.execute(
        select(CheckoutSession).where(CheckoutSession.token_hash == wanted)
    ).scalar_one_or_none()
    if found is None or not hmac.compare_digest(found.token_hash, wanted):
        return None
    return found


def get_session(scope: Scope, session_id: str, param: str = "id") -> CheckoutSession:
    found = db.session.execute(
        select(CheckoutSession).where(
            CheckoutSession.id == session_id,
            CheckoutSession.tenant_id == scope.tenant_id,
            *scope.account_clauses(CheckoutSession.account_id),
        )
    ).scalar_one_or_none()
    if found is None:
        raise NotFoundError(f"No such checkout session: {session_id[:64]!r}.", param=param)
    return found


def list_sessions(
    scope: Scope, limit: int, starting_after: str | None = None, status: str | None = None
) -> tuple[list[CheckoutSession], bool]:
    """Newest first; `starting_after` is the last id of the previous page."""
    query = select(CheckoutSession).where(
        CheckoutSession.tenant_id == scope.tenant_id,
        *scope.account_clauses(CheckoutSession.account_id),
    )
    if starting_after:
        anchor = get_session(scope, starting_after, param="starting_after")
        query = query.where(
            (CheckoutSession.created_at < anchor.created_at)
            | ((CheckoutSession.created_at == anchor.created_at) & (CheckoutSession.id < anchor.id))
        )
    if status:
        query = query.where(CheckoutSession.status == status)
    order = (CheckoutSession.created_at.desc(), CheckoutSession.id.desc())
    rows = list(db.session.execute(query.order_by(*order).limit(limit + 1)).scalars())
    return rows[:limit], len(rows) > limit
