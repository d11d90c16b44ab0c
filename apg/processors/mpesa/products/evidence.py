"""What a Daraja report names (receipt, parties), checked against what was asked (pure).

A receipt is 10 upper-case letters and digits, the first the year letter (API.md §0.1:
`QKH94M1Z11`); a failed transaction's placeholder ends in `0000000` and is never money. The
finer date-letter rule is only derived, and a docs sample breaks it: it is not enforced.
A party is named `<number> - <NAME>` (`254708374149 - John Doe`, `603094 - Safaricom3117`;
once with an en dash and no space), the number possibly masked with `*` (`2547 ***** 126`):
only the digits shown are compared, and a name without a number compares with nothing.
"""

from __future__ import annotations

import re
from typing import Any

RECEIPT = re.compile(r"[A-Z][0-9A-Z]{9}")
PLACEHOLDER_TAIL = "0000000"
# The number a public name starts with (digits and mask stars, spaces inside allowed), then a
# dash or nothing: "3 Brothers Ltd" names no number.
LEADING_NUMBER = re.compile(r"\s*\+?([0-9*](?:[0-9* ]*[0-9*])?)\s*(?:[-\u2013\u2014]|$)")
LOCAL_MOBILE = re.compile(r"0[17]\d{8}")


def receipt_problems(receipt: str | None) -> list[str]:
    """Why `receipt` is not an M-Pesa receipt of moved money; [] for one (or for none: a
    missing receipt is payments' to report)."""
    if receipt is None:
        return []
    if not RECEIPT.fullmatch(receipt):
        return [f"receipt {receipt[:20]!r} is not 10 upper-case letters and digits"]
    if receipt.endswith(PLACEHOLDER_TAIL):
        return [f"receipt {receipt} is a placeholder, which moves no money"]
    return []


def number_in(name: Any) -> str | None:
    """The number a party's name starts with (`2547 ***** 126 - X` -> `2547*****126`), the
    name itself when a number (STK's PhoneNumber); None when it names no number."""
    if isinstance(name, int) and not isinstance(name, bool):
        name = str(name)
    match = LEADING_NUMBER.match(name) if isinstance(name, str) else None
    return match.group(1).replace(" ", "") if match else None


def same_number(shown: str, expected: str) -> bool:
    """Whether `shown` (maybe masked with `*`) can be `expected`: equal where not masked."""
    shown, expected = _international(shown), _international(expected)
    if "*" not in shown:
        return shown == expected
    if len(shown) == len(expected):
        return all(s in ("*", e) for s, e in zip(shown, expected, strict=True))
    head, tail = shown[: shown.index("*")], shown[shown.rindex("*") + 1 :]
    visible = len(head) + len(tail)
    return visible < len(expected) and expected.startswith(head) and expected.endswith(tail)


def party_problems(label: str, name: Any, *expected: str | None) -> list[str]:
    """[] when the party `name` is one of `expected`, or when either side names no number;
    else why not (`label` says which party of the report it is)."""
    shown, wanted = number_in(name), [e for e in expected if e]
    if shown is None or not wanted or any(same_number(shown, e) for e in wanted):
        return []
    return [f"{label} {shown} is not {' or '.join(wanted)}"]


def same_text_problems(label: str, said: Any, asked: Any) -> list[str]:
    """[] when the report repeats what was asked (or either is absent); else why not."""
    said_text, asked_text = _text(said), _text(asked)
    if said_text is None or asked_text is None or said_text == asked_text:
        return []
    return [f"{label} {said_text[:40]!r} is not the {asked_text[:40]!r} asked for"]


def _international(number: str) -> str:
    """07…/01… -> 2547…/2541… (a shortcode or an international number is left as it is)."""
    return f"254{number[1:]}" if LOCAL_MOBILE.fullmatch(number) else number


def _text(value: Any) -> str | None:
    text = str(value).strip() if isinstance(value, str | int) else ""
    return text or None
