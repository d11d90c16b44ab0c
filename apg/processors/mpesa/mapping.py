"""Pure Daraja rules shared by every product: time, passwords, URL words, safe JSON, items.

Nothing here does I/O, so every rule about Daraja's wire format is unit-testable.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from apg.payments.ports import CallbackRejected

EAT = timezone(timedelta(hours=3), "EAT")

# Daraja refuses callback URLs containing these, in any case, anywhere (API.md §15.4).
FORBIDDEN_CALLBACK_WORDS = ("m-pesa", "mpesa", "safaricom", "exec", "exe", "cmd", "sql", "query")

# Invalid-token codes differ by product and era (API.md §18.6); all mean "refresh the token".
INVALID_TOKEN_CODES = frozenset(
    {"404.001.03", "401.002.01", "400.003.01", "401.003.01", "401.001"}  # 401.001: Pull (§13)
)

# Bounds for anything read out of a callback: Daraja's ids are ~30 characters, descriptions
# ~100. Longer values are not Daraja's, and would not fit our columns.
MAX_ID_LENGTH = 64
MAX_TEXT_LENGTH = 255
MAX_NUMBER_DIGITS = 30
MAX_DEPTH = 12


def forbidden_callback_word(url: str) -> str | None:
    lowered = url.lower()
    return next((w for w in FORBIDDEN_CALLBACK_WORDS if w in lowered), None)


def daraja_timestamp(now: datetime) -> str:
    """YYYYMMDDHHmmss in East Africa Time, as Daraja expects."""
    return now.astimezone(EAT).strftime("%Y%m%d%H%M%S")


def stk_password(business_short_code: str, passkey: str, timestamp: str) -> str:
    raw = f"{business_short_code}{passkey}{timestamp}".encode()
    return base64.b64encode(raw).decode("ascii")


def parse_daraja_datetime(value: Any) -> datetime | None:
    """20221117155745 (number or string, EAT) -> aware UTC datetime; None if absent or odd."""
    text = str(value).strip() if isinstance(value, str | int | Decimal) else ""
    if not re.fullmatch(r"\d{14}", text):
        return None
    try:
        return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=EAT).astimezone(UTC)
    except ValueError:
        return None


def loads(raw: bytes) -> Any:
    """Parse a callback body exactly (floats as Decimal) or raise CallbackRejected.

    Refuses what Daraja never sends and Python would choke on later: NaN/Infinity, numbers of
    absurd length, nesting deeper than any Daraja body, text that is not UTF-8.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CallbackRejected("body is not UTF-8") from exc
    depth = max_depth(text)
    if depth > MAX_DEPTH:
        raise CallbackRejected(f"nesting deeper than {MAX_DEPTH}")
    try:
        return json.loads(
            text, parse_float=_decimal, parse_int=_integer, parse_constant=_no_constant
        )
    except ValueError as exc:  # JSONDecodeError, and our own refusals
        raise CallbackRejected(f"not JSON: {str(exc)[:120]}") from exc


def max_depth(text: str) -> int:
    """Bracket depth outside strings, without recursion (a cheap guard before json.loads)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                return deepest
        elif char in "]}":
            depth -= 1
    return deepest


def items_by_name(container: Any, list_key: str, name_key: str = "Name") -> dict[str, Any]:
    """{"Item": [{"Name": n, "Value": v}, …]} (or one object) -> {n: v}. Rejects odd names."""
    items = container.get(list_key) if isinstance(container, dict) else None
    if isinstance(items, dict):
        items = [items]
    if items is None:
        return {}
    if not isinstance(items, list):
        raise CallbackRejected(f"{list_key} must be a list")
    found: dict[str, Any] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get(name_key), str):
            raise CallbackRejected(f"every {list_key} needs a string {name_key}")
        found[item[name_key]] = item.get("Value")
    return found


def minor_units(value: Any, name: str) -> tuple[int | None, str | None]:
    """Whole or two-decimal shillings -> (cents, None); (None, problem) when it cannot be read."""
    if value is None:
        return None, None
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        return None, f"{name} {value!r} is not a number"
    try:
        cents = Decimal(str(value).strip()) * 100
    except InvalidOperation:
        return None, f"{name} {str(value)[:20]!r} is not a number"
    if not cents.is_finite() or cents != cents.to_integral_value() or cents < 0:
        return None, f"{name} {str(value)[:20]!r} is not a whole number of cents"
    return int(cents), None


def id_text(value: Any, name: str, *, required: bool = True) -> str | None:
    """An identifier: a non-empty string of at most MAX_ID_LENGTH printable characters."""
    if value is None or value == "":
        if required:
            raise CallbackRejected(f"{name} is missing")
        return None
    if not isinstance(value, str):
        raise CallbackRejected(f"{name} must be a string")
    text = value.strip()
    if not text or len(text) > MAX_ID_LENGTH or not text.isprintable():
        raise CallbackRejected(f"{name} must be 1-{MAX_ID_LENGTH} printable characters")
    return text


def short_text(value: Any, name: str) -> str | None:
    """A description: a string of at most MAX_TEXT_LENGTH characters, without NUL."""
    if value is None:
        return None
    if not isinstance(value, str | int | Decimal) or isinstance(value, bool):
        raise CallbackRejected(f"{name} must be a string")
    text = str(value)
    if len(text) > MAX_TEXT_LENGTH or "\x00" in text:
        raise CallbackRejected(f"{name} must be at most {MAX_TEXT_LENGTH} characters")
    return text


def result_code(value: Any) -> str:
    """ResultCode: a number or a string (compare as strings, API.md §12), bounded."""
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise CallbackRejected("ResultCode must be a number or a string")
    code = str(value).strip()
    if not code or len(code) > 32 or not code.isprintable():
        raise CallbackRejected("ResultCode must be 1-32 printable characters")
    return code


def _decimal(text: str) -> Decimal:
    if len(text) > MAX_NUMBER_DIGITS:
        raise ValueError("number too long")
    value = Decimal(text)
    if not value.is_finite() or abs(value.adjusted()) > 15:
        raise ValueError("number out of range")
    return value


def _integer(text: str) -> int:
    if len(text) > MAX_NUMBER_DIGITS:
        raise ValueError("number too long")
    return int(text)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number Daraja sends")
