"""The hosted checkout's ways to pay without a prompt, for an M-Pesa account: Paybill/Till
from the M-Pesa menu (completed by the C2B confirmation naming the session's account number),
and a Dynamic QR code (POST /mpesa/qrcode/v1/generate, API.md §10) the M-Pesa app scans."""

from __future__ import annotations

import base64
import binascii
import logging
from collections import OrderedDict
from threading import Lock

from apg.checkout.view import Paybill
from apg.extensions import db
from apg.processors.mpesa.c2b_registrations import C2BRegistration
from apg.processors.mpesa.processor import MpesaProcessor

log = logging.getLogger(__name__)

QR_PATH = "/mpesa/qrcode/v1/generate"
QR_SIZE = 300  # pixels, square (Daraja's `Size`, a string)
MERCHANT_NAME_LENGTH = 22  # the docs are silent; a name longer than a phone's line is cut
_CACHE_SIZE = 256


def paybill(processor: MpesaProcessor, account_id: str, account_number: str) -> Paybill | None:
    """How a customer pays this account from the menu, naming `account_number`; None while its
    C2B URLs are not registered (the payment would never reach us)."""
    if db.session.get(C2BRegistration, account_id) is None:
        return None
    creds = processor.credentials(account_id)
    if creds.shortcode.transaction_type == "CustomerBuyGoodsOnline":
        return None  # a Buy Goods payment carries no account number: nothing names the session
    return Paybill("paybill", creds.shortcode.business_short_code, account_number)


class QrCodes:
    """Dynamic QR PNGs, asked of Daraja once per session (an LRU of recent ones): the code
    for the same payment never changes, and a page may be reloaded many times."""

    def __init__(self, processor: MpesaProcessor) -> None:
        self.processor = processor
        self._made: OrderedDict[tuple[str, str, int], bytes] = OrderedDict()
        self._lock = Lock()

    def png(self, account_id: str, merchant_name: str, ref_no: str, amount: int) -> bytes | None:
        """The PNG for paying `amount` (minor units) to the account naming `ref_no`; None
        when Daraja would not make one (logged: the page then offers the other ways)."""
        key = (account_id, ref_no, amount)
        with self._lock:
            if key in self._made:
                self._made.move_to_end(key)
                return self._made[key]
        creds = self.processor.credentials(account_id)
        till = creds.shortcode.transaction_type == "CustomerBuyGoodsOnline"
        payload = {
            "MerchantName": merchant_name[:MERCHANT_NAME_LENGTH],
            "RefNo": ref_no,
            "Amount": amount // 100,
            "TrxCode": "BG" if till else "PB",
            "CPI": creds.shortcode.party_b if till else creds.shortcode.business_short_code,
            "Size": str(QR_SIZE),
        }
        db.session.commit()  # hold no transaction while Daraja answers
        answer = self.processor.call(creds, QR_PATH, payload)
        png = _png_of(answer)
        if png is None:
            log.warning("account %s: no Dynamic QR code: %r", account_id, answer)
            return None
        with self._lock:
            self._made[key] = png
            while len(self._made) > _CACHE_SIZE:
                self._made.popitem(last=False)
        return png


def _png_of(answer: object) -> bytes | None:
    if not isinstance(answer, dict) or str(answer.get("ResponseCode")) != "00":
        return None
    try:
        png = base64.b64decode(str(answer.get("QRCode") or ""), validate=True)
    except (binascii.Error, ValueError):
        return None
    return png if png.startswith(b"\x89PNG\r\n\x1a\n") else None
