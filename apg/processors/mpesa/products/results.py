"""What every asynchronous Daraja product shares: the ack, the Result envelope (§12), readers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from apg.payments.lifecycle import PaymentStatus
from apg.payments.ports import CallbackRejected, Outcome, ProcessorEvent, Ref
from apg.processors.mpesa import mapping
from apg.processors.mpesa.products.base import CONVERSATION, ORIGINATOR, AsyncRequest

WAITING = "1"  # ResultType 1: "waiting for further messages", nothing decided yet
MAX_ITEMS = 64  # Daraja sends at most ~15 parameters
SHORTCODE = "4"  # IdentifierType of an organisation shortcode
IDENTIFIER_TYPES = ("1", "2", "4")
MAX_REMARKS = 100  # Remarks and Occasion: Daraja's bound
MAX_VALUE_LENGTH = 1024  # an AccountBalance line of many accounts outgrows MAX_TEXT_LENGTH

Reader = Callable[[Any], Any]


@dataclass(frozen=True)
class Items:
    """A ResultParameter or ReferenceItem list, in order, repeats kept; read by key, never by
    position (the order differs between samples of the same product)."""

    pairs: tuple[tuple[str, Any], ...] = ()

    def get(self, *keys: str) -> Any:
        """The first value under any of these spellings (they vary by era); None when no item
        has one (items may lack Value)."""
        return next((v for k, v in self.pairs if k in keys and v is not None), None)

    def all(self, *keys: str) -> list[Any]:
        """Every value under these spellings, repeats included, in order."""
        return [v for k, v in self.pairs if k in keys and v is not None]

    def named(self, fields: Mapping[str, tuple[tuple[str, ...], Reader]]) -> dict[str, Any]:
        """{detail name: reader(value under any of its spellings)}, every name always present."""
        return {name: read(self.get(*keys)) for name, (keys, read) in fields.items()}


@dataclass(frozen=True)
class Result:
    """A parsed `{"Result": {...}}`: codes compare as strings, items normalised to lists."""

    refs: tuple[Ref, ...]
    result_type: str | None
    code: str | None
    desc: str | None
    transaction_id: str | None
    parameters: Items
    references: Items

    @property
    def final(self) -> bool:
        return self.result_type != WAITING


# --- the acknowledgement -----------------------------------------------------------------


def accepted_refs(answer: Mapping[str, Any]) -> tuple[Ref, ...] | None:
    """The ack's refs when ResponseCode is "0" (string or number), else None (a refusal).
    An accepted ack keeps only well-formed ids: a mangled one could never match a Result."""
    code = answer.get("ResponseCode")
    if isinstance(code, bool) or str(code).strip() != "0":
        return None
    # `OriginatorCoversationID` is Daraja's typo on C2B acks only; reading it costs nothing.
    originator = answer.get("OriginatorConversationID") or answer.get("OriginatorCoversationID")
    found = (
        (ORIGINATOR, _clean_id(originator)),
        (CONVERSATION, _clean_id(answer.get("ConversationID"))),
    )
    return tuple(Ref(kind, value) for kind, value in found if value)


# --- the Result envelope ------------------------------------------------------------------


def parse(raw: bytes, *, code_required: bool = True) -> Result:
    """`{"Result": {...}}` -> Result, or CallbackRejected with a short, safe reason."""
    body = mapping.loads(raw)
    result = body.get("Result") if isinstance(body, dict) else None
    if not isinstance(result, dict):
        raise CallbackRejected("not a Daraja result: Result is missing or not an object")
    code = _code(result.get("ResultCode"), "ResultCode")
    if code is None and code_required:
        raise CallbackRejected("ResultCode is missing")
    return Result(
        refs=_refs(result),
        result_type=_code(result.get("ResultType"), "ResultType"),
        code=code,
        desc=mapping.short_text(result.get("ResultDesc"), "ResultDesc"),
        transaction_id=mapping.id_text(
            result.get("TransactionID"), "TransactionID", required=False
        ),
        parameters=_items(result.get("ResultParameters"), "ResultParameter"),
        references=_items(result.get("ReferenceData"), "ReferenceItem"),
    )


def parse_event(raw: bytes, outcome: Callable[[Result], Outcome]) -> ProcessorEvent:
    """A Result callback -> event; ResultType 1 carries refs only (nothing to apply yet)."""
    result = parse(raw)
    return ProcessorEvent(result.refs, outcome(result) if result.final else None)


def parse_timeout(raw: bytes) -> ProcessorEvent:
    """A QueueTimeOutURL notice (no public sample: assumed a sparse Result envelope, API.md §5)
    -> TIMEOUT. Not a failure: the request may still have run, so reconcile by status query."""
    result = parse(raw, code_required=False)
    outcome = Outcome(PaymentStatus.TIMEOUT, result_code=result.code, result_desc=result.desc)
    return ProcessorEvent(result.refs, outcome)


def status_for(code: str | None, table: Mapping[str, PaymentStatus]) -> PaymentStatus:
    """A product's ResultCode table; any code it does not list is a failure."""
    return table.get(code or "", PaymentStatus.FAILED)


# --- readers for item values (never raise: a detail field is informative, not evidence) ----


def text(value: Any) -> str | None:
    """A value as text; None when absent or empty."""
    if value is None:
        return None
    return str(value).strip() or None


def signed_cents(value: Any) -> int | None:
    """An exact amount of shillings, possibly negative (charges accounts are) -> cents."""
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        return None
    try:
        cents = Decimal(str(value).strip()) * 100
    except InvalidOperation:
        return None
    if not cents.is_finite() or cents != cents.to_integral_value() or abs(cents) >= 10**17:
        return None
    return int(cents)


def charge_cents(value: Any) -> int | None:
    """A charge line `Fee For B2C Payment|KES|22.40` -> 2240; None when empty or odd."""
    parts = value.split("|") if isinstance(value, str) else []
    return signed_cents(parts[-1]) if len(parts) == 3 else None


def yes_no(value: Any) -> bool | None:
    return {"Y": True, "N": False}.get(str(value).strip().upper()) if value is not None else None


def daraja_time(value: Any) -> str | None:
    """YYYYMMDDHHmmss (EAT, number or string) -> ISO 8601 UTC text, JSON-safe for detail."""
    moment = mapping.parse_daraja_datetime(value)
    return moment.isoformat() if moment else None


# --- the request side ----------------------------------------------------------------------


def whole_shillings(amount: int | None) -> int:
    """Cents -> the whole shillings Daraja takes; refuses anything else."""
    if amount is None or amount <= 0 or amount % 100:
        raise ValueError("Daraja takes a positive whole number of shillings")
    return amount // 100


def remarks(request: AsyncRequest, default: str) -> str:
    """Remarks (required by Daraja, 2-100 characters): the API's, else the description, else
    the product's default; cut to Daraja's 100."""
    given = request.details.get("remarks") or request.operation.description or default
    return str(given).strip()[:MAX_REMARKS] or default


def occasion(request: AsyncRequest) -> str | None:
    """The optional Occasion (1-100 characters), or None to leave it out."""
    given = request.details.get("occasion")
    return (text(given) or "")[:MAX_REMARKS] or None


def identifier_type(request: AsyncRequest) -> str:
    """What PartyA is: "4" a shortcode (the default), "2" a till, "1" an MSISDN (API.md §7)."""
    kind = str(request.details.get("identifier_type", SHORTCODE)).strip()
    if kind not in IDENTIFIER_TYPES:
        raise ValueError(f"identifier_type must be one of {', '.join(IDENTIFIER_TYPES)}")
    return kind


def required(request: AsyncRequest, name: str) -> str:
    value = request.details.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} is required")
    return value.strip()


def command_id(request: AsyncRequest, allowed: frozenset[str]) -> str:
    command = required(request, "command_id")
    if command not in allowed:
        raise ValueError(f"command_id must be one of {', '.join(sorted(allowed))}")
    return command


def optional(body: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """Daraja's optional fields are left out rather than sent empty."""
    return body | {key: value} if value not in (None, "") else body


# --- internals -----------------------------------------------------------------------------


def _refs(result: dict[str, Any]) -> tuple[Ref, ...]:
    originator = mapping.id_text(
        result.get("OriginatorConversationID"), "OriginatorConversationID", required=False
    )
    conversation = mapping.id_text(result.get("ConversationID"), "ConversationID", required=False)
    refs = tuple(
        Ref(k, v) for k, v in ((ORIGINATOR, originator), (CONVERSATION, conversation)) if v
    )
    if not refs:
        raise CallbackRejected("a result needs OriginatorConversationID or ConversationID")
    return refs


def _code(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise CallbackRejected(f"{name} must be a number or a string")
    code = str(value).strip()
    if not code or len(code) > 32 or not code.isprintable():
        raise CallbackRejected(f"{name} must be 1-32 printable characters")
    return code


def _items(container: Any, list_key: str) -> Items:
    """{list_key: [{Key, Value?}, …] | {Key, Value?}} -> Items; absent or null -> empty."""
    if container is None:
        return Items()
    if not isinstance(container, dict):
        raise CallbackRejected(f"the holder of {list_key} must be an object")
    items = container.get(list_key)
    items = [items] if isinstance(items, dict) else [] if items is None else items
    if not isinstance(items, list) or len(items) > MAX_ITEMS:
        raise CallbackRejected(f"{list_key} must be an object or a list of at most {MAX_ITEMS}")
    return Items(tuple(_pair(item, list_key) for item in items))


def _pair(item: Any, list_key: str) -> tuple[str, Any]:
    key = _clean_id(item.get("Key")) if isinstance(item, dict) else None
    if key is None:
        raise CallbackRejected(f"every {list_key} needs a Key of 1-{mapping.MAX_ID_LENGTH} chars")
    value = item.get("Value")
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal | None):
        raise CallbackRejected(f"{list_key} values must be strings or numbers")
    if isinstance(value, str) and (len(value) > MAX_VALUE_LENGTH or "\x00" in value):
        raise CallbackRejected(f"{list_key} values must be at most {MAX_VALUE_LENGTH} characters")
    return key, value


def _clean_id(value: Any) -> str | None:
    """A well-formed id, stripped; None for anything else."""
    if not isinstance(value, str):
        return None
    clean = value.strip()
    return clean if 0 < len(clean) <= mapping.MAX_ID_LENGTH and clean.isprintable() else None
