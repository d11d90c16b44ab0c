"""Dynamic QR (API.md §10) over real loopback HTTP: the SDK fixture's answer with a PNG of Size
pixels showing the code's payload, QR's own 400s, the token guard, and the control API that
lists codes and pays a scanned PB/BG code by C2B to the shortcode's registered URLs."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from typing import Any

import pytest

from daraja_emulator.products import qr_code

from .c2b_support import PAYER, SHORTCODE
from .qr_support import (
    CONFIRMATION,
    GENERATE,
    VALIDATION,
    codes,
    control,
    generate,
    generated,
    make_qr_body,
    pay,
    png_chunks,
    qr_error,
    register_urls,
)
from .support import CallbackReceiver, Daraja, sample

# --- generate --------------------------------------------------------------------------------


def test_the_docs_sample_answers_the_sdk_fixtures_keys_and_types(daraja: Daraja) -> None:
    response = generate(daraja)
    body, fixture = response.json(), sample("qrcode_response_jwambugu.json")
    assert response.status_code == 200
    assert list(body) == list(fixture) == ["ResponseCode", "ResponseDescription", "QRCode"]
    assert {k: type(v) for k, v in body.items()} == {k: type(v) for k, v in fixture.items()}
    assert body["ResponseCode"] == "00"
    assert body["ResponseDescription"] == "The service request is processed successfully."
    assert base64.b64decode(body["QRCode"], validate=True)[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("size", ["300", 300, "500", 128])
def test_the_image_is_a_png_of_size_pixels_square(daraja: Daraja, size: Any) -> None:
    chunks = png_chunks(generated(daraja, Size=size))
    kind, header = chunks[0]
    assert kind == b"IHDR"
    assert struct.unpack(">II", header[:8]) == (int(size), int(size))
    assert [kind for kind, _ in chunks][-1] == b"IEND"


def test_the_image_shows_the_payloads_modules(daraja: Daraja) -> None:
    png = generated(daraja, Size="300")
    payload = codes(daraja)[0]["payload"]
    matrix = qr_code.modules(payload)
    chunks = png_chunks(png)
    assert chunks[0][1][8:] == bytes([8, 0, 0, 0, 0])  # 8-bit greyscale
    raw = zlib.decompress(b"".join(data for kind, data in chunks if kind == b"IDAT"))
    rows = [raw[y * 301 : (y + 1) * 301] for y in range(300)]
    assert {row[0] for row in rows} == {0}  # filter "None": the bytes are the pixels
    count = len(matrix)

    def dark(i: int, j: int) -> int:  # the pixel at the centre of module (row i, column j)
        return int(rows[int((i + 0.5) * 300 / count)][1 + int((j + 0.5) * 300 / count)] == 0)

    assert [tuple(dark(i, j) for j in range(count)) for i in range(count)] == matrix


@pytest.mark.parametrize(
    "overrides",
    [
        {"Amount": "10", "Size": 300},  # string Amount, number Size
        {"Amount": 10.0, "CPI": 373132},  # a Go SDK's float64; a number CPI
        {"TrxCode": "PB", "CPI": SHORTCODE, "RefNo": 12345},  # a number RefNo, taken as text
        {"TrxCode": "SM", "CPI": PAYER},
        {"TrxCode": "SB", "CPI": int(PAYER)},
        {"TrxCode": "WA", "CPI": "174379"},
        {"Extra": "ignored"},
    ],
)
def test_what_client_libraries_send_is_accepted(daraja: Daraja, overrides: dict[str, Any]) -> None:
    assert generate(daraja, **overrides).status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("MerchantName", ...),
        ("MerchantName", ""),
        ("MerchantName", "M" * 101),
        ("RefNo", ...),
        ("RefNo", None),
        ("RefNo", "R" * 21),  # it becomes the payment's BillRefNumber: 20 at most
        ("Amount", ...),
        ("Amount", 0),
        ("Amount", "10.5"),
        ("Amount", True),
        ("TrxCode", ...),
        ("TrxCode", "XX"),
        ("TrxCode", "bg"),
        ("TrxCode", 1),
        ("CPI", ...),
        ("CPI", "12"),
        ("CPI", "abc"),
        ("Size", ...),
        ("Size", ""),
        ("Size", "300px"),
        ("Size", "20"),  # fewer pixels than the code has modules
        ("Size", 2001),
    ],
)
def test_a_bad_or_missing_field_is_qrs_400(daraja: Daraja, field: str, value: Any) -> None:
    assert qr_error(generate(daraja, **{field: value})) == (
        400,
        "400",
        f"Bad Request - Invalid {field}",
    )
    assert codes(daraja) == []


@pytest.mark.parametrize(("trx_code", "cpi"), [("SM", SHORTCODE), ("PB", PAYER), ("BG", PAYER)])
def test_the_cpi_must_have_the_form_its_trx_code_names(
    daraja: Daraja, trx_code: str, cpi: str
) -> None:
    response = generate(daraja, TrxCode=trx_code, CPI=cpi)
    assert qr_error(response) == (400, "400", "Bad Request - Invalid CPI")


def test_an_invalid_trx_code_answers_the_sdk_fixture(daraja: Daraja) -> None:
    fixture = sample("qrcode_error_400_invalid_trxcode_jwambugu.json")
    status, code, message = qr_error(generate(daraja, TrxCode="ZZ"))
    assert (status, code, message) == (400, fixture["errorCode"], fixture["errorMessage"])


def test_a_wrong_content_type_is_the_first_field(daraja: Daraja) -> None:
    url = f"{daraja.server.url}{GENERATE}"
    headers = {**daraja.headers, "Content-Type": "text/plain"}
    response = daraja.http.post(url, data=json.dumps(make_qr_body()), headers=headers)
    assert qr_error(response) == (400, "400", "Bad Request - Invalid MerchantName")


@pytest.mark.parametrize(
    ("authorization", "expected"),
    [
        (None, (401, "401.002.01", "Error Occurred - Invalid Access Token - ")),
        ("Bearer nope", (401, "401.002.01", "Error Occurred - Invalid Access Token - nope")),
        ("Basic abc", (404, "404.001.04", "Invalid Authentication Header")),
    ],
)
def test_the_bearer_token_is_required(
    daraja: Daraja, authorization: str | None, expected: tuple[int, str, str]
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    url = f"{daraja.server.url}{GENERATE}"
    response = daraja.http.post(url, json=make_qr_body(), headers=headers)
    body = response.json()
    assert (response.status_code, body["errorCode"], body["errorMessage"]) == expected
    assert codes(daraja) == []


# --- the control API -------------------------------------------------------------------------


def test_codes_are_listed_newest_first_with_their_payload(daraja: Daraja) -> None:
    generate(daraja)
    generate(daraja, RefNo="INV-2", Amount="250", TrxCode="PB", CPI=SHORTCODE)
    newest, oldest = codes(daraja)
    created = daraja.server.emulator.clock()
    assert newest == {
        "payload": "daraja-emulator:qr?TrxCode=PB&CPI=600984&RefNo=INV-2&Amount=250"
        "&MerchantName=TEST%20SUPERMARKET",
        "merchant_name": "TEST SUPERMARKET",
        "ref_no": "INV-2",
        "amount": 250,
        "trx_code": "PB",
        "cpi": SHORTCODE,
        "created_at": created,
    }
    assert (oldest["ref_no"], oldest["trx_code"], oldest["cpi"]) == ("Invoice Test", "BG", "373132")
    assert codes(daraja, ref_no="INV-2") == [newest]
    assert codes(daraja, ref_no="nothing") == []


def test_paying_a_paybill_code_confirms_to_the_registered_url(
    daraja: Daraja, receiver: CallbackReceiver
) -> None:
    register_urls(daraja, receiver)
    generate(daraja, TrxCode="PB", CPI=SHORTCODE, RefNo="INV-42", Amount=250)
    [code] = codes(daraja)
    payment = pay(daraja, payload=code["payload"], msisdn=PAYER)
    assert (payment["product"], payment["state"]) == ("c2b", "pending")
    settled = control(daraja, "POST", f"/c2b/payments/{payment['trans_id']}/settle")
    assert settled.status_code == 200, settled.text
    assert settled.json()["state"] == "completed"
    assert [r["path"] for r in receiver.received] == [VALIDATION, CONFIRMATION]
    confirmation = json.loads(receiver.received[1]["text"])
    assert confirmation["TransactionType"] == "Pay Bill"
    assert confirmation["TransID"] == payment["trans_id"]
    assert confirmation["BusinessShortCode"] == SHORTCODE
    assert (confirmation["BillRefNumber"], confirmation["TransAmount"]) == ("INV-42", "250.00")
    assert confirmation["MSISDN"] == "2547 ***** 149"  # the v2 registration's format


def test_a_buy_goods_code_is_found_by_ref_no_and_cpi(daraja: Daraja) -> None:
    generate(daraja, TrxCode="BG", CPI=SHORTCODE, RefNo="TILL-1", Amount="75")
    payment = pay(daraja, ref_no="TILL-1", cpi=int(SHORTCODE), msisdn=int(PAYER))
    assert payment["request"] == {
        "version": "v2",
        "shortcode": SHORTCODE,
        "command_id": "CustomerBuyGoodsOnline",
        "amount": 75,
        "msisdn": PAYER,
        "bill_ref_number": "TILL-1",
    }
    assert payment["state"] == "completed"  # nothing registered: completes at once (§4.2)
    books = control(daraja, "GET", f"/accounts/{SHORTCODE}").json()
    assert books["accounts"]["Utility Account"] == "1000075.00"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"payload": "daraja-emulator:qr?TrxCode=PB", "msisdn": PAYER}, 404, "emulator.not_found"),
        ({"ref_no": "INV-9", "cpi": "600111", "msisdn": PAYER}, 404, "emulator.not_found"),
        ({"ref_no": "SEND", "cpi": PAYER, "msisdn": PAYER}, 400, "emulator.not_payable"),
        ({"ref_no": "DOCS", "cpi": "373132", "msisdn": PAYER}, 400, "emulator.not_payable"),
        ({"ref_no": "INV-9", "cpi": SHORTCODE, "msisdn": "07083"}, 400, "emulator.bad_request"),
        ({"ref_no": "INV-9", "msisdn": PAYER}, 400, "emulator.bad_request"),
    ],
)
def test_a_code_that_cannot_be_paid_is_refused(
    daraja: Daraja, body: dict[str, Any], status: int, code: str
) -> None:
    generate(daraja, TrxCode="PB", CPI=SHORTCODE, RefNo="INV-9")
    generate(daraja, TrxCode="SM", CPI=PAYER, RefNo="SEND")
    generate(daraja, RefNo="DOCS")  # BG to till 373132: not a shortcode with books
    response = control(daraja, "POST", "/qr-codes/pay", json=body)
    assert (response.status_code, response.json()["errorCode"]) == (status, code)
    assert control(daraja, "GET", "/c2b/payments").json() == []


def test_reset_forgets_the_codes(daraja: Daraja) -> None:
    generate(daraja, TrxCode="PB", CPI=SHORTCODE)
    [code] = codes(daraja)
    assert control(daraja, "POST", "/reset").status_code == 200
    assert codes(daraja) == []
    response = control(daraja, "POST", "/qr-codes/pay", json={**code, "msisdn": PAYER})
    assert response.status_code == 404
