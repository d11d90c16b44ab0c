"""A checkout session as its page shows it (CheckoutView): state, and in plain words what
happened to the last prompt and what the customer can do next."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

from apg.checkout.models import COMPLETED, EXPIRED, CheckoutSession
from apg.checkout.view import CheckoutView, Paybill, State, Urls
from apg.extensions import db
from apg.payments.lifecycle import PaymentStatus
from apg.payments.models import PaymentTransaction
from apg.tenants.models import Tenant

# By M-Pesa's ResultCode (API.md §2.2), then by status: what went wrong, and what to do.
FAILURES = {
    "1032": "You cancelled the M-Pesa request. Nothing was paid.",
    "1037": "Your phone did not answer in time. Check that it is on and unlocked, then try again.",
    "1": "Your M-Pesa balance is not enough for this payment. Top up, then try again.",
    "2001": "The M-Pesa PIN was wrong. Nothing was paid; try again.",
    "1001": "Another M-Pesa payment is in progress on your phone. Finish it, then try again.",
    "1019": "The M-Pesa request expired before it was answered. Try again.",
}
BY_STATUS = {
    PaymentStatus.CANCELLED: FAILURES["1032"],
    PaymentStatus.TIMEOUT: FAILURES["1037"],
}
FAILED = "M-Pesa could not complete the payment. Nothing was paid; try again."
WAITING = "Enter your M-Pesa PIN on your phone to pay {amount} to {merchant}."
CHECKING = "We are confirming the payment with M-Pesa. This can take a minute."


def amount_text(amount: int) -> str:
    shillings, cents = divmod(amount, 100)
    return f"KES {shillings:,}" + (f".{cents:02d}" if cents else "")


def with_session_id(url: str, session_id: str) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode({"session_id": session_id})) if q)
    return urlunsplit(parts._replace(query=query))


def view_of(
    session: CheckoutSession,
    token: str,
    *,
    paybill: Paybill | None = None,
    qr: bool = False,
    phone: str | None = None,
    error: str | None = None,
) -> CheckoutView:
    """What the page shows now; `phone`/`error` when re-showing a refused form."""
    base = f"/checkout/{token}"
    tenant = db.session.get(Tenant, session.tenant_id)
    merchant = tenant.name if tenant else "the merchant"
    attempt = (
        db.session.get(PaymentTransaction, session.attempt_payment_id)
        if session.attempt_payment_id
        else None
    )
    state, message, retry = _state(session, attempt, merchant)
    paid = db.session.get(PaymentTransaction, session.payment_id) if session.payment_id else None
    last_phone = (attempt.phone_number if attempt else None) or session.phone_number
    return CheckoutView(
        session_id=session.id,
        merchant_name=merchant,
        amount=session.amount,
        amount_text=amount_text(session.amount),
        reference=session.reference,
        description=session.description,
        state=state,
        urls=Urls(
            pay=f"{base}/pay",
            status=f"{base}/status",
            qr=f"{base}/qr.png" if qr else None,
            success=with_session_id(session.success_url, session.id),
            cancel=with_session_id(session.cancel_url, session.id),
            assets="/checkout/assets/",
        ),
        phone=_local(phone if phone is not None else last_phone),
        error=error,
        message=message,
        receipt=paid.receipt if paid else None,
        retry=retry,
        paybill=paybill if state in ("open", "waiting") else None,
        expires_at=session.expires_at.isoformat(),
    )


def _state(
    session: CheckoutSession, attempt: PaymentTransaction | None, merchant: str
) -> tuple[State, str | None, bool]:
    if session.status == COMPLETED:
        return "succeeded", None, False
    if session.status == EXPIRED:
        return "expired", None, False
    if session.paying:
        if attempt is not None and attempt.status in (PaymentStatus.UNKNOWN, PaymentStatus.REVIEW):
            return "waiting", CHECKING, False
        waiting = WAITING.format(amount=amount_text(session.amount), merchant=merchant)
        return "waiting", waiting, False
    if attempt is not None and attempt.status != PaymentStatus.COMPLETED:
        return "open", failure_message(attempt), True
    return "open", None, False


def failure_message(txn: PaymentTransaction) -> str:
    status = PaymentStatus(txn.status)
    return FAILURES.get(str(txn.result_code or ""), BY_STATUS.get(status, FAILED))


def _local(msisdn: str | None) -> str:
    """2547XXXXXXXX as a customer writes it: 07XXXXXXXX."""
    if msisdn and msisdn.startswith("254") and len(msisdn) == 12:
        return "0" + msisdn[3:]
    return msisdn or ""
