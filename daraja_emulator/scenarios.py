"""Scripted outcomes by party (payer/recipient MSISDN or shortcode): the Scenario model and its
validation (YAML or JSON)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from daraja_emulator import config_readers as read
from daraja_emulator.config_readers import EmulatorConfigError
from daraja_emulator.products import result_codes, stk_codes

# Sent instead of (or around) the normal processrequest answer; see NOTES.md "Faults".
FAULTS = (
    "spike_arrest",
    "quota_violation",
    "html_503",
    "html_504",
    "truncated",
    "slow",
    "nonzero_response_code",
)
DELIVERIES = ("normal", "drop", "duplicate", "early")
AMOUNT_FORMATS = ("decimal", "integer")
CALLBACK_ITEMS = ("Amount", "MpesaReceiptNumber", "Balance", "TransactionDate", "PhoneNumber")


@dataclass(frozen=True)
class Outcome:
    """A result code and its ResultDesc (defaulting to the §2.2, §5-§9 texts), decided after a
    delay."""

    result_code: int | str
    result_desc: str | None = None
    delay_seconds: float | None = None

    def __post_init__(self) -> None:
        code = stk_codes.normalize_result_code(self.result_code)
        object.__setattr__(self, "result_code", code)
        if self.result_desc is None:
            object.__setattr__(self, "result_desc", result_codes.describe(code))

    def to_json(self) -> dict[str, Any]:
        """The YAML/JSON shape, keys at their default left out; parse_scenario accepts it."""
        shape: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is not None and value != field.default:
                shape[field.name] = value.to_json() if isinstance(value, Outcome) else value
        if "omit_items" in shape:
            shape["omit_items"] = list(shape["omit_items"])
        return shape


@dataclass(frozen=True)
class Scenario(Outcome):
    """A scripted STK outcome plus how the callback looks and how Daraja misbehaves around it.

    `then` is a follow-up outcome POSTed `then.delay_seconds` after the first callback.
    `queue_timeout` (initiator APIs only) POSTs a QueueTimeOutURL notice instead of the result;
    with `then`, the result follows to the ResultURL.
    """

    amount_format: str = "decimal"
    balance_item: bool | None = None  # None: the global include_balance_item
    paid_amount: int | None = None  # None: the requested Amount
    omit_items: tuple[str, ...] = ()
    fault: str | None = None
    answer_delay_seconds: float = 5
    delivery: str = "normal"
    then: Outcome | None = None
    queue_timeout: bool = False


def parse_scenario(value: Any, path: str) -> Scenario:
    """Validate one scenario mapping; EmulatorConfigError names the bad key under `path`."""
    fields = read.mapping(value, path)
    read.known_keys(fields, read.field_names(Scenario), path)
    outcome = parse_outcome(fields, path)

    def optional(key: str, reader: Any, *args: Any) -> Any:
        given = fields.get(key)
        if given is None:
            return getattr(Scenario, key)  # the dataclass default
        return reader(given, f"{path}.{key}", *args)

    return Scenario(
        **{f.name: getattr(outcome, f.name) for f in dataclasses.fields(Outcome)},
        amount_format=optional("amount_format", read.choice, AMOUNT_FORMATS),
        balance_item=optional("balance_item", read.boolean),
        paid_amount=optional("paid_amount", read.integer, 0),
        omit_items=_omit_items(fields.get("omit_items", []), f"{path}.omit_items"),
        fault=optional("fault", read.choice, FAULTS),
        answer_delay_seconds=optional("answer_delay_seconds", read.seconds),
        delivery=optional("delivery", read.choice, DELIVERIES),
        then=optional("then", _follow_up),
        queue_timeout=optional("queue_timeout", read.boolean),
    )


def parse_outcome(fields: Mapping[Any, Any], path: str) -> Outcome:
    """result_code (required), result_desc (required for codes outside §2.2), delay_seconds."""
    code = read.result_code(read.required(fields, "result_code", path), f"{path}.result_code")
    desc = fields.get("result_desc")
    if desc is None and result_codes.describe(code) is None:
        raise EmulatorConfigError(
            f"{path}.result_desc: required for result code {code} (not in the result tables)"
        )
    delay = fields.get("delay_seconds")
    return Outcome(
        result_code=code,
        result_desc=None if desc is None else read.string(desc, f"{path}.result_desc"),
        delay_seconds=None if delay is None else read.seconds(delay, f"{path}.delay_seconds"),
    )


def _follow_up(value: Any, path: str) -> Outcome:
    fields = read.mapping(value, path)
    read.known_keys(fields, read.field_names(Outcome), path)
    return parse_outcome(fields, path)


def _omit_items(value: Any, path: str) -> tuple[str, ...]:
    items = read.sequence(value, path)
    return tuple(read.choice(item, f"{path}[{i}]", CALLBACK_ITEMS) for i, item in enumerate(items))
