"""Dynamic QR: POST /mpesa/qrcode/v1/generate (API.md §10). Synchronous: the code is answered
as a base64 PNG and remembered, so a test can scan and pay it (control_qr)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Blueprint, request

from daraja_emulator import fields
from daraja_emulator.auth import require_access_token
from daraja_emulator.errors import DarajaError, invalid_access_token_401, invalid_field
from daraja_emulator.products import qr_code
from daraja_emulator.products.qr_code import MSISDN_CPI, TRX_CODES, QrCode
from daraja_emulator.runtime import Emulator, current_emulator

GENERATED = "The service request is processed successfully."  # samples/qrcode_response_*
MAX_MERCHANT_NAME = 100  # ours: the reference gives no limits
MAX_REF_NO = 20  # the payment's BillRefNumber: an account number of up to 20 chars (§4.3)
MAX_SIZE = 2000  # pixels; ours
# Below two pixels per module, modules of uneven width (see qr_code.render_png) stop scanning.
MIN_PIXELS_PER_MODULE = 2

blueprint = Blueprint("qr", __name__)
# No capture shows QR's invalid-token answer; B2C's 401 (API.md §13) is our pick.
blueprint.before_request(require_access_token(invalid_access_token_401))


@contextmanager
def qr_field_errors() -> Iterator[None]:
    """Report field errors as QR does: errorCode "400", not "400.002.02"
    (samples/qrcode_error_400_invalid_trxcode_jwambugu.json)."""
    try:
        yield
    except DarajaError as error:
        if error.code != "400.002.02":
            raise
        raise DarajaError(400, "400", error.message) from None


@blueprint.before_request
def require_json() -> None:
    with qr_field_errors():
        fields.json_content_type("MerchantName")()  # the first field the validator reads


@blueprint.post("/mpesa/qrcode/v1/generate")
def generate() -> dict[str, str]:
    body = fields.json_object(request.get_data())
    with qr_field_errors():
        return generate_code(current_emulator(), body)


def generate_code(emulator: Emulator, body: dict[str, Any]) -> dict[str, str]:
    """Check the fields in the docs' order, draw the code `Size` pixels square, remember it."""
    code = parse_code(body, emulator)
    size = fields.digit_string(body.get("Size"), "Size")
    matrix = qr_code.modules(code.payload)
    if not MIN_PIXELS_PER_MODULE * len(matrix) <= int(size) <= MAX_SIZE:
        raise invalid_field("Size")
    image = qr_code.render_png(matrix, int(size))
    emulator.state.add_qr_code(code)
    return {
        "ResponseCode": "00",
        "ResponseDescription": GENERATED,
        "QRCode": base64.b64encode(image).decode("ascii"),
    }


def parse_code(body: dict[str, Any], emulator: Emulator) -> QrCode:
    """MerchantName, RefNo, Amount, TrxCode, CPI; the CPI's form depends on TrxCode."""
    merchant_name = fields.bounded_text(
        body.get("MerchantName"), "MerchantName", maximum=MAX_MERCHANT_NAME
    )
    ref_no = fields.bounded_text(body.get("RefNo"), "RefNo", maximum=MAX_REF_NO)
    amount = fields.whole_amount(body.get("Amount"), emulator.config.max_amount)
    trx_code = fields.one_of(body.get("TrxCode"), TRX_CODES, "TrxCode")
    if trx_code in MSISDN_CPI:
        cpi = fields.msisdn(body.get("CPI"), "CPI")
    else:
        cpi = fields.shortcode(body.get("CPI"), "CPI")  # till, paybill or agent number
    return QrCode(merchant_name, ref_no, amount, trx_code, cpi, created_at=emulator.clock())
