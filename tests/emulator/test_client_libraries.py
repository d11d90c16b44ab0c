"""What existing Daraja client libraries send (CLIENTS.md) works unchanged against the emulator."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from daraja_emulator import EmulatorServer

from .results_support import foreign_credential, make_credential
from .support import KEY, SECRET, CallbackReceiver

HOOKS = "/hooks/daraja"  # one listener for everything, as many small apps have


def library_call(
    http: requests.Session, server: EmulatorServer, path: str, body: dict[str, Any]
) -> requests.Response:
    """What many libraries do: a fresh token before every call, lower-case header names."""
    token = http.get(
        f"{server.url}/oauth/v1/generate",
        params={"grant_type": "client_credentials"},
        auth=(KEY, SECRET),
    ).json()["access_token"]
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    return http.post(f"{server.url}{path}", data=json.dumps(body), headers=headers, timeout=10)


def hook(receiver: CallbackReceiver) -> str:
    return receiver.url.rsplit("/callbacks/", 1)[0] + HOOKS


LIBRARY_REQUESTS = [
    pytest.param(
        "/mpesa/b2c/v1/paymentrequest",
        {  # v1, Occasion, numbers, a credential made with Safaricom's certificate
            "InitiatorName": "testapi",
            "SecurityCredential": foreign_credential(),
            "CommandID": "BusinessPayment",
            "Amount": 100,
            "PartyA": 600992,
            "PartyB": 254708374149,
            "Remarks": "Test remarks",
            "Occasion": None,
        },
        id="b2c-v1-numbers-safaricom-certificate",
    ),
    pytest.param(
        "/mpesa/b2c/v3/paymentrequest",
        {  # v3 as the current docs write it, strings, Occassion, extra keys
            "OriginatorConversationID": "7d1f3a2e-lib-0001",
            "InitiatorName": "testapi",
            "SecurityCredential": make_credential(),
            "CommandID": "SalaryPayment",
            "Amount": "1",
            "PartyA": "600992",
            "PartyB": "254708374149",
            "Remarks": "Salary",
            "Occassion": "",
            "Passkey": "ignored",
        },
        id="b2c-v3-strings-extra-fields",
    ),
    pytest.param(
        "/mpesa/b2b/v1/paymentrequest",
        {  # the correct ReceiverIdentifierType spelling and numeric identifier types
            "Initiator": "testapi",
            "SecurityCredential": make_credential(),
            "CommandID": "BusinessPayBill",
            "SenderIdentifierType": 4,
            "ReceiverIdentifierType": 4,
            "Amount": 50,
            "PartyA": 600992,
            "PartyB": 600977,
            "AccountReference": "INV-1",
            "Requester": None,
            "Remarks": "paying",
        },
        id="b2b-receiver-spelling",
    ),
    pytest.param(
        "/mpesa/accountbalance/v1/query",
        {
            "Initiator": "testapi",
            "SecurityCredential": make_credential(),
            "CommandID": "AccountBalance",
            "PartyA": 600992,
            "IdentifierType": 4,
            "Remarks": "balance",
        },
        id="balance-numbers",
    ),
    pytest.param(
        "/mpesa/reversal/v1/request",
        {  # both spellings, as some libraries send to be safe; numbers
            "Initiator": "testapi",
            "SecurityCredential": make_credential(),
            "CommandID": "TransactionReversal",
            "TransactionID": "SGA1234567",
            "Amount": 10,
            "ReceiverParty": 174379,
            "RecieverIdentifierType": 11,
            "ReceiverIdentifierType": 11,
            "Remarks": "Reverse",
            "Occasion": None,
        },
        id="reversal-both-spellings",
    ),
]


@pytest.mark.parametrize(("path", "body"), LIBRARY_REQUESTS)
def test_a_library_request_is_accepted_and_its_result_arrives(
    http: requests.Session,
    live_emulator: EmulatorServer,
    receiver: CallbackReceiver,
    path: str,
    body: dict[str, Any],
) -> None:
    body = {**body, "QueueTimeOutURL": hook(receiver), "ResultURL": hook(receiver)}
    response = library_call(http, live_emulator, path, body)
    assert response.status_code == 200, response.text
    ack = response.json()
    assert ack["ResponseCode"] == "0"
    settled = http.post(f"{live_emulator.url}/_emulator/results/{ack['ConversationID']}/settle")
    assert settled.status_code == 200
    [received] = receiver.received
    assert received["path"] == HOOKS
    result = json.loads(received["text"])["Result"]
    assert result["ConversationID"] == ack["ConversationID"]
    assert str(result["ResultCode"]) != "2001"  # the initiator was accepted


def test_clients_depend_on_response_code_being_the_string_zero(
    http: requests.Session, live_emulator: EmulatorServer, receiver: CallbackReceiver
) -> None:
    path, body = LIBRARY_REQUESTS[0].values
    body = {**body, "QueueTimeOutURL": hook(receiver), "ResultURL": hook(receiver)}
    response = library_call(http, live_emulator, path, body)
    assert '"ResponseCode":"0"' in response.text.replace(" ", "")
