"""The books: each shortcode's M-Pesa accounts in integer cents, their movements, and receipts."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from daraja_emulator.money import shillings

WORKING = "Working Account"
FLOAT = "Float Account"
UTILITY = "Utility Account"
CHARGES = "Charges Paid Account"
SETTLEMENT = "Organization Settlement Account"
# In the order Daraja's AccountBalance string lists them (samples/accountbalance_result_*).
ACCOUNTS = (WORKING, FLOAT, UTILITY, CHARGES, SETTLEMENT)

Entry = tuple[str, str, int]  # (shortcode, account, signed cents)


@dataclass(frozen=True)
class Party:
    """Who is on one side of a transaction: a shortcode or an MSISDN, and its public name."""

    identifier: str
    name: str

    @property
    def public_name(self) -> str:
        """ "254708374149 - John Doe", "600992 - Safaricom Daraja 992"."""
        return f"{self.identifier} - {self.name}"


@dataclass(frozen=True)
class Receipt:
    """A completed M-Pesa transaction the emulator issued a receipt for (Transaction Status)."""

    receipt: str
    kind: str  # "stk", "b2c", "b2b", "reversal"
    amount: int  # whole shillings
    debit: Party
    credit: Party
    debit_account_type: str
    charges: str  # DebitPartyCharges text, "" when none
    reason_type: str
    initiated_at: float
    finalised_at: float
    conversation_id: str
    originator_conversation_id: str
    reversed_by: str | None = None

    def involves(self, identifier: str) -> bool:
        return identifier in (self.debit.identifier, self.credit.identifier)


@dataclass(frozen=True)
class Movement:
    """One posting to one account, for the control API's account view."""

    at: float
    shortcode: str
    account: str
    cents: int
    reference: str
    description: str

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "account": self.account,
            "amount": shillings(self.cents),
            "reference": self.reference,
            "description": self.description,
        }


@dataclass
class Books:
    """Per-shortcode accounts, opened on first use at their opening balances; thread-safe.

    `lock` is also held by whoever applies decisions to the books (see products/clearing.py),
    so a decision reads and moves balances atomically. `credited` names the STK pushes
    already paid into a Utility account.
    """

    opening_balances: Callable[[str], Mapping[str, int]]
    lock: threading.RLock = field(default_factory=threading.RLock)
    credited: set[str] = field(default_factory=set)
    _accounts: dict[str, dict[str, int]] = field(default_factory=dict)
    _movements: list[Movement] = field(default_factory=list)
    _receipts: dict[str, Receipt] = field(default_factory=dict)

    def balances(self, shortcode: str) -> dict[str, int]:
        """Every account of `shortcode` in ACCOUNTS order, in cents (a copy)."""
        with self.lock:
            return dict(self._open(shortcode))

    def post(self, at: float, reference: str, description: str, entries: Iterable[Entry]) -> None:
        """Move money: add each entry's signed cents to its account, all at once."""
        with self.lock:
            for shortcode, account, cents in entries:
                if cents == 0:
                    continue
                self._open(shortcode)[account] += cents
                self._movements.append(
                    Movement(at, shortcode, account, cents, reference, description)
                )

    def set_balances(self, at: float, shortcode: str, cents_by_account: Mapping[str, int]) -> None:
        """Overwrite balances (control API); recorded as adjustments."""
        with self.lock:
            accounts = self._open(shortcode)
            entries = [(shortcode, a, c - accounts[a]) for a, c in cents_by_account.items()]
            self.post(at, "", "balance set through the control API", entries)

    def movements(self, shortcode: str) -> list[Movement]:
        with self.lock:
            return [m for m in self._movements if m.shortcode == shortcode]

    def opened(self) -> list[str]:
        """Shortcodes whose accounts exist (were used) since start or reset."""
        with self.lock:
            return list(self._accounts)

    def add_receipt(self, receipt: Receipt) -> None:
        with self.lock:
            self._receipts[receipt.receipt] = receipt

    def receipt(self, number: str) -> Receipt | None:
        with self.lock:
            return self._receipts.get(number)

    def receipt_for_originator(self, originator_conversation_id: str) -> Receipt | None:
        with self.lock:
            matches = (
                r
                for r in self._receipts.values()
                if r.originator_conversation_id == originator_conversation_id
            )
            return next(matches, None)

    def mark_reversed(self, number: str, reversal_receipt: str) -> None:
        with self.lock:
            self._receipts[number] = replace(self._receipts[number], reversed_by=reversal_receipt)

    def reset(self) -> None:
        """Back to opening balances: forget accounts, movements, receipts and credits."""
        with self.lock:
            self._accounts.clear()
            self._movements.clear()
            self._receipts.clear()
            self.credited.clear()

    def _open(self, shortcode: str) -> dict[str, int]:
        if shortcode not in self._accounts:
            opening = self.opening_balances(shortcode)
            self._accounts[shortcode] = {a: opening.get(a, 0) for a in ACCOUNTS}
        return self._accounts[shortcode]
