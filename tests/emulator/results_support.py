"""Helpers for the initiator-API tests (B2C, B2B, balance, status, reversal): credentials,
request factories, Result parsing and shape comparison with the Daraja samples."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from daraja_emulator.defaults import SANDBOX_INITIATOR, SANDBOX_INITIATOR_PASSWORD

from .support import StubHttp, make_stk_body

CERTIFICATE = Path(__file__).resolve().parents[2] / "daraja_emulator" / "keys" / "emulator.cer"
ORG = "600992"  # a sandbox shortcode: "Safaricom Daraja 992"
OTHER_ORG = "600977"
RECIPIENT = "254705912645"  # the sandbox's NICHOLAS JOHN SONGOK
RESULT_URL = "https://example.com/results/result"
TIMEOUT_URL = "https://example.com/results/timeout"
B2C_V3 = "/mpesa/b2c/v3/paymentrequest"
B2C_V1 = "/mpesa/b2c/v1/paymentrequest"
B2B = "/mpesa/b2b/v1/paymentrequest"
BALANCE = "/mpesa/accountbalance/v1/query"
STATUS = "/mpesa/transactionstatus/v1/query"
REVERSAL = "/mpesa/reversal/v1/request"
STK = "/mpesa/stkpush/v1/processrequest"
# AG_ + EAT date + _ + 20 hex starting 2010 (API.md §0.1).
CONVERSATION_ID = r"AG_[0-9]{8}_2010[0-9a-f]{16}"


def make_credential(
    password: str = SANDBOX_INITIATOR_PASSWORD, certificate: Path = CERTIFICATE
) -> str:
    """SecurityCredential as API.md §15.2 builds it: RSA PKCS#1 v1.5 with the certificate."""
    public_key = x509.load_pem_x509_certificate(certificate.read_bytes()).public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    encrypted = public_key.encrypt(password.encode(), padding.PKCS1v15())
    return base64.b64encode(encrypted).decode("ascii")


def foreign_credential(password: str = SANDBOX_INITIATOR_PASSWORD) -> str:
    """A credential made for another RSA key (like one made with Safaricom's certificate)."""
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    return base64.b64encode(other.encrypt(password.encode(), padding.PKCS1v15())).decode()


def make_b2c_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "OriginatorConversationID": "600992_Test_32et3241ed8yu",
        "InitiatorName": SANDBOX_INITIATOR,
        "SecurityCredential": make_credential(),
        "CommandID": "BusinessPayment",
        "Amount": "10",
        "PartyA": ORG,
        "PartyB": RECIPIENT,
        "Remarks": "remarked",
        "QueueTimeOutURL": TIMEOUT_URL,
        "ResultURL": RESULT_URL,
        "Occassion": "ChristmasPay",
    }
    body.update(overrides)
    return body


def make_b2b_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Initiator": SANDBOX_INITIATOR,
        "SecurityCredential": make_credential(),
        "CommandID": "BusinessPayBill",
        "SenderIdentifierType": "4",
        "RecieverIdentifierType": "4",
        "Amount": "239",
        "PartyA": ORG,
        "PartyB": OTHER_ORG,
        "AccountReference": "353353",
        "Requester": "254700000000",
        "Remarks": "OK",
        "QueueTimeOutURL": TIMEOUT_URL,
        "ResultURL": RESULT_URL,
    }
    body.update(overrides)
    return body


def make_balance_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Initiator": SANDBOX_INITIATOR,
        "SecurityCredential": make_credential(),
        "CommandID": "AccountBalance",
        "PartyA": ORG,
        "IdentifierType": "4",
        "Remarks": "ok",
        "QueueTimeOutURL": TIMEOUT_URL,
        "ResultURL": RESULT_URL,
    }
    body.update(overrides)
    return body


def make_status_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Initiator": SANDBOX_INITIATOR,
        "SecurityCredential": make_credential(),
        "CommandID": "TransactionStatusQuery",
        "TransactionID": "SGA0000000",
        "PartyA": ORG,
        "IdentifierType": "4",
        "ResultURL": RESULT_URL,
        "QueueTimeOutURL": TIMEOUT_URL,
        "Remarks": "OK",
        "Occasion": "OK",
    }
    body.update(overrides)
    return body


def make_reversal_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Initiator": SANDBOX_INITIATOR,
        "SecurityCredential": make_credential(),
        "CommandID": "TransactionReversal",
        "TransactionID": "SGA0000000",
        "Amount": "10",
        "ReceiverParty": "174379",
        "RecieverIdentifierType": "11",
        "ResultURL": RESULT_URL,
        "QueueTimeOutURL": TIMEOUT_URL,
        "Remarks": "Payment reversal",
    }
    body.update(overrides)
    return body


def accepted(client: Any, bearer: dict[str, str], path: str, body: dict[str, Any]) -> Any:
    """POST an initiator-API request that must be acknowledged; the acknowledgement."""
    response = client.post(path, json=body, headers=bearer)
    assert response.status_code == 200, response.get_json()
    ack = response.get_json()
    assert ack["ResponseCode"] == "0"
    return ack


def settle(client: Any, identifier: str) -> dict[str, Any]:
    """Deliver everything a request owes now; the first callback's delivery record."""
    response = client.post(f"/_emulator/results/{identifier}/settle")
    assert response.status_code == 200, response.get_json()
    return dict(response.get_json())


def result_of(client: Any, bearer: dict[str, str], path: str, body: dict[str, Any]) -> Any:
    """POST, settle at once, and return the parsed {"Result": …} that was delivered."""
    ack = accepted(client, bearer, path, body)
    return json.loads(settle(client, ack["ConversationID"])["body"])


def posted_to(stub_http: StubHttp, url: str) -> list[Any]:
    """Parsed bodies the emulator POSTed to `url`, in order."""
    return [json.loads(post["data"]) for post in stub_http.posts if post["url"] == url]


def parameters(result: dict[str, Any]) -> dict[str, Any]:
    """ResultParameters as {Key: Value} (list or single object; value-less -> None)."""
    return _items(result.get("ResultParameters", {}).get("ResultParameter", []))


def references(result: dict[str, Any]) -> dict[str, Any]:
    return _items(result.get("ReferenceData", {}).get("ReferenceItem", []))


def value_types(items: dict[str, Any]) -> dict[str, str]:
    """Each item's JSON type: "int", "float", "str" or "NoneType" (value-less)."""
    return {key: type(value).__name__ for key, value in items.items()}


def accounts(client: Any, shortcode: str) -> dict[str, str]:
    response = client.get(f"/_emulator/accounts/{shortcode}")
    assert response.status_code == 200, response.get_json()
    return dict(response.get_json()["accounts"])


def set_accounts(client: Any, shortcode: str, **balances: str) -> None:
    body = {name.replace("_", " "): amount for name, amount in balances.items()}
    response = client.put(f"/_emulator/accounts/{shortcode}", json=body)
    assert response.status_code == 200, response.get_json()


def script(client: Any, party: str, **scenario: Any) -> None:
    response = client.put(f"/_emulator/scenarios/{party}", json=scenario)
    assert response.status_code == 200, response.get_json()


def _items(raw: Any) -> dict[str, Any]:
    items = raw if isinstance(raw, list) else [raw]
    return {item["Key"]: item.get("Value") for item in items}


def paid_stk_receipt(client: Any, bearer: dict[str, str], **overrides: Any) -> str:
    """Push to the sandbox merchant 174379, settle it as paid, return its MpesaReceiptNumber."""
    response = client.post(STK, json=make_stk_body(**overrides), headers=bearer)
    assert response.status_code == 200, response.get_json()
    checkout_id = response.get_json()["CheckoutRequestID"]
    record = client.post(f"/_emulator/stkpush/{checkout_id}/settle").get_json()
    items = json.loads(record["body"])["Body"]["stkCallback"]["CallbackMetadata"]["Item"]
    return str(next(i["Value"] for i in items if i["Name"] == "MpesaReceiptNumber"))
