"""The console's routes: the dashboard, sign-in and -out, and the three answers to a held
operation (confirm by query, resolve, acknowledge conflicts). Each action redirects back to the
dashboard (303) with a message saying what it did."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from apg.console import auth, dashboard, pages
from apg.payments import review
from apg.payments.lifecycle import PaymentStatus
from apg.services import services

OPEN_ENDPOINTS = {"console.static", "console.sign_in"}
RESOLUTIONS = {"completed": PaymentStatus.COMPLETED, "failed": PaymentStatus.FAILED}
NOTE_MAX = 200


@pages.context_processor
def page_context() -> dict[str, Any]:
    return {
        "csrf_token": auth.csrf_token,
        "open_console": auth.is_open(),
        "signed_in": auth.signed_in(),
    }


@pages.before_request
def guard() -> Response | tuple[str, int] | None:
    """Every POST carries the session's CSRF token; every page but sign-in needs an operator.
    (The JSON ops endpoints' bearer-token guard belongs to their own blueprint.)"""
    if request.endpoint == "console.static":
        return None
    if request.method == "POST" and not auth.csrf_matches(request.form.get(auth.CSRF_FIELD)):
        return refused(
            400,
            "This form has expired or did not come from the console (its CSRF token is"
            " missing or wrong). Open the console again and resubmit.",
        )
    if request.endpoint in OPEN_ENDPOINTS or auth.signed_in():
        return None
    status = 200 if request.method == "GET" else 401
    return render_template("console/sign_in.html"), status


@pages.route("/", methods=["GET"])
def index() -> str | tuple[str, int]:
    """The dashboard; ?minutes= (15-1440), ?product=, ?tenant= filter the activity chart."""
    minutes = request.args.get("minutes", "60")
    if not minutes.isdigit() or not 15 <= int(minutes) <= 1440:
        return refused(400, "minutes must be a whole number from 15 to 1440.")
    filters = dashboard.Filters(
        int(minutes), request.args.get("product") or None, request.args.get("tenant") or None
    )
    return render_template("console/dashboard.html", **dashboard.dashboard(services(), filters))


@pages.route("/sign-in", methods=["POST"])
def sign_in() -> Response | tuple[str, int]:
    if auth.sign_in(request.form.get("token", "")):
        return redirect(url_for("console.index"), 303)
    error = "That is not the ops token. Check APG_OPS_TOKEN and try again."
    return render_template("console/sign_in.html", error=error), 401


@pages.route("/sign-out", methods=["POST"])
def sign_out() -> Response:
    auth.sign_out()
    return redirect(url_for("console.index"), 303)


@pages.route("/payments/<payment_id>/confirm", methods=["POST"])
def confirm(payment_id: str) -> Response:
    """Ask the upstream now; a decided answer settles the review."""

    def act() -> str:
        return review.confirm_by_query(
            services().payments, payment_id, actor=request.remote_addr
        ).message

    return _act(act)


@pages.route("/payments/<payment_id>/resolve", methods=["POST"])
def resolve(payment_id: str) -> Response:
    """An operator's decision on a payment in review: completed or failed, with a note."""
    status, note = RESOLUTIONS.get(request.form.get("status", "")), _note()
    if status is None or note is None:
        return _back("Nothing changed: choose completed or failed, and say why.", "error")

    def act() -> str:
        txn = review.resolve(
            services().payments, payment_id, status, note, actor=request.remote_addr
        )
        return f"{txn.id} is now {txn.status}."

    return _act(act)


@pages.route("/payments/<payment_id>/acknowledge", methods=["POST"])
def acknowledge(payment_id: str) -> Response:
    """Mark a payment's conflicts reviewed, with a note."""
    note = _note()
    if note is None:
        return _back("Nothing changed: say what you found in the note.", "error")

    def act() -> str:
        if review.mark_conflicts_reviewed(
            services().payments, payment_id, note, actor=request.remote_addr
        ):
            return f"The conflicts of {payment_id} are marked reviewed."
        return f"{payment_id} has no conflict left to review."

    return _act(act)


def refused(status: int, message: str) -> tuple[str, int]:
    return render_template("console/refused.html", message=message, status=status), status


def _act(action: Callable[[], str]) -> Response:
    """Run an action; what it did, or why it could not (no such payment, already settled),
    is the message the dashboard shows next."""
    try:
        return _back(action(), "info")
    except (LookupError, ValueError) as exc:
        return _back(f"Nothing changed: {exc}.", "error")


def _back(message: str, category: str) -> Response:
    flash(message, category)
    return redirect(url_for("console.index", _anchor="held"), 303)


def _note() -> str | None:
    note = request.form.get("note", "").strip()
    return note[:NOTE_MAX] if note else None
