"""The exact JSON text of an STK callback (API.md §2.1), shaped by the scenario's callback style."""

from __future__ import annotations

import json
from dataclasses import dataclass

from daraja_emulator.clock import eat_stamp
from daraja_emulator.scenarios import Scenario

COMPACT = (",", ":")


@dataclass(frozen=True)
class CallbackStyle:
    """How a success callback's CallbackMetadata looks (older eras, odd payers, lost items)."""

    amount_format: str = "decimal"  # "decimal": 10.00, "integer": 10
    balance_item: bool = False  # the value-less {"Name":"Balance"} of 2017-2022 traffic
    paid_amount: int | None = None  # None: the requested Amount
    omit_items: tuple[str, ...] = ()

    @classmethod
    def of(cls, scenario: Scenario, include_balance_item: bool) -> CallbackStyle:
        """The scenario's style; its balance_item, when set, beats the global setting."""
        balance = scenario.balance_item
        return cls(
            amount_format=scenario.amount_format,
            balance_item=include_balance_item if balance is None else balance,
            paid_amount=scenario.paid_amount,
            omit_items=scenario.omit_items,
        )


def render(
    merchant_request_id: str,
    checkout_request_id: str,
    result_code: int | str,
    result_desc: str,
    items: list[str] | None,
) -> str:
    """Compact JSON in the docs' key order; `items` (rendered) only for a success."""
    head = json.dumps(
        {
            "MerchantRequestID": merchant_request_id,
            "CheckoutRequestID": checkout_request_id,
            "ResultCode": result_code,
            "ResultDesc": result_desc,
        },
        separators=COMPACT,
    )
    if items is not None:
        head = f'{head[:-1]},"CallbackMetadata":{{"Item":[{",".join(items)}]}}}}'
    return f'{{"Body":{{"stkCallback":{head}}}}}'


def success_items(
    amount: int, receipt: str, decided_at: float, phone_number: str, style: CallbackStyle
) -> list[str]:
    """CallbackMetadata items in the 2017-2022 order; Amount printed as `10.00` by default."""
    paid = amount if style.paid_amount is None else style.paid_amount
    items: list[tuple[str, str | None]] = [
        ("Amount", f"{paid:.2f}" if style.amount_format == "decimal" else str(paid)),
        ("MpesaReceiptNumber", json.dumps(receipt)),
        ("TransactionDate", eat_stamp(decided_at)),
        ("PhoneNumber", phone_number),
    ]
    if style.balance_item:
        items.insert(2, ("Balance", None))
    return [_item(name, raw) for name, raw in items if name not in style.omit_items]


def _item(name: str, raw_value: str | None) -> str:
    """One CallbackMetadata item; `raw_value` is inserted as JSON text, verbatim."""
    if raw_value is None:
        return json.dumps({"Name": name}, separators=COMPACT)
    return f'{{"Name":{json.dumps(name)},"Value":{raw_value}}}'
