"""What the credential doctor says: one table from a Daraja code (or message) to plain words and
the fix, naming the setting and the command. The doctor's own codes ("apg.…") are in doctor_own."""

from __future__ import annotations

from collections.abc import Mapping

from apg.processors.mpesa.doctor_own import (
    ADD_ACCOUNT,
    CLI,
    DOCTOR_AGAIN,
    ORG_PORTAL,
    OWN_EXPLANATIONS,
    PORTAL,
    UPDATE,
    Explanation,
)

_TOKEN_REFUSED = Explanation(
    "failed",
    "Daraja issued a token but refused it for this API: the Daraja app of this consumer key"
    " lacks the product, its keys belong to another environment than {environment}, or a"
    " production app is not yet approved after go-live.",
    f"on {PORTAL} open the app of this consumer key and add the product (Lipa na M-Pesa for STK;"
    f" M-Pesa for balance, B2C, B2B); if the keys are another environment's: {UPDATE}"
    " --consumer-key --consumer-secret",
)
_BUSY = Explanation(
    "warning",
    "Daraja is throttling this app or is busy, so the check could not run.",
    f"run the doctor again in a minute: {DOCTOR_AGAIN}",
)
_DARAJA_FAULT = Explanation(
    "warning",
    "Daraja failed internally or is under maintenance, so the check could not run.",
    f"run the doctor again later: {DOCTOR_AGAIN}",
)
_WRONG_PASSWORD = Explanation(
    "failed",
    "M-Pesa rejected initiator {initiator}: its name or password is wrong, or the password was"
    " encrypted with another environment's certificate (this {environment} account uses the"
    " {environment} one). Sandbox initiator passwords rotate: read the current one on the"
    " portal's Test Credentials page. Repeated failures lock the operator (8006), so fix it"
    " before running the doctor again.",
    f"{UPDATE} --initiator-name {{initiator}} --initiator-password",
)

# (code, words in Daraja's message) -> explanation; "" matches any message of that code.
EXPLANATIONS: dict[tuple[str, str], Explanation] = {
    # --- OAuth (API.md §1): the consumer key and secret -----------------------------------
    ("apg.oauth_ok", ""): Explanation(
        "ok", "The consumer key and secret have an OAuth token from Daraja."
    ),
    ("http_400", "invalid credentials"): Explanation(
        "failed",
        "Daraja refused the consumer key and secret (400 Invalid Credentials): they are wrong,"
        " or belong to an app of another environment (sandbox keys work only on"
        " sandbox.safaricom.co.ke, production keys only on api.safaricom.co.ke).",
        f"copy both from the app on {PORTAL}, then: {UPDATE} --consumer-key --consumer-secret",
    ),
    ("400.008.01", ""): Explanation(
        "failed",
        "Daraja did not recognise how the key and secret were sent (Invalid authentication"
        " type): something between this gateway and Daraja rewrote the Authorization header.",
        "check any outbound proxy in front of {base_url}",
    ),
    ("400.008.02", ""): Explanation(
        "failed",
        "Daraja received a mangled OAuth URL (Invalid grant type): the base URL has stray"
        " characters or a path.",
        "correct {base_url_source} (now {base_url}): scheme and host only",
    ),
    ("apg.unreachable", ""): Explanation(
        "failed",
        "Daraja could not be reached at {base_url} ({reason}), so nothing was checked.",
        "check DNS, firewall and proxy from this host to {base_url}, and {base_url_source}",
    ),
    ("apg.bad_answer", ""): Explanation(
        "failed",
        "{base_url} answered without a usable token ({reason}): Daraja is failing or the URL"
        " is not Daraja's.",
        f"check {{base_url_source}} (now {{base_url}}), then run again: {DOCTOR_AGAIN}",
    ),
    ("apg.undecryptable", ""): Explanation(
        "failed",
        "The account's stored secrets cannot be decrypted ({reason}): APG_ENCRYPTION_KEY no"
        " longer holds the key they were stored under.",
        "put the old key back in APG_ENCRYPTION_KEY (newest first), then run"
        f" {CLI} rotate-encryption-key; or store them again: {UPDATE} --consumer-key"
        " --consumer-secret (and --passkey, --initiator-password if it has them)",
    ),
    # --- tokens refused by a product (API.md §13, §18.6) ----------------------------------
    **{(code, ""): _TOKEN_REFUSED for code in ("404.001.03", "401.002.01", "400.003.01")},
    ("401.003.01", ""): _TOKEN_REFUSED,
    # --- STK Query for a CheckoutRequestID that does not exist (API.md §2, §3) ------------
    ("500.001.1001", "wrong credentials"): Explanation(
        "failed",
        "Daraja rejected the STK password built from the passkey: it is not the passkey"
        " Safaricom issued for {shortcode_setting} {business_short_code}.",
        f"{UPDATE} --passkey",
    ),
    ("500.001.1001", "merchant does not exist"): Explanation(
        "failed",
        "Daraja knows no Lipa na M-Pesa merchant {business_short_code} in {environment}: the"
        " {shortcode_setting} is wrong, or belongs to another environment (174379 exists only"
        " in sandbox).",
        ADD_ACCOUNT,
    ),
    ("500.001.1001", "being processed"): Explanation(
        "ok",
        "Daraja did not reject shortcode {business_short_code} or the passkey (it took the"
        " test query for a payment it is still processing).",
    ),
    ("400.002.02", "invalid checkoutrequestid"): Explanation(
        "ok",
        "Daraja did not reject shortcode {business_short_code} or the passkey: it looked for"
        " the test CheckoutRequestID and found no payment, as intended (no money can move).",
    ),
    ("apg.query_answered", ""): Explanation(
        "ok", "Daraja accepted shortcode {business_short_code} and the passkey."
    ),
    ("400.002.02", "invalid businessshortcode"): Explanation(
        "failed",
        "Daraja refused BusinessShortCode {business_short_code} as malformed.",
        ADD_ACCOUNT,
    ),
    ("400.002.02", "invalid initiator"): Explanation(
        "failed",
        "Daraja refused the initiator name {initiator}.",
        f"{UPDATE} --initiator-name <the API operator's name> --initiator-password",
    ),
    ("400.002.02", "invalid securitycredential"): _WRONG_PASSWORD,
    ("400.002.02", ""): Explanation(
        "warning",
        "Daraja refused a field of the test request; this may be a gateway bug.",
        "quote this message to APG support",
    ),
    **{(code, ""): _DARAJA_FAULT for code in ("500.001.1001", "500.002.1001", "500.003.1001")},
    **{(code, ""): _BUSY for code in ("500.003.02", "500.003.03")},
    ("apg.no_answer", ""): Explanation(
        "warning",
        "Daraja gave no usable answer ({reason}), so this could not be checked.",
        f"run the doctor again later: {DOCTOR_AGAIN}",
    ),
    # --- the initiator, by an Account Balance Result (API.md §7, §14, §15.2) ---------------
    ("0", ""): Explanation(
        "ok",
        "M-Pesa accepted initiator {initiator} for shortcode {shortcode}: balance inquiry"
        " {inquiry} succeeded.",
    ),
    ("2001", ""): _WRONG_PASSWORD,
    ("18", ""): _WRONG_PASSWORD,
    ("8006", ""): Explanation(
        "failed",
        "M-Pesa locked initiator {initiator} after too many wrong passwords (the security"
        " credential is locked).",
        f"have a Business Administrator unlock or reset the operator on {ORG_PORTAL}, or call"
        f" Safaricom (apisupport@safaricom.co.ke); then: {UPDATE} --initiator-password",
    ),
    ("20", ""): Explanation(
        "failed",
        "M-Pesa knows no API operator {initiator} on shortcode {shortcode} (Unresolved Initiator).",
        f"{UPDATE} --initiator-name <the operator's name on {ORG_PORTAL}> --initiator-password",
    ),
    ("21", ""): Explanation(
        "failed",
        "Initiator {initiator} exists but lacks the API role for shortcode {shortcode}"
        " (Initiator to Primary Party Permission Failure).",
        f"on {ORG_PORTAL} give operator {{initiator}} the ORG API role it needs (balance query,"
        f" B2C, B2B…); or use an operator that has it: {UPDATE} --initiator-name <name>"
        " --initiator-password",
    ),
    ("apg.result_pending", ""): Explanation(
        "pending",
        "M-Pesa accepted balance inquiry {inquiry} but its Result, which says whether the"
        " initiator is right, had not reached the gateway at {public_base_url} after {wait} s,"
        " so this could not be confirmed.",
        f"check it later: {DOCTOR_AGAIN} --inquiry {{inquiry}}"
        " (or GET /api/v1/accounts/{account}/diagnostics?balance_inquiry={inquiry})",
    ),
    ("apg.not_sent", ""): Explanation(
        "failed",
        "The balance inquiry testing the initiator was not sent ({reason}).",
        f"fix what it names, then run again: {DOCTOR_AGAIN}",
    ),
    **OWN_EXPLANATIONS,
}

UNEXPLAINED = Explanation(
    "warning",
    "Daraja gave an answer the doctor does not know; it may or may not mean a wrong setting.",
    "quote this message to APG support",
)


def explain(code: str, message: str = "") -> Explanation:
    """The entry for `code` whose words appear in `message`, else the code's catch-all, else
    UNEXPLAINED. Words are compared in lower case."""
    text = message.lower()
    worded = [
        explanation
        for (known, words), explanation in EXPLANATIONS.items()
        if known == code and words and words in text
    ]
    return worded[0] if worded else EXPLANATIONS.get((code, ""), UNEXPLAINED)


def is_daraja_code(code: str) -> bool:
    return not code.startswith("apg.")


def render(template: str, context: Mapping[str, str]) -> str:
    return template.format_map(context)
