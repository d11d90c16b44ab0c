"""The seed prototypes' security variables, mapped onto what APG does instead.

Safaricom signs no callback (API.md §15.5), so the seed's HMAC settings could never have
checked one. APG authenticates callbacks by what it controls: the tenant's unguessable URL
token (always on), Safaricom's source addresses (security.callback_allowlist), the callback's
shape (always checked) and its match with the operation it reports on. A variable that asked
for protection APG always gives is accepted; one that would turn a protection off, or that
configures a check that cannot exist, stops start-up with the reason, so nobody believes they
are protected by a setting that does nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ALWAYS_ON = {
    "ENABLE_HMAC_VALIDATION": "Safaricom signs no callback; APG authenticates callbacks by"
    " the tenant's URL token, which cannot be turned off (and, in production, by Safaricom's"
    " addresses: security.callback_allowlist)",
    "ENABLE_STRUCTURE_VALIDATION": "every callback's shape is always checked; a malformed one"
    " is stored raw and refused",
}
NO_SUCH_CHECK = {
    "HMAC_SECRET_KEY": "Safaricom signs no callback, so no key can verify one; the secret in"
    " a callback is its URL token (flask apg rotate-callback-token); unset HMAC_SECRET_KEY",
}
# Seed variable -> settings key, with how its value converts.
RENAMED = {
    "CALLBACK_TIMEOUT": "reconciliation.after_seconds",  # no callback this long: ask M-Pesa
    "MAX_CALLBACK_RATE": "security.callback_rate_limit",  # per minute, outside the allowlist
}
NAMES = (*ALWAYS_ON, *NO_SUCH_CHECK, *RENAMED)


def seed_settings(environ: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    """Dotted settings from the seed's variables in `environ`; a refusal is a problem."""
    for var, why in ALWAYS_ON.items():
        value = environ.get(var, "").strip().lower()
        if value in {"false", "0", "no", "off"}:
            problems.append(f"{var}={environ[var]}: not supported: {why}")
        elif value and value not in {"true", "1", "yes", "on"}:
            problems.append(f"{var}: expected true or false, got {environ[var]!r}")
    for var, why in NO_SUCH_CHECK.items():
        if environ.get(var):
            problems.append(f"{var}: not used: {why}")
    found: dict[str, Any] = {}
    if environ.get("CALLBACK_TIMEOUT"):
        found[RENAMED["CALLBACK_TIMEOUT"]] = environ["CALLBACK_TIMEOUT"]
    rate = environ.get("MAX_CALLBACK_RATE", "").strip()
    if rate:
        found[RENAMED["MAX_CALLBACK_RATE"]] = f"{rate}/minute" if rate.isdigit() else rate
    return found
