"""Helpers for the Dynamic QR tests: request factories, the generate and control calls over HTTP,
QR's error envelope and a PNG chunk reader (no image library)."""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any

import requests

from .c2b_support import SHORTCODE
from .support import REQUEST_ID, CallbackReceiver, Daraja, sample

GENERATE = "/mpesa/qrcode/v1/generate"
VALIDATION, CONFIRMATION = "/hooks/c2b/validation", "/hooks/c2b/confirmation"


def make_qr_body(**overrides: Any) -> dict[str, Any]:
    """The docs request sample (BG to till 373132, Amount a number, Size a string); a field
    overridden with `...` is left out."""
    body: dict[str, Any] = sample("qrcode_request_daraja-docs.json")
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not ...}


def generate(daraja: Daraja, **overrides: Any) -> requests.Response:
    url = f"{daraja.server.url}{GENERATE}"
    return daraja.http.post(url, json=make_qr_body(**overrides), headers=daraja.headers)


def generated(daraja: Daraja, **overrides: Any) -> bytes:
    """The PNG of a code generated with these fields."""
    response = generate(daraja, **overrides)
    assert response.status_code == 200, response.text
    return base64.b64decode(response.json()["QRCode"], validate=True)


def control(daraja: Daraja, method: str, path: str, **kwargs: Any) -> requests.Response:
    return daraja.http.request(method, f"{daraja.server.url}/_emulator{path}", **kwargs)


def codes(daraja: Daraja, **params: str) -> list[dict[str, Any]]:
    response = control(daraja, "GET", "/qr-codes", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def qr_error(response: requests.Response) -> tuple[int, str, str]:
    """(HTTP status, errorCode, errorMessage), checking the sample's envelope."""
    body = response.json()
    assert list(body) == list(sample("qrcode_error_400_invalid_trxcode_jwambugu.json"))
    assert REQUEST_ID.fullmatch(body["requestId"])
    return response.status_code, body["errorCode"], body["errorMessage"]


def png_chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of each chunk, checking the signature and every CRC."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, offset = [], 8
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind, data = png[offset + 4 : offset + 8], png[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", png[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + data)
        chunks.append((kind, data))
        offset += 12 + length
    return chunks


def register_urls(daraja: Daraja, receiver: CallbackReceiver) -> None:
    body = {
        "ShortCode": SHORTCODE,
        "ResponseType": "Completed",
        "ConfirmationURL": receiver.url_for(CONFIRMATION),
        "ValidationURL": receiver.url_for(VALIDATION),
    }
    url = f"{daraja.server.url}/mpesa/c2b/v2/registerurl"
    assert daraja.http.post(url, json=body, headers=daraja.headers).status_code == 200


def pay(daraja: Daraja, **body: Any) -> dict[str, Any]:
    response = control(daraja, "POST", "/qr-codes/pay", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())
