"""Money as integer cents: parsing KES amounts exactly and printing them as Daraja does."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

CENTS_PER_SHILLING = 100


def cents_of(value: Any) -> int | None:
    """Integer cents of a KES amount (a number or a decimal string, at most 2 decimals).

    None for anything else (booleans, 3 decimals, text): money is never rounded silently.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    cents = amount * CENTS_PER_SHILLING
    if not amount.is_finite() or cents != cents.to_integral_value():
        return None
    return int(cents)


def shillings(cents: int) -> str:
    """ "1234.50", "-1540.00": two decimals, no thousands separator (AccountBalance, Amount)."""
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(cents), CENTS_PER_SHILLING)
    return f"{sign}{whole}.{fraction:02d}"
