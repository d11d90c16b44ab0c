"""What every asynchronous M-Pesa operation's resource shares: its output fields, its list
query, and the recovery of a request that died after recording its operation."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from apg.api.schemas import REFERENCE, AwareDateTime, OutputSchema, constant, ref
from apg.payments import queries
from apg.payments.lifecycle import PaymentStatus
from apg.payments.queries import Page, PaymentFilter, Scope

Recover = Callable[[str, str, datetime], tuple[str, int] | None]
RECOVERED = (
    "An earlier request with this Idempotency-Key recorded this operation and died before"
    " answering: this is that operation as it stands (Idempotent-Replayed: true)"
)


def request_detail(name: str, **kwargs: Any) -> fields.Function:
    """A field of the operation as it was asked (processor_data["request"])."""
    return fields.Function(
        lambda t: ((t.processor_data or {}).get("request") or {}).get(name),
        allow_none=True,
        **kwargs,
    )


def result_detail(name: str, **kwargs: Any) -> fields.Function:
    """A named field of M-Pesa's Result (processor_data["result"]), null until it arrives."""
    return fields.Function(
        lambda t: ((t.processor_data or {}).get("result") or {}).get(name),
        allow_none=True,
        **kwargs,
    )


class OperationSchema(OutputSchema):
    """The fields every asynchronous operation (payout, B2B, inquiry, reversal) shows."""

    id = fields.String()
    status = fields.String(metadata={"enum": [s.value for s in PaymentStatus]})
    status_reason = fields.String(allow_none=True)
    account_id = fields.String(metadata={"description": "The M-Pesa account that carried it"})
    conversation_id = ref("conversation_id", "Daraja's ConversationID (AG_…)")
    originator_conversation_id = ref(
        "originator_conversation_id", "The OriginatorConversationID (ours for B2C v3)"
    )
    result_code = fields.String(allow_none=True, metadata={"description": "M-Pesa's ResultCode"})
    result_desc = fields.String(allow_none=True)
    metadata = fields.Dict(
        keys=fields.String(), values=fields.String(), attribute="metadata_", allow_none=True
    )
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    finalized_at = fields.DateTime(allow_none=True)


class OperationListQuerySchema(ma.Schema):
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100))
    starting_after = fields.String(
        validate=validate.Length(1, 40), metadata={"description": "Last id of the previous page"}
    )
    status = fields.String(validate=validate.OneOf([s.value for s in PaymentStatus]))
    created_gte = AwareDateTime(
        metadata={"description": "ISO 8601; naive times are UTC; URL-encode `+` as %2B"}
    )
    created_lt = AwareDateTime(metadata={"description": "ISO 8601, exclusive"})


def list_schema(item: type[ma.Schema], name: str) -> type[ma.Schema]:
    """{"object": "list", "has_more", "data": [item]} under its own component name."""
    return type(
        name,
        (OutputSchema,),
        {
            "object": constant("list"),
            "has_more": fields.Boolean(),
            "data": fields.List(fields.Nested(item)),
        },
    )


def remarks_field(default_help: str) -> fields.String:
    return fields.String(
        validate=[validate.Length(2, 100), REFERENCE],
        metadata={"description": f"Daraja Remarks, 2-100 characters; {default_help}"},
    )


def occasion_field() -> fields.String:
    return fields.String(
        validate=[validate.Length(1, 100), REFERENCE],
        metadata={"description": "Daraja Occasion, optional, up to 100 characters"},
    )


def listing(scope: Scope, types: tuple[str, ...], query: dict[str, Any]) -> Page:
    return queries.list_payments(scope, PaymentFilter(types=types, **query))


def recover_with(schema: ma.Schema, types: tuple[str, ...]) -> Recover:
    """What a request that died after recording its operation left behind: that operation."""

    def recover(tenant_id: str, key: str, since: datetime) -> tuple[str, int] | None:
        txn = queries.by_idempotency_key(tenant_id, key, since)
        if txn is None or txn.transaction_type not in types:
            return None
        return json.dumps(schema.dump(txn)), 200

    return recover


class ResultNested(fields.Nested):
    """An object (or list) of M-Pesa's Result (processor_data["result"][name], the whole
    Result detail when name is None): null until the Result arrives."""

    def __init__(self, name: str | None, nested: Any, **kwargs: Any) -> None:
        super().__init__(nested, allow_none=True, **kwargs)
        self.detail_name = name

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = None) -> Any:
        detail = (obj.processor_data or {}).get("result")
        if detail is None or self.detail_name is None:
            return detail
        return detail.get(self.detail_name)


class BalanceAccountSchema(OutputSchema):
    """One account of a shortcode (Working, Utility, Charges Paid…), as M-Pesa reports it."""

    name = fields.String(metadata={"example": "Working Account"})
    currency = fields.String(metadata={"example": "KES"})
    current = fields.Integer(allow_none=True, metadata={"description": "Cents (ledger)"})
    available = fields.Integer(allow_none=True, metadata={"description": "Cents"})
    reserved = fields.Integer(allow_none=True, metadata={"description": "Cents"})
    uncleared = fields.Integer(allow_none=True, metadata={"description": "Cents"})
