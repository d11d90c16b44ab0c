"""Pull Transactions (API.md §11): the register and query bodies, and the query's rows, a doubly
nested `Response: [[…]]`, as C2B payments (`Incoming`, the same as a confirmation gives).

Pure: payloads in, parsed pages out. A row that cannot be read is skipped with its reason;
the rest of the page still counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from apg.payments.ports import CallbackRejected, Incoming
from apg.processors.mpesa import mapping
from apg.processors.mpesa.products import c2b

REGISTER_PATH = "/pulltransactions/v1/register"
QUERY_PATH = "/pulltransactions/v1/query"
REQUEST_TYPE = "Pull"
WINDOW = timedelta(hours=48)  # Daraja lists the last 48 hours only
REGISTERED, ALREADY_REGISTERED = "1000", "1001"  # register's ResponseStatus
FOUND, NONE_FOUND = "1000", "1001"  # query's ResponseCode
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"  # StartDate / EndDate, Nairobi time
SOURCE = "pull"  # how the payment reached APG, kept in its details


def register_payload(shortcode: str, nominated_number: str, callback_url: str) -> dict[str, str]:
    """The register body: once per shortcode, production only (Daraja's rule, not ours)."""
    if not c2b.PLAIN.fullmatch(nominated_number) or not shortcode.isdigit():
        raise ValueError("NominatedNumber must be 2547…/2541… and ShortCode digits")
    return {
        "ShortCode": shortcode,
        "RequestType": REQUEST_TYPE,
        "NominatedNumber": nominated_number,
        "CallBackURL": callback_url,
    }


def query_payload(shortcode: str, start: datetime, end: datetime, offset: int) -> dict[str, str]:
    """One page of the query, from row `offset`; the dates in Nairobi time, to the second."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("the window needs aware datetimes")
    if offset < 0:
        raise ValueError("OffSetValue cannot be negative")
    return {
        "ShortCode": shortcode,
        "StartDate": start.astimezone(mapping.EAT).strftime(DATE_FORMAT),
        "EndDate": end.astimezone(mapping.EAT).strftime(DATE_FORMAT),
        "OffSetValue": str(offset),
    }


@dataclass(frozen=True)
class Registration:
    """Daraja's answer to register: `already` when the shortcode was registered before."""

    already: bool
    response_ref_id: str | None
    description: str | None


def registration(body: Mapping[str, Any]) -> Registration | None:
    """The register answer, under the current docs' keys or the 2017 ones with spaces
    ("Response Status"); None when the status is neither 1000 nor 1001."""
    status = _first(body, "ResponseStatus", "Response Status")
    if str(status).strip() not in (REGISTERED, ALREADY_REGISTERED):
        return None
    return Registration(
        already=str(status).strip() == ALREADY_REGISTERED,
        response_ref_id=_cut(body.get("ResponseRefID"), 64),
        description=_cut(_first(body, "ResponseDescription", "Response Description"), 255),
    )


@dataclass(frozen=True)
class Page:
    """One query answer: the payments read, and why each unreadable row was skipped."""

    payments: tuple[Incoming, ...] = ()
    rejected: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        """Rows Daraja sent, read or not: how far the next OffSetValue moves."""
        return len(self.payments) + len(self.rejected)


def parse_query(body: Mapping[str, Any], shortcode: str) -> Page:
    """A query answer for `shortcode`: 1000 with rows, 1001 none. Raises CallbackRejected for
    any other ResponseCode or a Response that is not a list of row lists."""
    code = str(body.get("ResponseCode", "")).strip()
    if code == NONE_FOUND:
        return Page()
    if code != FOUND:
        message = _cut(body.get("ResponseMessage"), 120) or ""
        raise CallbackRejected(f"not a Pull answer: ResponseCode {code[:32]!r} {message}")
    outer = body.get("Response")
    if not isinstance(outer, list) or not all(isinstance(inner, list) for inner in outer):
        raise CallbackRejected("Response must be a list of row lists")
    payments: list[Incoming] = []
    rejected: list[str] = []
    for number, row in enumerate(row for inner in outer for row in inner):
        try:
            payments.append(parse_row(row, shortcode))
        except CallbackRejected as exc:
            rejected.append(f"row {number}: {exc}")
    return Page(tuple(payments), tuple(rejected))


def parse_row(row: Any, shortcode: str) -> Incoming:
    """A row as the C2B payment it reports, paid to `shortcode` (rows do not name it)."""
    if not isinstance(row, dict):
        raise CallbackRejected("a row must be an object")
    receipt = mapping.id_text(row.get("transactionId"), "transactionId")
    assert receipt is not None  # required
    if len(receipt) > c2b.MAX_RECEIPT_LENGTH:
        raise CallbackRejected(f"transactionId must be at most {c2b.MAX_RECEIPT_LENGTH} characters")
    amount, problem = mapping.minor_units(_exact(row.get("amount")), "amount")
    if amount is None:
        raise CallbackRejected(problem or "amount is missing")
    msisdn = _text(row.get("msisdn"), "msisdn") or ""
    return Incoming(
        transaction_type=c2b.TRANSACTION_TYPE,
        payment_method_type=c2b.METHOD_TYPE,
        amount=amount,
        currency=c2b.CURRENCY,
        receipt=receipt,
        reference=(_text(row.get("billreference"), "billreference") or "")[
            : c2b.MAX_REFERENCE_LENGTH
        ],
        account_number=shortcode,
        phone_number=msisdn if c2b.PLAIN.fullmatch(msisdn) else None,
        transaction_date=parse_trx_date(row.get("trxDate")),
        details={
            "msisdn": msisdn or None,
            "msisdn_format": c2b.msisdn_format(msisdn),
            "sender": _text(row.get("sender"), "sender"),
            "business_short_code": shortcode,
            "mpesa_transaction_type": _text(row.get("transactiontype"), "transactiontype"),
            "organization_name": _text(row.get("organizationname"), "organizationname"),
            "reported_by": SOURCE,
        },
    )


def parse_trx_date(value: Any) -> datetime | None:
    """trxDate as an aware UTC datetime: ISO 8601 with a zone ("2020-08-05T10:13:00Z", as the
    sample), else Nairobi time ("2020-08-05 13:13:00", 20200805131300); None if unreadable."""
    if isinstance(value, int) and not isinstance(value, bool):
        return mapping.parse_daraja_datetime(value)
    if not isinstance(value, str) or len(value) > 40:
        return None
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return mapping.parse_daraja_datetime(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=mapping.EAT)
    return moment.astimezone(UTC)


def _exact(value: Any) -> Any:
    """A float (the HTTP client parses JSON numbers so) by its shortest text, never rounded."""
    return Decimal(repr(value)) if isinstance(value, float) else value


def _text(value: Any, name: str) -> str | None:
    """A stripped string of at most 255 characters (numbers as their text); None when blank."""
    text = mapping.short_text(_exact(value), name)
    if text is None or not text.strip():
        return None
    return text.strip()


def _first(body: Mapping[str, Any], *keys: str) -> Any:
    return next((body[key] for key in keys if body.get(key) not in (None, "")), None)


def _cut(value: Any, limit: int) -> str | None:
    """An answer's text, cut to fit (an odd answer is not worth refusing)."""
    return str(value)[:limit] if isinstance(value, str | int) and str(value) else None
