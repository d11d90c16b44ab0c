"""The exact JSON text of an async Result (API.md §12), with Daraja's per-product typing quirks."""

from __future__ import annotations

import json
from dataclasses import dataclass

from daraja_emulator.products import stk_codes


@dataclass(frozen=True)
class Raw:
    """A JSON number written exactly as given: "10.00", "-1980.00", "20211114132711"."""

    text: str


Value = str | Raw | None  # None: a value-less item, {"Key":"TransactionReason"}
Item = tuple[str, Value]
# A list is sent as a JSON array; a single item as an object (ResultParameter/ReferenceItem).
Items = list[Item] | Item


@dataclass(frozen=True)
class Decision:
    """What a Result says, decided once, when it falls due.

    `as_strings`: ResultType/ResultCode as "0" (the 2020-2022 docs samples) instead of numbers;
    `alphabetical`: keys in alphabetical order (the Transaction Status docs sample).
    """

    result_code: int | str
    result_desc: str
    transaction_id: str
    parameters: Items | None = None
    reference: Items | None = None
    as_strings: bool = False
    alphabetical: bool = False

    @property
    def succeeded(self) -> bool:
        return stk_codes.normalize_result_code(self.result_code) == 0


def render(decision: Decision, originator_conversation_id: str, conversation_id: str) -> str:
    """Compact JSON: {"Result":{ResultType, ResultCode, ResultDesc, the ids, TransactionID,
    ResultParameters?, ReferenceData?}}."""
    fields: list[tuple[str, str]] = [
        ("ResultType", '"0"' if decision.as_strings else "0"),
        ("ResultCode", _code(decision.result_code, decision.as_strings)),
        ("ResultDesc", json.dumps(decision.result_desc)),
        ("OriginatorConversationID", json.dumps(originator_conversation_id)),
        ("ConversationID", json.dumps(conversation_id)),
        ("TransactionID", json.dumps(decision.transaction_id)),
    ]
    if decision.parameters is not None:
        fields.append(("ResultParameters", _wrap("ResultParameter", decision.parameters)))
    if decision.reference is not None:
        fields.append(("ReferenceData", _wrap("ReferenceItem", decision.reference)))
    if decision.alphabetical:
        fields.sort()
    body = ",".join(f"{json.dumps(key)}:{text}" for key, text in fields)
    return f'{{"Result":{{{body}}}}}'


def _code(code: int | str, as_string: bool) -> str:
    normalized = stk_codes.normalize_result_code(code)
    if isinstance(normalized, str) or as_string:
        return json.dumps(str(normalized))  # alphanumeric codes are always strings
    return str(normalized)


def _wrap(name: str, items: Items) -> str:
    inner = (
        "[" + ",".join(_item(i) for i in items) + "]" if isinstance(items, list) else _item(items)
    )
    return f'{{"{name}":{inner}}}'


def _item(item: Item) -> str:
    key, value = item
    if value is None:
        return f'{{"Key":{json.dumps(key)}}}'
    text = value.text if isinstance(value, Raw) else json.dumps(value)
    return f'{{"Key":{json.dumps(key)},"Value":{text}}}'
