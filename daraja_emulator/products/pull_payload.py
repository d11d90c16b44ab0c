"""Pull Transactions in Daraja's words (API.md §11): the register and query answers, the rows of
the doubly nested `Response`, the query window and its pages. Pure functions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from daraja_emulator.clock import EAT
from daraja_emulator.money import shillings
from daraja_emulator.products.c2b_payload import BUY_GOODS, PAYBILL

REQUEST_TYPE = "Pull"
REGISTERED, ALREADY_REGISTERED = "1000", "1001"  # register's ResponseStatus
FOUND, NONE_FOUND = "1000", "1001"  # query's ResponseCode
REGISTERED_DESC = "Shortcode Registered Successfully"  # samples/pull_register_response_*
ALREADY_REGISTERED_DESC = "ShortCode already Registered"
FOUND_MESSAGE = "Success"  # samples/pull_query_response_ghostscypher.json
NONE_FOUND_MESSAGE = "No transactions found"  # ours: the reference names only the code
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"  # StartDate, EndDate: Nairobi time (NOTES.md)
WINDOW_SECONDS = 48 * 3600  # "only the last 48 h" (API.md §11, §16)
PAGE_SIZE = 100  # rows per answer; OffSetValue counts rows (NOTES.md)
# The sample's "c2b-pay-bill-debit"; the Buy Goods word is ours (no sample shows one).
TRANSACTION_TYPES = {PAYBILL: "c2b-pay-bill-debit", BUY_GOODS: "c2b-buy-goods-debit"}


@dataclass(frozen=True)
class PullRegistration:
    """What /pulltransactions/v1/register stored for a shortcode (once: the first stays)."""

    shortcode: str
    nominated_number: str
    callback_url: str
    registered_at: float
    response_ref_id: str

    def to_json(self) -> dict[str, Any]:
        return {
            "shortcode": self.shortcode,
            "nominated_number": self.nominated_number,
            "callback_url": self.callback_url,
            "registered_at": self.registered_at,
            "response_ref_id": self.response_ref_id,
        }


@dataclass(frozen=True)
class PullRow:
    """One completed C2B payment as the query lists it; `at` is its TransTime (epoch)."""

    trans_id: str
    at: float
    msisdn: str
    sender: str
    command_id: str
    bill_ref_number: str | None
    amount: int  # whole shillings
    organization_name: str


def register_answer(ref_id: str, shortcode: str, *, already: bool) -> dict[str, str]:
    """samples/pull_register_response_daraja-docs.json, in the current docs' keys for both
    statuses (the 2017 sample's "Response Status" spelling is not sent)."""
    return {
        "ResponseRefID": ref_id,
        "ResponseStatus": ALREADY_REGISTERED if already else REGISTERED,
        "ShortCode": shortcode,
        "ResponseDescription": ALREADY_REGISTERED_DESC if already else REGISTERED_DESC,
    }


def query_answer(ref_id: str, rows: Sequence[PullRow]) -> dict[str, Any]:
    """samples/pull_query_response_ghostscypher.json: the rows inside one inner list; no rows
    is ResponseCode 1001 with an empty inner list."""
    return {
        "ResponseRefID": ref_id,
        "ResponseCode": FOUND if rows else NONE_FOUND,
        "ResponseMessage": FOUND_MESSAGE if rows else NONE_FOUND_MESSAGE,
        "Response": [[row_json(row) for row in rows]],
    }


def row_json(row: PullRow) -> dict[str, Any]:
    """The sample's keys, order and types: msisdn a JSON number, amount a decimal string."""
    return {
        "transactionId": row.trans_id,
        "trxDate": trx_date(row.at),
        "msisdn": int(row.msisdn),
        "sender": row.sender,
        "transactiontype": TRANSACTION_TYPES[row.command_id],
        "billreference": row.bill_ref_number or "",
        "amount": shillings(row.amount * 100),
        "organizationname": row.organization_name,
    }


def trx_date(epoch_seconds: float) -> str:
    """ "2020-08-05T10:13:00Z": the instant in UTC, to the second, as the sample writes it."""
    return datetime.fromtimestamp(int(epoch_seconds), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_date(text: Any) -> float | None:
    """ "2024-07-10 09:15:26" (Nairobi time) -> epoch seconds; None when not exactly so."""
    if not isinstance(text, str):
        return None
    try:
        return datetime.strptime(text, DATE_FORMAT).replace(tzinfo=EAT).timestamp()
    except ValueError:
        return None


def select(
    rows: Sequence[PullRow], start: float, end: float, offset: int, now: float
) -> list[PullRow]:
    """The page at row `offset` of the rows in [start, end] and the last 48 h, oldest first
    (ties by TransID, so pages are stable while newer payments arrive)."""
    earliest = max(start, now - WINDOW_SECONDS)
    inside = sorted(
        (row for row in rows if earliest <= row.at and int(row.at) <= end),
        key=lambda row: (row.at, row.trans_id),
    )
    return inside[offset : offset + PAGE_SIZE]
