"""Request-field parsers shared by products; each raises 400.002.02 "Invalid <Field>"."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import request

from daraja_emulator.errors import invalid_field, invalid_payload

DIGITS = re.compile(r"[0-9]+")
SHORTCODE = re.compile(r"[0-9]{5,7}")
MSISDN = re.compile(r"254[17][0-9]{8}")
TIMESTAMP = re.compile(r"[0-9]{14}")
WHOLE_AMOUNT = re.compile(r"([0-9]+)(\.0+)?")
RECEIPT = re.compile(r"[0-9A-Z]{10}")
# API.md §15.4: Daraja refuses callback URLs containing these words anywhere, in any case.
FORBIDDEN_URL_WORDS = ("m-pesa", "mpesa", "safaricom", "exe", "exec", "cmd", "sql", "query")


def require_json_content_type() -> None:
    """A before_request hook: Content-Type must be application/json (parameters allowed).

    API.md §0: a missing or wrong Content-Type surfaces as "Invalid BusinessShortCode", the
    first field Daraja's validator reads.
    """
    json_content_type("BusinessShortCode")()


def json_content_type(first_field: str) -> Callable[[], None]:
    """A before_request hook like require_json_content_type for a product whose validator
    reads `first_field` first (B2C v3: OriginatorConversationID; B2B: Initiator; …)."""

    def check() -> None:
        if request.mimetype != "application/json":  # Werkzeug lower-cases it, drops `; charset=…`
            raise invalid_field(first_field)

    return check


def json_object(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object (Content-Type already checked); else 400.002.05."""
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise invalid_payload() from None
    if not isinstance(payload, dict):
        raise invalid_payload()
    return payload


def digit_string(value: Any, name: str) -> str:
    """An unsigned integer sent as a JSON number or a digit string, returned as text."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str) and DIGITS.fullmatch(value):
        return value
    raise invalid_field(name)


def shortcode(value: Any, name: str) -> str:
    text = digit_string(value, name)
    if not SHORTCODE.fullmatch(text):
        raise invalid_field(name)
    return text


def msisdn(value: Any, name: str) -> str:
    text = digit_string(value, name)
    if not MSISDN.fullmatch(text):
        raise invalid_field(name)
    return text


def party(value: Any, name: str) -> str:
    """A shortcode or an MSISDN (IdentifierType 4/2 or 1)."""
    text = digit_string(value, name)
    if not (SHORTCODE.fullmatch(text) or MSISDN.fullmatch(text)):
        raise invalid_field(name)
    return text


def timestamp(value: Any, name: str = "Timestamp") -> str:
    """YYYYMMDDHHmmss naming a real calendar instant, returned exactly as sent."""
    text = digit_string(value, name)
    if not TIMESTAMP.fullmatch(text):
        raise invalid_field(name)
    try:
        datetime.strptime(text, "%Y%m%d%H%M%S")
    except ValueError:
        raise invalid_field(name) from None
    return text


def whole_amount(value: Any, maximum: int, name: str = "Amount") -> int:
    """Whole shillings 1..maximum; integral floats and "10.00" pass, 10.5 does not."""
    if isinstance(value, float) and value.is_integer():
        amount = int(value)
    elif isinstance(value, str) and (match := WHOLE_AMOUNT.fullmatch(value)):
        amount = int(match.group(1))
    elif isinstance(value, int) and not isinstance(value, bool):
        amount = value
    else:
        raise invalid_field(name)
    if not 1 <= amount <= maximum:
        raise invalid_field(name)
    return amount


def one_of(value: Any, options: tuple[str, ...], name: str) -> str:
    if value not in options:
        raise invalid_field(name)
    return value


def optional_text(value: Any, name: str) -> str | None:
    """Free text or None (absent, null or ""); numbers are taken as their decimal text."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise invalid_field(name)
    return value


def required_text(value: Any, name: str) -> str:
    text = optional_text(value, name)
    if text is None:
        raise invalid_field(name)
    return text


def string(value: Any, name: str) -> str:
    """A non-empty JSON string (SecurityCredential: base64 text, never a number)."""
    if not isinstance(value, str) or not value:
        raise invalid_field(name)
    return value


def bounded_text(value: Any, name: str, *, minimum: int = 1, maximum: int = 100) -> str:
    """Required text of minimum..maximum characters (Remarks: 2-100)."""
    text = required_text(value, name)
    if not minimum <= len(text) <= maximum:
        raise invalid_field(name)
    return text


def optional_bounded_text(value: Any, name: str, maximum: int = 100) -> str | None:
    text = optional_text(value, name)
    if text is not None and len(text) > maximum:
        raise invalid_field(name)
    return text


def receipt(value: Any, name: str = "TransactionID") -> str:
    """An M-Pesa receipt: 10 upper-case letters and digits (QKH94M1Z11)."""
    if not isinstance(value, str) or not RECEIPT.fullmatch(value):
        raise invalid_field(name)
    return value


def identifier_type(value: Any, allowed: tuple[str, ...], name: str) -> str:
    """An identifier type code sent as a number or a string ("4", 4)."""
    if isinstance(value, bool) or not isinstance(value, int | str) or str(value) not in allowed:
        raise invalid_field(name)
    return str(value)


def first_given(body: Mapping[str, Any], *keys: str) -> Any:
    """The first of several spellings of a field that carries a value (not null, not "")."""
    return next((body[key] for key in keys if body.get(key) not in (None, "")), None)


def callback_url(value: Any, reject_forbidden_words: bool, name: str = "CallBackURL") -> str:
    """An absolute http(s) URL without whitespace (and without Daraja's forbidden words)."""
    if not isinstance(value, str) or not value or any(ch.isspace() for ch in value):
        raise invalid_field(name)
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise invalid_field(name) from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise invalid_field(name)
    lowered = value.lower()
    if reject_forbidden_words and any(word in lowered for word in FORBIDDEN_URL_WORDS):
        raise invalid_field(name)
    return value
