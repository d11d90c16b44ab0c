"""Identifier generators in Daraja's current formats (API.md §0.1), driven by an injected rng."""

from __future__ import annotations

import random
import string
import threading

from daraja_emulator.clock import to_eat

TOKEN_ALPHABET = string.ascii_letters + string.digits
RECEIPT_TAIL_ALPHABET = string.digits + string.ascii_uppercase
DAY_LETTERS = "123456789ABCDEFGHIJKLMNOPQRSTUV"  # day 1..31
MONTH_LETTERS = "ABCDEFGHIJKL"  # Jan..Dec


PLACEHOLDER_TAIL = "0000000"


def receipt_prefix(epoch_seconds: float) -> str:
    """Year, month and day letters of an M-Pesa receipt for an EAT date (L=2017 … U=2026)."""
    day = to_eat(epoch_seconds)
    year_letter = chr(ord("A") + (day.year - 2006) % 26)
    return year_letter + MONTH_LETTERS[day.month - 1] + DAY_LETTERS[day.day - 1]


def placeholder_receipt(epoch_seconds: float) -> str:
    """The TransactionID of results that moved no money: date letters + 0000000 (OA90000000)."""
    return receipt_prefix(epoch_seconds) + PLACEHOLDER_TAIL


class IdGenerator:
    """Thread-safe source of tokens, request ids, CheckoutRequestIDs and receipt tails."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._lock = threading.Lock()
        self._sequence = rng.randint(100_000, 9_999_999)
        self._last_checkout_ms: dict[str, int] = {}

    def access_token(self) -> str:
        """28 alphanumeric characters, like c9SQxWWhmdVRlyh0zh8gZDTkubVF."""
        with self._lock:
            return "".join(self._rng.choice(TOKEN_ALPHABET) for _ in range(28))

    def request_id(self) -> str:
        """Current gateway id format: truncated UUID + counter, 1c5b-4ba8-815c-ac45c57a3db01495926.

        Used for error `requestId`s, MerchantRequestID and generated OriginatorConversationIDs.
        """
        with self._lock:
            rng = self._rng
            self._sequence += 1
            return (
                f"{rng.getrandbits(16):04x}-4{rng.getrandbits(12):03x}-"
                f"{rng.choice('89ab')}{rng.getrandbits(12):03x}-"
                f"{rng.getrandbits(48):012x}{self._sequence}"
            )

    def checkout_request_id(self, epoch_seconds: float, msisdn: str) -> str:
        """ws_CO_ + DDMMYYYYHHmmss (EAT) + 3-digit ms + MSISDN without 254.

        Two pushes for one MSISDN in the same millisecond get consecutive milliseconds, so the
        id stays unique even under a frozen test clock.
        """
        with self._lock:
            millis = round(epoch_seconds * 1000)
            millis = max(millis, self._last_checkout_ms.get(msisdn, -1) + 1)
            self._last_checkout_ms[msisdn] = millis
        moment = to_eat(millis / 1000)
        return f"ws_CO_{moment:%d%m%Y%H%M%S}{millis % 1000:03d}{msisdn[3:]}"

    def conversation_id(self, epoch_seconds: float) -> str:
        """AG_ + YYYYMMDD (EAT) + _ + 20 hex starting "2010": AG_20240706_2010364430d9bbdaf872."""
        with self._lock:
            tail = self._rng.getrandbits(64)
        return f"AG_{to_eat(epoch_seconds):%Y%m%d}_2010{tail:016x}"

    def receipt_tail(self) -> str:
        """The 7 characters after a receipt's date letters."""
        with self._lock:
            return "".join(self._rng.choice(RECEIPT_TAIL_ALPHABET) for _ in range(7))
