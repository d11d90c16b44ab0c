"""The books end to end over loopback HTTP: a payment in, a payout, a balance, a reversal."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from .results_support import make_b2c_body, make_balance_body, make_reversal_body
from .support import CallbackReceiver, Daraja

MERCHANT = "174379"


class Books:
    """Drives one merchant's money through the emulator's own HTTP API."""

    def __init__(self, daraja: Daraja, receiver: CallbackReceiver) -> None:
        self.daraja, self.receiver = daraja, receiver
        self.hook = receiver.url.rsplit("/callbacks/", 1)[0] + "/hooks/result"

    def request(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST an initiator-API request, settle it, return the Result it delivered."""
        body = {**body, "ResultURL": self.hook, "QueueTimeOutURL": self.hook}
        url = self.daraja.server.url
        ack = self.daraja.http.post(f"{url}{path}", json=body, headers=self.daraja.headers).json()
        record = self.daraja.http.post(
            f"{url}/_emulator/results/{ack['ConversationID']}/settle", timeout=30
        ).json()
        return dict(json.loads(record["body"])["Result"])

    def utility(self) -> Decimal:
        url = f"{self.daraja.server.url}/_emulator/accounts/{MERCHANT}"
        return Decimal(self.daraja.http.get(url).json()["accounts"]["Utility Account"])

    def balance_inquiry(self) -> dict[str, Decimal]:
        result = self.request("/mpesa/accountbalance/v1/query", make_balance_body(PartyA=MERCHANT))
        [item] = [
            p for p in result["ResultParameters"]["ResultParameter"] if p["Key"] == "AccountBalance"
        ]
        return {a.split("|")[0]: Decimal(a.split("|")[2]) for a in item["Value"].split("&")}


def test_payment_payout_balance_and_reversal_move_the_books(
    daraja: Daraja, receiver: CallbackReceiver
) -> None:
    books = Books(daraja, receiver)
    opening = books.utility()
    settled = daraja.control(daraja.push(Amount=500), "settle")
    items = json.loads(settled["body"])["Body"]["stkCallback"]["CallbackMetadata"]["Item"]
    receipt = next(i["Value"] for i in items if i["Name"] == "MpesaReceiptNumber")
    assert books.utility() == opening + 500

    payout = books.request(
        "/mpesa/b2c/v3/paymentrequest", make_b2c_body(PartyA=MERCHANT, Amount=2000)
    )
    assert payout["ResultCode"] == 0
    assert books.utility() == opening + 500 - 2000

    inquiry = books.balance_inquiry()
    assert inquiry["Utility Account"] == opening + 500 - 2000
    assert inquiry["Charges Paid Account"] == Decimal("-9.00")

    reversal = books.request(
        "/mpesa/reversal/v1/request",
        make_reversal_body(TransactionID=receipt, Amount=500, ReceiverParty=MERCHANT),
    )
    assert reversal["ResultCode"] == 0
    assert books.utility() == opening - 2000
    assert books.balance_inquiry()["Utility Account"] == opening - 2000
