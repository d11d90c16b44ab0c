"""Control API for Dynamic QR under /_emulator/qr-codes (not Daraja's): the generated codes, and
a customer scanning one and paying it by C2B."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, jsonify, request

from daraja_emulator import fields
from daraja_emulator.errors import DarajaError
from daraja_emulator.products import c2b_service
from daraja_emulator.products.c2b_payload import BUY_GOODS, PAYBILL
from daraja_emulator.products.c2b_payment import C2BRequest
from daraja_emulator.products.qr_code import QrCode
from daraja_emulator.runtime import Emulator, current_emulator

blueprint = Blueprint("control_qr", __name__, url_prefix="/_emulator/qr-codes")

# The codes a C2B payment can settle: PB pays a paybill, BG a till. WA, SM and SB move money
# between customers and agents, which the emulator does not model.
C2B_COMMANDS = {"PB": PAYBILL, "BG": BUY_GOODS}


@blueprint.get("")
def list_codes() -> Response:
    """Every code generated since start or reset, newest first; `?ref_no=` filters."""
    ref_no = request.args.get("ref_no")
    codes = current_emulator().state.qr_codes()
    return jsonify({"data": [c.to_json() for c in codes if ref_no in (None, c.ref_no)]})


@blueprint.post("/pay")
def pay_code() -> dict[str, Any]:
    """The customer `msisdn` scans a code (by `payload`, or the newest with `ref_no` and `cpi`)
    and pays it: a C2B payment to CPI made like /simulate; the payment's view, as
    GET /_emulator/c2b/payments/<TransID> shows it."""
    emulator, body = current_emulator(), _json_object()
    code = _find_code(emulator, body)
    msisdn = _msisdn(body.get("msisdn"))
    c2b_request = _c2b_request(emulator, code, msisdn)
    payment = c2b_service.pay(emulator, c2b_request, emulator.scenario_for(msisdn))
    view = emulator.state.describe(payment.key, emulator.clock())
    if view is None:  # reset in between
        raise DarajaError(404, "emulator.not_found", f"No C2B payment {payment.trans_id}")
    return view


def _c2b_request(emulator: Emulator, code: QrCode, msisdn: str) -> C2BRequest:
    """What the scan pays: Amount to CPI with RefNo as the account number. Only PB and BG
    codes, to a shortcode the emulator keeps books for (as /simulate's ShortCode)."""
    command = C2B_COMMANDS.get(code.trx_code)
    if command is None:
        problem = f"A {code.trx_code} code is not paid by C2B; only PB and BG codes are"
        raise _bad_request(problem, "emulator.not_payable")
    if emulator.config.organization(code.cpi) is None:
        problem = f"CPI {code.cpi} is not a shortcode the emulator keeps books for"
        raise _bad_request(problem, "emulator.not_payable")
    return C2BRequest(
        version="v2",  # the simulate path's version changes nothing; the registration's counts
        shortcode=code.cpi,
        command_id=command,
        amount=code.amount,
        msisdn=msisdn,
        bill_ref_number=code.ref_no,
    )


def _find_code(emulator: Emulator, body: dict[str, Any]) -> QrCode:
    codes = emulator.state.qr_codes()  # newest first
    if "payload" in body:
        found = next((c for c in codes if c.payload == body["payload"]), None)
        wanted = "that payload"
    elif "ref_no" in body and "cpi" in body:
        ref_no, cpi = str(body["ref_no"]), str(body["cpi"])
        found = next((c for c in codes if (c.ref_no, c.cpi) == (ref_no, cpi)), None)
        wanted = f"RefNo {ref_no} and CPI {cpi}"
    else:
        raise _bad_request("Name the code: `payload`, or `ref_no` and `cpi`")
    if found is None:
        raise DarajaError(404, "emulator.not_found", f"No QR code with {wanted}")
    return found


def _msisdn(value: Any) -> str:
    try:
        return fields.msisdn(value, "msisdn")
    except DarajaError:
        raise _bad_request("`msisdn`: a 12-digit 2547…/2541… number") from None


def _json_object() -> dict[str, Any]:
    try:
        body = json.loads(request.get_data())
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise _bad_request("The body must be a JSON object")
    return body


def _bad_request(problem: str, code: str = "emulator.bad_request") -> DarajaError:
    return DarajaError(400, code, problem)
