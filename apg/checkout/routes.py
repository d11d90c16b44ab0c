"""The checkout page's routes (/checkout/<token>): the page, pay, status (polled), QR image.

No API key: the unguessable token in the URL is the capability (only its hash is stored). The
page works without JavaScript (form POST, then 303 back to the page, which refreshes itself
while waiting); with it, the same POST answers JSON and the page polls `status`.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from flask import Response, current_app, redirect, render_template, request

from apg.checkout import pages, present, service
from apg.checkout.models import OPEN, CheckoutSession
from apg.checkout.outcomes import expire_due
from apg.checkout.view import CheckoutView, Paybill, Urls
from apg.errors import APGError
from apg.extensions import db
from apg.payments.phone import InvalidPhoneNumber, normalise_msisdn
from apg.processors.mpesa.checkout import QrCodes, paybill
from apg.processors.mpesa.processor import MpesaProcessor
from apg.services import services

log = logging.getLogger(__name__)

NOT_FOUND = CheckoutView(
    session_id="",
    merchant_name="",
    amount=0,
    amount_text="",
    reference="",
    description=None,
    state="not_found",
    urls=Urls(pay="", status="", qr=None, success="", cancel="", assets="/checkout/assets/"),
)


@pages.route("/<token>", methods=["GET"])
def page(token: str) -> tuple[str, int]:
    session = _session(token)
    if session is None:
        return render_template("checkout/closed.html", view=NOT_FOUND), 404
    view = _view(session, token)
    if view.state == "succeeded":  # opened again after it was paid
        return render_template("checkout/closed.html", view=_replace(view, "completed")), 200
    if view.state == "expired":
        return render_template("checkout/closed.html", view=view), 410
    return render_template("checkout/page.html", view=view), 200


@pages.route("/<token>/pay", methods=["POST"])
def pay(token: str) -> Any:
    """Send the prompt to the phone in the form. JSON in and out when asked (the script)."""
    wants_json = request.accept_mimetypes.best == "application/json"
    session = _session(token)
    if session is None:
        return _refused(
            wants_json, token, None, 404, "not_found", "This payment link is not valid."
        )
    raw = (request.form.get("phone") or "").strip()
    try:
        phone = normalise_msisdn(raw)
    except InvalidPhoneNumber as exc:
        message = f"The phone number {exc}."
        return _refused(wants_json, token, session, 400, "invalid_phone", message, phone=raw)
    try:
        services().checkout.pay(session, phone)
    except service.SessionNotOpenError as exc:
        return _refused(wants_json, token, session, 409, exc.code, exc.message, phone=raw)
    except APGError as exc:  # refused, a prompt already open on that phone, M-Pesa down
        return _refused(wants_json, token, session, exc.status, exc.code, _plain(exc), phone=raw)
    if wants_json:
        return _view(_fresh(session), token).status_json(), 200
    return redirect(f"/checkout/{token}", code=303)


@pages.route("/<token>/status", methods=["GET"])
def status(token: str) -> tuple[dict[str, Any], int]:
    session = _session(token)
    if session is None:
        return NOT_FOUND.status_json(), 404
    return _view(session, token, offline=False).status_json(), 200


@pages.route("/<token>/qr.png", methods=["GET"])
def qr(token: str) -> Response:
    session = _session(token)
    png = None
    view = _view(session, token) if session is not None else None
    if session is not None and view is not None and view.urls.qr:
        png = _qr(session.account_id, view.merchant_name, session.account_number, session.amount)
    if png is None:
        return Response(status=404)
    return Response(png, mimetype="image/png")  # kept server-side (QrCodes), never cached


def _session(token: str) -> CheckoutSession | None:
    """The token's session; one past its time (and not prompting) is expired on the spot."""
    session = service.by_token(token)
    now = services().clock.now()
    if session and session.status == OPEN and not session.paying and session.expires_at <= now:
        expire_due(now, only=session.id)
        session = _fresh(session)
    return session


def _fresh(session: CheckoutSession) -> CheckoutSession:
    db.session.expire(session)
    return session


def _view(session: CheckoutSession, token: str, *, offline: bool = True, **form: Any) -> Any:
    """`offline`: also the ways to pay without a prompt (Paybill, and QR, which pays by C2B
    too): offered only where a C2B payment would reach us (the account's URLs registered)."""
    ways: Paybill | None = None
    if offline and session.status == OPEN:
        ways = paybill(_processor(), session.account_id, session.account_number)
    return present.view_of(session, token, paybill=ways, qr=ways is not None, **form)


def _processor() -> MpesaProcessor:
    found = services().processors.get("mpesa")
    assert isinstance(found, MpesaProcessor)
    return found


def _qr(account_id: str, merchant: str, account_number: str, amount: int) -> bytes | None:
    codes = current_app.extensions.setdefault("apg.qr_codes", QrCodes(_processor()))  # per app
    try:
        return codes.png(account_id, merchant, account_number, amount)
    except Exception:
        log.exception("account %s: the Dynamic QR code failed", account_id)
        return None


def _refused(
    wants_json: bool,
    token: str,
    session: CheckoutSession | None,
    status_code: int,
    code: str,
    message: str,
    phone: str | None = None,
) -> Any:
    if wants_json:
        return {"error": {"code": code, "message": message, "param": "phone"}}, status_code
    if session is None:
        return render_template("checkout/closed.html", view=NOT_FOUND), 404
    view = _view(_fresh(session), token, phone=phone if phone is not None else "", error=message)
    return render_template("checkout/page.html", view=view), status_code


def _replace(view: CheckoutView, state: str) -> CheckoutView:
    return dataclasses.replace(view, state=state)  # type: ignore[arg-type]


def _plain(exc: APGError) -> str:
    """An API error in words for a customer (never a Daraja code or a setting's name)."""
    if exc.code == "customer_busy" or exc.status == 409:
        return "Another M-Pesa request is open on this phone. Finish or cancel it, then try again."
    if exc.status in (502, 503, 504) or exc.code.startswith("upstream"):
        return "M-Pesa is not answering right now. Try again in a minute."
    return "M-Pesa could not send the request to this phone. Check the number and try again."
