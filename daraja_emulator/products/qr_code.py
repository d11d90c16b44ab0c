"""A generated Dynamic QR code (API.md §10): what it asks the payer for, the text it encodes and
its PNG image. Pure functions; segno encodes, the PNG is written here."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import segno

# TrxCode: BG buy goods, WA agent withdrawal, PB paybill, SM send money, SB send to business.
TRX_CODES = ("BG", "WA", "PB", "SM", "SB")
MSISDN_CPI = frozenset({"SM", "SB"})  # SB: "Business number CPI in MSISDN format"
PAYLOAD_PREFIX = "daraja-emulator:qr?"  # ours: Daraja's own QR content is not published
QUIET_ZONE = 4  # modules of light border the QR standard asks for
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class QrCode:
    """A code as generated: its request fields and the payload its image encodes."""

    merchant_name: str
    ref_no: str
    amount: int
    trx_code: str
    cpi: str
    created_at: float

    @property
    def payload(self) -> str:
        """The text the image encodes: a URI whose query carries the request's fields."""
        fields = {
            "TrxCode": self.trx_code,
            "CPI": self.cpi,
            "RefNo": self.ref_no,
            "Amount": str(self.amount),
            "MerchantName": self.merchant_name,
        }
        return PAYLOAD_PREFIX + urlencode(fields, quote_via=quote)

    def to_json(self) -> dict[str, Any]:
        return {
            "payload": self.payload,
            "merchant_name": self.merchant_name,
            "ref_no": self.ref_no,
            "amount": self.amount,
            "trx_code": self.trx_code,
            "cpi": self.cpi,
            "created_at": self.created_at,
        }


def modules(payload: str) -> list[tuple[int, ...]]:
    """The QR symbol of `payload` (error correction M) with its quiet zone: rows of 1 (dark)
    and 0 (light), as many rows as columns."""
    symbol = segno.make(payload, error="m", micro=False)
    return [tuple(row) for row in symbol.matrix_iter(border=QUIET_ZONE)]


def render_png(matrix: list[tuple[int, ...]], size: int) -> bytes:
    """`matrix` as a PNG of `size` by `size` 8-bit greyscale pixels (size >= len(matrix)).

    Daraja's images are exactly Size pixels square, which whole-number module scaling cannot
    give, so each module gets ⌊size/n⌋ or ⌈size/n⌉ pixels — one pixel of difference, as in any
    resampled image, which scanners read.
    """
    count = len(matrix)
    if size < count:
        raise ValueError(f"{size} pixels cannot show {count} modules")
    columns = [x * count // size for x in range(size)]
    lines = [b"\x00" + bytes(0 if row[c] else 255 for c in columns) for row in matrix]
    raw = b"".join(lines[y * count // size] for y in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)  # greyscale, no interlace
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    checksum = zlib.crc32(kind + data)
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", checksum)
