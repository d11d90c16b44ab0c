"""Transaction Status: by receipt or OriginatorConversationID, from what the emulator issued
(API.md §8)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .results_support import (
    B2C_V3,
    ORG,
    STATUS,
    accepted,
    make_b2c_body,
    make_credential,
    make_status_body,
    paid_stk_receipt,
    parameters,
    references,
    result_of,
)
from .support import error_of, sample

MERCHANT = "174379"


def status_of(client: Any, bearer: dict[str, str], **overrides: Any) -> dict[str, Any]:
    result: dict[str, Any] = result_of(client, bearer, STATUS, make_status_body(**overrides))
    return dict(result["Result"])


def b2c_receipt(client: Any, bearer: dict[str, str], **overrides: Any) -> str:
    result = result_of(client, bearer, B2C_V3, make_b2c_body(**overrides))
    return str(result["Result"]["TransactionID"])


def test_acknowledgement_matches_the_docs(emulator_client: Any, bearer: dict[str, str]) -> None:
    ack = accepted(emulator_client, bearer, STATUS, make_status_body())
    docs = sample("transactionstatus_response_daraja-docs.json")
    assert list(ack) == list(docs)
    assert ack["ResponseDescription"] == docs["ResponseDescription"]


def test_a_b2c_receipt_has_the_docs_shape(emulator_client: Any, bearer: dict[str, str]) -> None:
    receipt = b2c_receipt(emulator_client, bearer, Amount=300)
    result = status_of(emulator_client, bearer, TransactionID=receipt)
    docs = sample("transactionstatus_result_success_daraja-docs.json")["Result"]
    assert list(result) == list(docs)  # the docs list the keys alphabetically
    assert (result["ResultType"], result["ResultCode"], result["ResultDesc"]) == (
        docs["ResultType"],
        docs["ResultCode"],
        docs["ResultDesc"],
    )
    assert result["TransactionID"] == "SGA0000000"
    ours = result["ResultParameters"]["ResultParameter"]
    theirs = docs["ResultParameters"]["ResultParameter"]
    theirs[1]["Key"] = "CreditPartyName"  # the current docs repeat DebitPartyName there
    assert [(i["Key"], type(i.get("Value"))) for i in ours] == [
        (i["Key"], type(i.get("Value"))) for i in theirs
    ]
    assert references(result) == {"Occasion": "OK"}
    values = parameters(result)
    assert values["DebitPartyName"] == "600992 - Safaricom Daraja 992"
    assert values["CreditPartyName"] == "254705912645 - NICHOLAS JOHN SONGOK"
    assert values["OriginatorConversationID"] == "600992_Test_32et3241ed8yu"
    assert values["DebitAccountType"] == "Utility Account"
    assert values["DebitPartyCharges"] == "Fee For B2C Payment|KES|5.00"
    assert values["ReasonType"] == "Business Payment to Customer via API"
    assert values["TransactionStatus"] == "Completed"
    assert values["Amount"] == "300"
    assert values["ReceiptNo"] == receipt
    assert values["InitiatedTime"] == values["FinalisedTime"] == "20240710091526"


def test_a_b2c_request_is_found_by_its_originator_conversation_id(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    receipt = b2c_receipt(emulator_client, bearer, OriginatorConversationID="payout-42")
    body = make_status_body(OriginalConversationID="payout-42")
    del body["TransactionID"]
    result = result_of(emulator_client, bearer, STATUS, body)["Result"]
    assert parameters(result)["ReceiptNo"] == receipt


def test_an_stk_receipt_is_found_by_the_merchant(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    receipt = paid_stk_receipt(emulator_client, bearer, Amount=25)
    values = parameters(status_of(emulator_client, bearer, TransactionID=receipt, PartyA=MERCHANT))
    assert values["DebitPartyName"] == "254708374149 - John Doe"
    assert values["CreditPartyName"] == "174379 - Safaricom Daraja 379"
    assert values["ReasonType"] == "Pay Bill Online"
    assert values["Amount"] == "25"


def test_the_docs_sample_request_spellings_are_accepted(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    """ "Command ID"/"Transaction ID" with spaces, as the docs sample writes them."""
    receipt = paid_stk_receipt(emulator_client, bearer)
    body = sample("transactionstatus_request_daraja-docs.json")
    body.update(
        {
            "Transaction ID": receipt,
            "Initiator": "testapi",
            "SecurityCredential": make_credential(),
            "PartyA": MERCHANT,
            "ResultURL": "http://myservice:8080/transactionstatus/result",
        }
    )
    result = result_of(emulator_client, bearer, STATUS, body)["Result"]
    assert parameters(result)["ReceiptNo"] == receipt


@pytest.mark.parametrize(
    "overrides",
    [
        {"TransactionID": "SGA1234567"},  # never issued
        {"PartyA": "600000"},  # issued, but 600000 is no party to it
    ],
)
def test_an_unknown_receipt_fails_with_2032(
    emulator_client: Any, bearer: dict[str, str], overrides: dict[str, Any]
) -> None:
    receipt = b2c_receipt(emulator_client, bearer)
    result = status_of(emulator_client, bearer, **{"TransactionID": receipt, **overrides})
    assert (result["ResultCode"], result["ResultDesc"]) == (
        2032,
        "The transaction receipt number does not exist.",
    )
    assert "ResultParameters" not in result
    assert references(result) == {"Occasion": "OK"}


def test_a_failed_payout_has_no_receipt_to_find(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    b2c_receipt(emulator_client, bearer, OriginatorConversationID="p-1", Amount=5)  # fails: 2
    body = make_status_body(TransactionID=None, OriginalConversationID="p-1")
    assert result_of(emulator_client, bearer, STATUS, body)["Result"]["ResultCode"] == 2032


def test_a_wrong_credential_fails_with_2001(emulator_client: Any, bearer: dict[str, str]) -> None:
    result = status_of(emulator_client, bearer, SecurityCredential=make_credential("x"))
    assert result["ResultCode"] == 2001


def test_an_occasion_less_query_has_a_value_less_reference(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    result = status_of(emulator_client, bearer, Occasion=None)
    assert result["ReferenceData"] == {"ReferenceItem": {"Key": "Occasion"}}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"Initiator": None}, "Initiator"),
        ({"CommandID": "TransactionStatus"}, "CommandID"),
        ({"TransactionID": None}, "TransactionID"),  # and no OriginalConversationID
        ({"TransactionID": "short"}, "TransactionID"),
        ({"TransactionID": "sga1234567"}, "TransactionID"),
        ({"PartyA": "x"}, "PartyA"),
        ({"IdentifierType": "3"}, "IdentifierType"),
        ({"ResultURL": None}, "ResultURL"),
        ({"QueueTimeOutURL": "https://example.com/exec"}, "QueueTimeOutURL"),
        ({"Remarks": "x" * 101}, "Remarks"),
        ({"Occasion": "x" * 101}, "Occasion"),
    ],
)
def test_invalid_fields_are_400_naming_the_field(
    emulator_client: Any, bearer: dict[str, str], overrides: dict[str, Any], field: str
) -> None:
    response = emulator_client.post(STATUS, json=make_status_body(**overrides), headers=bearer)
    assert error_of(response) == (400, "400.002.02", f"Bad Request - Invalid {field}")


def test_an_invalid_token_is_400_003_01(emulator_client: Any) -> None:
    headers = {"Authorization": "Bearer stale"}
    response = emulator_client.post(STATUS, json=make_status_body(), headers=headers)
    assert error_of(response) == (400, "400.003.01", "Invalid Access Token")


def test_results_are_plain_json_text(emulator_client: Any, bearer: dict[str, str]) -> None:
    ack = accepted(emulator_client, bearer, STATUS, make_status_body(PartyA=ORG))
    record = emulator_client.post(f"/_emulator/results/{ack['ConversationID']}/settle")
    assert (
        json.loads(record.get_json()["body"])["Result"]["ConversationID"] == ack["ConversationID"]
    )
