"""/api/v1/c2b: money customers send on their own (M-Pesa C2B, paybill and till): register the
callback URLs, set what the validation URL lets in, simulate a payment, list what arrived."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import g
from marshmallow import fields, validate

from apg.api.auth import viewer
from apg.api.blueprint import Blueprint
from apg.api.operations import OperationListQuerySchema, list_schema, listing, result_detail
from apg.api.schemas import REFERENCE, MinorUnits, MsisdnField, OutputSchema, amount_field, constant
from apg.payments import queries
from apg.payments.collections import (
    MAX_PATTERN_LENGTH,
    MAX_REFERENCES,
    CollectionRule,
    Rules,
)
from apg.payments.lifecycle import PaymentStatus
from apg.payments.models import PaymentTransaction
from apg.payments.queries import Page
from apg.processors.mpesa.c2b_registrations import C2BRegistration
from apg.processors.mpesa.c2b_service import C2BCommands, Simulation
from apg.processors.mpesa.processor import MpesaProcessor
from apg.processors.mpesa.products import c2b
from apg.services import services

TYPES = (c2b.TRANSACTION_TYPE,)
ACCOUNT_ID = {"description": "Which of your paybills or tills (mpa_…); defaults to the oldest"}
TEXT = {"type": "string"}
# Cents, as collection_rules keeps them: a BIGINT.
RULE_AMOUNT = validate.Range(min=0, max=2**63 - 1)

blp = Blueprint(
    "c2b",
    __name__,
    url_prefix="/api/v1/c2b",
    description="Money customers send on their own to your paybill or till (M-Pesa C2B).",
)


def commands() -> C2BCommands:
    svc = services()
    processor = svc.processors.get("mpesa")
    assert isinstance(processor, MpesaProcessor)
    return C2BCommands(processor, svc.clock)


# --- register URLs and simulate ----------------------------------------------------------


class RegisterUrlsSchema(ma.Schema):
    account_id = fields.String(metadata=ACCOUNT_ID)
    response_type = fields.String(
        load_default="Completed",
        validate=validate.OneOf(c2b.RESPONSE_TYPES),
        metadata={"description": "What M-Pesa does when validation does not answer in ~8 s"},
    )
    version = fields.String(
        load_default="v2",
        validate=validate.OneOf(c2b.VERSIONS),
        metadata={"description": "v2: payers' numbers arrive masked (2547 ***** 126); v1: hashed"},
    )


class C2BRegistrationSchema(OutputSchema):
    object = constant("c2b_registration")
    account_id = fields.String()
    shortcode = fields.String(metadata={"example": "600984"})
    response_type = fields.String(metadata={"enum": list(c2b.RESPONSE_TYPES)})
    version = fields.String(metadata={"enum": list(c2b.VERSIONS)})
    confirmation_url = fields.String()
    validation_url = fields.String()
    originator_conversation_id = fields.String(allow_none=True)
    response_description = fields.String(allow_none=True)
    registered_at = fields.DateTime()


class SimulateSchema(ma.Schema):
    account_id = fields.String(metadata=ACCOUNT_ID)
    amount = amount_field()
    phone_number = MsisdnField(required=True, metadata={"example": "0708374149"})
    bill_ref_number = fields.String(
        validate=[validate.Length(1, 20), REFERENCE],
        metadata={"description": "The account number the payer types; required for a paybill"},
    )
    command_id = fields.String(
        load_default="CustomerPayBillOnline", validate=validate.OneOf(c2b.COMMAND_IDS)
    )

    @ma.validates_schema
    def bill_ref_for_paybill(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("command_id") == "CustomerPayBillOnline" and not data.get("bill_ref_number"):
            raise ma.ValidationError(
                "required for CustomerPayBillOnline: the account number the payer types",
                field_name="bill_ref_number",
            )


class C2BSimulationSchema(OutputSchema):
    object = constant("c2b_simulation")
    account_id = fields.String()
    shortcode = fields.String()
    command_id = fields.String()
    amount = fields.Integer(metadata={"description": "Cents"})
    phone_number = fields.String()
    bill_ref_number = fields.String()
    originator_conversation_id = fields.String(allow_none=True)
    response_description = fields.String(allow_none=True)


@blp.route("/register-urls", methods=["POST"])
@blp.arguments(RegisterUrlsSchema)
@blp.response(200, C2BRegistrationSchema, description="Registered: Daraja now calls these URLs")
@blp.errors(403, 415, 424, 429, 502, 503, 504)
def register_c2b_urls(data: dict[str, Any]) -> C2BRegistration:
    """Register your confirmation and validation URLs for the account's shortcode with Daraja
    (production: once; change them in the Daraja portal)."""
    account_id, response_type, version = (
        data.get("account_id"),
        data["response_type"],
        data["version"],
    )
    return commands().register_urls(
        g.tenant.id, account_id, response_type, version, mode=g.key_mode
    )


@blp.route("/simulate", methods=["POST"])
@blp.arguments(SimulateSchema)
@blp.response(202, C2BSimulationSchema, description="Taken: the confirmation follows")
@blp.errors(403, 415, 424, 429, 502, 503, 504)
def simulate_c2b_payment(data: dict[str, Any]) -> Simulation:
    """Make Daraja pretend a customer paid (emulator and sandbox accounts only)."""
    account_id = data.pop("account_id", None)
    data.setdefault("bill_ref_number", "")
    return commands().simulate(g.tenant.id, account_id, mode=g.key_mode, **data)


# --- validation rules --------------------------------------------------------------------


class ValidationRulesSchema(ma.Schema):
    account_id = fields.String(metadata=ACCOUNT_ID)
    account_number_pattern = fields.String(
        allow_none=True,
        validate=validate.Length(1, MAX_PATTERN_LENGTH),
        metadata={
            "description": "A regular expression the whole account number must match (or be"
            " on allowed_account_references)",
            "example": r"INV-\d{4,8}",
        },
    )
    min_amount = MinorUnits(allow_none=True, validate=RULE_AMOUNT)
    max_amount = MinorUnits(allow_none=True, validate=RULE_AMOUNT)
    allowed_account_references = fields.List(
        fields.String(validate=validate.Length(1, c2b.MAX_REFERENCE_LENGTH)),
        load_default=list,
        validate=validate.Length(max=MAX_REFERENCES),
        metadata={"description": "Account numbers let in whatever the pattern; any case"},
    )


class ValidationRulesQuerySchema(ma.Schema):
    account_id = fields.String(metadata=ACCOUNT_ID)


class C2BValidationRulesSchema(OutputSchema):
    object = constant("c2b_validation_rules")
    account_id = fields.String()
    account_number_pattern = fields.String(allow_none=True)
    min_amount = fields.Integer(allow_none=True, metadata={"description": "Cents, inclusive"})
    max_amount = fields.Integer(allow_none=True, metadata={"description": "Cents, inclusive"})
    allowed_account_references = fields.Function(
        lambda rule: list(rule.allowed_account_references or []),
        metadata={"type": "array", "items": TEXT},
    )
    updated_at = fields.DateTime(allow_none=True)


@blp.route("/validation-rules", methods=["PUT"])
@blp.arguments(ValidationRulesSchema)
@blp.response(200, C2BValidationRulesSchema)
@blp.errors(403, 415)
def set_c2b_validation_rules(data: dict[str, Any]) -> CollectionRule:
    """Replace what the validation URL lets in: other payments are refused (C2B00012 for the
    account number, C2B00013 for the amount). No rules: everything is accepted."""
    account_id = data.pop("account_id", None)
    rules = Rules(
        **{**data, "allowed_account_references": tuple(data["allowed_account_references"])}
    )
    return commands().set_validation_rules(g.tenant.id, account_id, rules, mode=g.key_mode)


@blp.route("/validation-rules", methods=["GET"])
@blp.arguments(ValidationRulesQuerySchema, location="query")
@blp.response(200, C2BValidationRulesSchema)
@blp.errors(403)
def get_c2b_validation_rules(query: dict[str, Any]) -> CollectionRule:
    """What the account's validation URL lets in."""
    return commands().validation_rules(g.tenant.id, query.get("account_id"), mode=g.key_mode)


# --- incoming payments -------------------------------------------------------------------


class C2BPaymentSchema(OutputSchema):
    id = fields.String()
    object = constant("c2b_payment")
    amount = fields.Integer(metadata={"description": "Cents"})
    currency = fields.String()
    status = fields.String(metadata={"enum": [s.value for s in PaymentStatus]})
    account_id = fields.String(metadata={"description": "The paybill or till paid (mpa_…)"})
    business_short_code = result_detail("business_short_code", metadata=TEXT)
    mpesa_receipt_number = fields.String(attribute="receipt", metadata={"example": "RKL51ZDR4F"})
    reference = fields.String(metadata={"description": "The account number the payer typed"})
    mpesa_transaction_type = result_detail("mpesa_transaction_type", metadata=TEXT)
    phone_number = fields.String(
        allow_none=True, metadata={"description": "Only when M-Pesa sent the number in full"}
    )
    msisdn = result_detail("msisdn", metadata={**TEXT, "description": "As M-Pesa sent it"})
    msisdn_format = result_detail(
        "msisdn_format", metadata={**TEXT, "enum": ["plain", "hashed", "masked", "unknown"]}
    )
    first_name = result_detail("first_name", metadata=TEXT)
    middle_name = result_detail("middle_name", metadata=TEXT)
    last_name = result_detail("last_name", metadata=TEXT)
    invoice_number = result_detail("invoice_number", metadata=TEXT)
    third_party_trans_id = result_detail("third_party_trans_id", metadata=TEXT)
    org_account_balance = result_detail(
        "org_account_balance", metadata={"type": "integer", "description": "Cents, after it"}
    )
    transaction_date = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    finalized_at = fields.DateTime(allow_none=True)


C2BPaymentListSchema = list_schema(C2BPaymentSchema, "C2BPaymentList")


class C2BPaymentListQuerySchema(OperationListQuerySchema):
    reference = fields.String(
        validate=validate.Length(1, c2b.MAX_REFERENCE_LENGTH),
        metadata={"description": "The account number the payer typed, exactly"},
    )


@blp.route("/payments", methods=["GET"])
@blp.arguments(C2BPaymentListQuerySchema, location="query")
@blp.response(200, C2BPaymentListSchema)
@blp.errors(404)
def list_c2b_payments(query: dict[str, Any]) -> Page:
    """List payments customers sent, newest first, with cursor pagination."""
    return listing(viewer(), TYPES, query)


@blp.route("/payments/<c2b_payment_id>", methods=["GET"])
@blp.response(200, C2BPaymentSchema)
@blp.errors(404)
def get_c2b_payment(c2b_payment_id: str) -> PaymentTransaction:
    """Fetch one payment a customer sent."""
    return queries.get_payment(viewer(), c2b_payment_id, TYPES, noun="C2B payment")
