"""The credential doctor's own verdicts (codes "apg.…": callback URLs, C2B registration,
checks that cannot run), and the Explanation every verdict is written as."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["ok", "failed", "warning", "skipped", "pending"]

CLI = "flask --app wsgi apg"
UPDATE = f"{CLI} update-credentials --account {{account}}"
DOCTOR_AGAIN = f"{CLI} doctor --tenant {{tenant}} --account {{account}}"
# A shortcode (or store number) is part of the account's identity: replaced by a new account.
ADD_ACCOUNT = (
    f"the {{shortcode_setting}} cannot be changed in place: add the account again with the"
    f" right one ({CLI} add-account --tenant {{tenant}} --environment {{environment}}"
    " --shortcode-kind {kind} --shortcode …) and use its id"
)
CALLBACK_FIX = (
    "set MPESA_CALLBACK_BASE_URL (callbacks.public_base_url) to this gateway's public https"
    " address, e.g. https://pay.example.com, and restart the gateway"
)
PORTAL = "developer.safaricom.co.ke"
ORG_PORTAL = "org.ke.m-pesa.com"


@dataclass(frozen=True)
class Explanation:
    """`meaning` and `fix` are str.format templates of doctor.account_context's keys."""

    status: Status
    meaning: str
    fix: str | None = None


OWN_EXPLANATIONS: dict[tuple[str, str], Explanation] = {
    # --- callback URLs (API.md §15.4) ----------------------------------------------------
    ("apg.callback_ok", ""): Explanation(
        "ok", "Callbacks go to {public_base_url}, which Daraja can reach and accepts."
    ),
    ("apg.callback_emulator", ""): Explanation(
        "ok",
        "Callbacks go to {public_base_url}; the emulator accepts http and loopback addresses"
        " (sandbox and production would not).",
    ),
    ("apg.callback_not_public", ""): Explanation(
        "failed",
        "Callbacks go to {public_base_url}, which Daraja's {environment} servers cannot reach"
        " (not a public host): every Result and STK callback would be lost.",
        CALLBACK_FIX,
    ),
    ("apg.callback_http", ""): Explanation(
        "warning",
        "Callbacks go to {public_base_url} over plain http: the sandbox tolerates it,"
        " production refuses it.",
        CALLBACK_FIX,
    ),
    ("apg.callback_http_production", ""): Explanation(
        "failed",
        "Callbacks go to {public_base_url} over plain http, which production Daraja refuses.",
        CALLBACK_FIX,
    ),
    ("apg.callback_forbidden_word", ""): Explanation(
        "failed",
        "The callback URL contains {word!r}, a word Daraja refuses in any URL (Invalid"
        " CallBackURL).",
        CALLBACK_FIX + " (on a host and path without that word)",
    ),
    # --- C2B URL registration --------------------------------------------------------------
    ("apg.c2b_unregistered", ""): Explanation(
        "skipped",
        "Not registered: this shortcode's C2B URLs were never registered through APG, so"
        " payments customers start themselves (paybill, till, QR) reach no one here. Fine for"
        " STK Push only; otherwise register them.",
        "POST /api/v1/c2b/register-urls with account_id {account}",
    ),
    ("apg.c2b_elsewhere", ""): Explanation(
        "failed",
        "The C2B URLs registered for this shortcode are not this gateway's current callback"
        " URLs (did MPESA_CALLBACK_BASE_URL change?): Daraja sends its C2B payments there.",
        "register them again: POST /api/v1/c2b/register-urls with account_id {account}",
    ),
    ("apg.c2b_registered", ""): Explanation(
        "ok", "C2B URLs are registered with Daraja and point at this gateway."
    ),
    # --- checks that cannot run ------------------------------------------------------------
    ("apg.skip_no_token", ""): Explanation(
        "skipped", "Not checked: without an OAuth token Daraja answers nothing else."
    ),
    ("apg.skip_not_c2b", ""): Explanation(
        "skipped", "A {kind} account receives no C2B payments, so it has no C2B URLs."
    ),
    ("apg.skip_not_stk", ""): Explanation(
        "skipped", "A {kind} account takes no STK Push, so it has no passkey to check."
    ),
    ("apg.skip_no_initiator", ""): Explanation(
        "skipped",
        "No initiator name and password: this account cannot send B2C, B2B, balance, status"
        " or reversal requests.",
        f"if it should: {UPDATE} --initiator-name <name> --initiator-password",
    ),
    ("apg.missing_initiator", ""): Explanation(
        "failed",
        "A {kind} account needs an initiator name and password, and this one has none.",
        f"{UPDATE} --initiator-name <name> --initiator-password",
    ),
    ("apg.skip_callback", ""): Explanation(
        "skipped",
        "Not checked: M-Pesa would post the balance Result to a callback URL it cannot use"
        " (see callback_urls); fix that first.",
    ),
}
