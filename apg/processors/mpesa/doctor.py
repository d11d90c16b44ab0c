"""The credential doctor: checks one M-Pesa account step by step (OAuth, shortcode and passkey,
callback URLs, initiator, C2B URLs), each answer explained by doctor_explanations.

Nothing here moves money: the shortcode and passkey are tested by an STK Query for a payment
that does not exist, the initiator by an Account Balance inquiry (handed in by the caller)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from urllib.parse import urlsplit

from apg.extensions import db
from apg.processors.mpesa import accounts, mapping
from apg.processors.mpesa.accounts import Credentials, MpesaAccount
from apg.processors.mpesa.c2b_registrations import C2BRegistration
from apg.processors.mpesa.client import (
    CredentialsRejectedError,
    DarajaClient,
    NotSentError,
    OutcomeUnknownError,
    RefusedError,
)
from apg.processors.mpesa.doctor_explanations import explain, is_daraja_code, render
from apg.processors.mpesa.doctor_own import Status
from apg.processors.mpesa.products import stk

OAUTH, SHORTCODE, CALLBACKS, INITIATOR, C2B = (
    "oauth",
    "shortcode_passkey",
    "callback_urls",
    "initiator",
    "c2b_urls",
)
# Shaped like a 2020+ CheckoutRequestID (API.md §0.1) but dated 1 January 2000: no payment has
# it, so the query can only say whether the shortcode and passkey are accepted.
TEST_CHECKOUT_REQUEST_ID = "ws_CO_01012000000000000700000000"
INITIATOR_KINDS = ("b2c", "b2b")  # accounts that can do nothing without an initiator
WORST_FIRST: tuple[Status, ...] = ("failed", "pending", "warning")
# Names only a local network resolves. No DNS lookup: the doctor judges the URL as written.
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    message: str
    fix: str | None = None
    daraja_code: str | None = None


@dataclass(frozen=True)
class AccountDiagnosis:
    account_id: str
    environment: str
    kind: str
    shortcode: str
    checks: tuple[Check, ...]

    @property
    def status(self) -> Status:
        """The worst of its checks: failed, then pending, then warning; else ok."""
        found = {check.status for check in self.checks}
        return next((status for status in WORST_FIRST if status in found), "ok")


@dataclass(frozen=True)
class Inquiry:
    """A balance inquiry as the payments domain recorded it (id None: none was recorded)."""

    id: str | None
    status: str
    result_code: str | None = None
    result_desc: str | None = None
    reason: str | None = None


class BalanceInquiries(Protocol):
    def start(self, account_id: str) -> Inquiry:
        """Send an Account Balance inquiry for the account; its state once Daraja answered."""

    def wait(self, inquiry_id: str) -> Inquiry:
        """The inquiry once its Result arrived, or as it stands when the wait is over."""


@dataclass(frozen=True)
class Setup:
    """What the doctor is handed: Daraja clients, credentials, time, URLs, inquiries."""

    client_for: Callable[[Credentials], DarajaClient]
    load_credentials: Callable[[str], Credentials]
    now: Callable[[], datetime]
    base_urls: Mapping[str, str]  # environment -> Daraja base URL
    public_base_url: str  # settings.callbacks.public_base_url
    callback_url: str  # the tenant's callback URL base, as Daraja will be given it
    inquiries: BalanceInquiries
    wait_seconds: float


def diagnose_account(
    row: MpesaAccount, setup: Setup, inquiry_id: str | None = None
) -> AccountDiagnosis:
    """Every check of one account. Without an OAuth token the Daraja checks are skipped; with
    a callback URL Daraja cannot use, so is the initiator's (its Result would be lost).
    `inquiry_id`: judge that earlier balance inquiry instead of sending a new one."""
    context = account_context(row, setup)
    callbacks = check_callback_urls(row.environment, setup, context)
    creds: Credentials | None = None
    try:
        creds = setup.load_credentials(row.id)
    except ValueError as exc:
        oauth = _own(OAUTH, "apg.undecryptable", context, reason=str(exc))
    else:
        oauth = check_oauth(setup.client_for(creds), context)
    if creds is None or oauth.status != "ok":
        shortcode = _own(SHORTCODE, "apg.skip_no_token", context)
        initiator = _own(INITIATOR, "apg.skip_no_token", context)
    else:
        client = setup.client_for(creds)  # the same pooled client
        shortcode = check_shortcode_passkey(client, creds, row.kind, setup.now(), context)
        initiator = check_initiator(row, creds, setup, callbacks, context, inquiry_id)
    checks = (oauth, shortcode, callbacks, initiator, check_c2b_urls(row, setup, context))
    return AccountDiagnosis(row.id, row.environment, row.kind, row.shortcode, checks)


def account_context(row: MpesaAccount, setup: Setup) -> dict[str, str]:
    """The values explanation templates are filled with (no secret among them)."""
    till = row.kind == "till"
    source = "the account's base_url" if row.base_url else f"environments.{row.environment}"
    return {
        "account": row.id,
        "tenant": row.tenant_id,
        "environment": row.environment,
        "kind": row.kind,
        "shortcode": row.shortcode,
        "business_short_code": (row.store_number if till else None) or row.shortcode,
        "shortcode_setting": "store_number" if till else "shortcode",
        "initiator": row.initiator_name or "<none>",
        "base_url": row.base_url or setup.base_urls[row.environment],
        "base_url_source": source,
        "public_base_url": setup.public_base_url,
        "reason": "",
        "inquiry": "",
        "wait": f"{setup.wait_seconds:g}",
        "word": "",
    }


def check_oauth(client: DarajaClient, context: dict[str, str]) -> Check:
    """Whether the consumer key and secret get a token; if not: refused, or unreachable."""
    try:
        client.access_token()
    except CredentialsRejectedError as exc:
        return _daraja(OAUTH, "http_400", exc.reason, context, words="invalid credentials")
    except NotSentError as exc:
        return _failed(_oauth_failure(exc, context))
    return _own(OAUTH, "apg.oauth_ok", context)


def _oauth_failure(exc: NotSentError, context: dict[str, str]) -> Check:
    cause = exc.__cause__
    if isinstance(cause, RefusedError):  # Daraja's own error envelope (400.008.0x…)
        return _daraja(OAUTH, cause.code, cause.message, context)
    if isinstance(cause, OutcomeUnknownError) and not cause.timed_out:
        return _own(OAUTH, "apg.bad_answer", context, reason=cause.reason)
    reason = cause.reason if isinstance(cause, OutcomeUnknownError) else exc.reason
    return _own(OAUTH, "apg.unreachable", context, reason=reason)


def check_shortcode_passkey(
    client: DarajaClient, creds: Credentials, kind: str, now: datetime, context: dict[str, str]
) -> Check:
    """An STK Query for a CheckoutRequestID that does not exist: Daraja checks the password
    (shortcode + passkey) and then finds nothing, or names what it rejects."""
    if kind not in accounts.STK_KINDS or not creds.passkey:
        return _own(SHORTCODE, "apg.skip_not_stk", context)
    code = creds.shortcode.business_short_code
    payload = stk.query_payload(code, creds.passkey, TEST_CHECKOUT_REQUEST_ID, now)
    try:
        client.post(stk.QUERY_PATH, payload)
    except RefusedError as exc:
        return _daraja(SHORTCODE, exc.code, exc.message, context)
    except (NotSentError, OutcomeUnknownError) as exc:
        return _own(SHORTCODE, "apg.no_answer", context, reason=exc.reason)
    return _own(SHORTCODE, "apg.query_answered", context)


def check_initiator(
    row: MpesaAccount,
    creds: Credentials,
    setup: Setup,
    callbacks: Check,
    context: dict[str, str],
    inquiry_id: str | None = None,
) -> Check:
    """Whether M-Pesa accepts the initiator name and SecurityCredential: shown only by the
    Result of a request that needs them, so an Account Balance inquiry (moves no money)."""
    if not (creds.initiator_name and creds.initiator_password):
        missing = (
            "apg.missing_initiator" if row.kind in INITIATOR_KINDS else "apg.skip_no_initiator"
        )
        return _own(INITIATOR, missing, context)
    if callbacks.status == "failed":
        return _own(INITIATOR, "apg.skip_callback", context)
    if inquiry_id is None:
        inquiry = setup.inquiries.start(row.id)
        if inquiry.id is not None and inquiry.status not in ("completed", "failed"):
            inquiry = setup.inquiries.wait(inquiry.id)
    else:
        inquiry = setup.inquiries.wait(inquiry_id)
    return judge_inquiry(inquiry, context)


def judge_inquiry(inquiry: Inquiry, context: dict[str, str]) -> Check:
    """Completed: ResultCode 0. Failed: M-Pesa's Result code, or Daraja's refusal, or why it
    was never sent. Anything else has no Result yet."""
    context = context | {"inquiry": inquiry.id or "", "reason": inquiry.reason or ""}
    if inquiry.status == "completed":
        return _daraja(INITIATOR, "0", inquiry.result_desc or "", context)
    if inquiry.status == "failed" and inquiry.result_code:
        return _daraja(INITIATOR, inquiry.result_code, inquiry.result_desc or "", context)
    if inquiry.status == "failed":
        return _own(INITIATOR, "apg.not_sent", context)
    return _own(INITIATOR, "apg.result_pending", context)


def check_callback_urls(environment: str, setup: Setup, context: dict[str, str]) -> Check:
    """Daraja's URL rules (API.md §15.4): no forbidden word anywhere; for sandbox and
    production a public host, and https (production refuses http, the sandbox tolerates it)."""
    word = mapping.forbidden_callback_word(setup.callback_url)
    if word:
        return _own(CALLBACKS, "apg.callback_forbidden_word", context, word=word)
    if environment == "emulator":
        return _own(CALLBACKS, "apg.callback_emulator", context)
    url = urlsplit(setup.public_base_url)
    if not is_public_host(url.hostname or ""):
        return _own(CALLBACKS, "apg.callback_not_public", context)
    if url.scheme != "https":
        plain = (
            "apg.callback_http_production" if environment == "production" else "apg.callback_http"
        )
        return _own(CALLBACKS, plain, context)
    return _own(CALLBACKS, "apg.callback_ok", context)


def is_public_host(host: str) -> bool:
    """False for loopback, private, link-local and other non-global addresses, and for names
    only a local network knows (localhost, *.local, single labels)."""
    name = host.lower().rstrip(".")
    try:
        return ipaddress.ip_address(name).is_global
    except ValueError:
        return "." in name and not name.endswith(LOCAL_SUFFIXES)


def check_c2b_urls(row: MpesaAccount, setup: Setup, context: dict[str, str]) -> Check:
    """Whether the shortcode's C2B URLs were registered (POST /api/v1/c2b/register-urls), and
    to this gateway's current callback URLs."""
    if row.kind not in accounts.STK_KINDS:
        return _own(C2B, "apg.skip_not_c2b", context)
    registered = db.session.get(C2BRegistration, row.id)
    if registered is None:
        return _own(C2B, "apg.c2b_unregistered", context)
    if not registered.confirmation_url.startswith(setup.callback_url):
        return _own(C2B, "apg.c2b_elsewhere", context)
    return _own(C2B, "apg.c2b_registered", context)


def _daraja(
    name: str, code: str, said: str, context: dict[str, str], words: str | None = None
) -> Check:
    """A check from Daraja's answer: the explanation of `code` (matched on `words`, by default
    what Daraja said), followed by Daraja's own words."""
    check = _own(name, code, context, words=said if words is None else words)
    quoted = f' "{said}"' if said else ""
    return Check(name, check.status, f"{check.message} (Daraja: {code}{quoted})", check.fix, code)


def _own(name: str, code: str, context: dict[str, str], words: str = "", **values: str) -> Check:
    explanation = explain(code, words)
    filled = context | values
    fix = render(explanation.fix, filled) if explanation.fix else None
    daraja_code = code if is_daraja_code(code) else None
    return Check(name, explanation.status, render(explanation.meaning, filled), fix, daraja_code)


def _failed(check: Check) -> Check:
    """No token is a failure whatever Daraja's words were."""
    if check.status == "failed":
        return check
    return Check(check.name, "failed", check.message, check.fix, check.daraja_code)
