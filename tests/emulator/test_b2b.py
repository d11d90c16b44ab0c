"""B2B payment requests: acknowledgement, validation, Results, ledger movement (API.md §6)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from .results_support import (
    B2B,
    CONVERSATION_ID,
    ORG,
    OTHER_ORG,
    accepted,
    accounts,
    make_b2b_body,
    make_credential,
    parameters,
    references,
    result_of,
    script,
    set_accounts,
    value_types,
)
from .support import REQUEST_ID, error_of, sample


def test_acknowledgement_matches_the_docs(emulator_client: Any, bearer: dict[str, str]) -> None:
    ack = accepted(emulator_client, bearer, B2B, make_b2b_body())
    docs = sample("b2b_response_daraja-docs.json")
    assert list(ack) == list(docs)
    assert ack["ResponseDescription"] == docs["ResponseDescription"]
    assert REQUEST_ID.fullmatch(ack["OriginatorConversationID"])
    assert re.fullmatch(CONVERSATION_ID, ack["ConversationID"])


def test_the_docs_sample_request_shape_is_accepted(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    """Its "Command ID" misprint is taken as CommandID; its URLs are plain http."""
    body = sample("b2b_request_businesspaybill_daraja-docs.json")
    body.update(
        PartyA=ORG,
        PartyB=OTHER_ORG,
        QueueTimeOutURL="http://0.0.0.0:8888/TimeOutListener.php",
        ResultURL="http://0.0.0.0:8888/ResultsListener.php",
    )
    assert accepted(emulator_client, bearer, B2B, body)


@pytest.mark.parametrize(
    "command",
    [
        "BusinessPayBill",
        "BusinessBuyGoods",
        "DisburseFundsToBusiness",
        "BusinessToBusinessTransfer",
        "BusinessPayToBulk",
    ],
)
def test_every_documented_command_pays(
    emulator_client: Any, bearer: dict[str, str], command: str
) -> None:
    result = result_of(emulator_client, bearer, B2B, make_b2b_body(CommandID=command))
    assert result["Result"]["ResultCode"] == "0"


def test_account_reference_is_optional_except_for_pay_bill(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    body = make_b2b_body(CommandID="BusinessBuyGoods", AccountReference=None)
    result = result_of(emulator_client, bearer, B2B, body)["Result"]
    assert references(result) == {
        "BillReferenceNumber": None,
        "QueueTimeoutURL": "https://internalsandbox.safaricom.co.ke/mpesa/b2bresults/v1/submit",
    }
    response = emulator_client.post(B2B, json=make_b2b_body(AccountReference=""), headers=bearer)
    assert error_of(response)[2] == "Bad Request - Invalid AccountReference"


def test_the_correct_receiver_spelling_is_accepted_too(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    body = make_b2b_body(ReceiverIdentifierType=4)
    del body["RecieverIdentifierType"]
    assert accepted(emulator_client, bearer, B2B, body)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("Initiator", None),
        ("SecurityCredential", None),
        ("CommandID", "BusinessPayment"),
        ("SenderIdentifierType", "2"),
        ("SenderIdentifierType", None),
        ("RecieverIdentifierType", "11"),
        ("Amount", "0"),
        ("PartyA", "2547"),
        ("PartyB", "254705912645"),
        ("AccountReference", "x" * 14),
        ("Requester", "0700000000"),
        ("Remarks", ""),
        ("Remarks", "x" * 101),
        ("QueueTimeOutURL", "https://example.com/cmd"),
        ("ResultURL", "ftp://example.com/result"),
        ("Occassion", "x" * 101),
    ],
)
def test_invalid_fields_are_400_naming_the_field(
    emulator_client: Any, bearer: dict[str, str], field: str, value: Any
) -> None:
    response = emulator_client.post(B2B, json=make_b2b_body(**{field: value}), headers=bearer)
    assert error_of(response) == (400, "400.002.02", f"Bad Request - Invalid {field}")


def test_an_invalid_token_is_404_001_03(emulator_client: Any) -> None:
    response = emulator_client.post(
        B2B, json=make_b2b_body(), headers={"Authorization": "Bearer x"}
    )
    assert error_of(response) == (404, "404.001.03", "Invalid Access Token")


def test_the_success_result_has_the_docs_shape(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    result = result_of(emulator_client, bearer, B2B, make_b2b_body(Amount=190))["Result"]
    docs = sample("b2b_result_success_daraja-docs.json")["Result"]
    assert list(result) == list(docs)
    assert (result["ResultType"], result["ResultCode"]) == ("0", "0")
    assert result["ResultDesc"] == docs["ResultDesc"]
    assert value_types(parameters(result)) == value_types(parameters(docs))
    assert isinstance(result["ReferenceData"]["ReferenceItem"], list)  # an ARRAY for B2B
    assert list(references(result)) == list(references(docs))
    values = parameters(result)
    assert values == {
        "DebitAccountBalance": (
            "{Amount={CurrencyCode=KES, MinimumAmount=49981000, BasicAmount=499810.00}}"
        ),
        "Amount": "190.00",
        "DebitPartyAffectedAccountBalance": "Working Account|KES|499810.00|499810.00|0.00|0.00",
        "TransCompletedTime": "20240710091526",
        "DebitPartyCharges": "",
        "ReceiverPartyPublicName": "600977 - Safaricom Daraja 977",
        "Currency": "KES",
        "InitiatorAccountCurrentBalance": (
            "{Amount={CurrencyCode=KES, MinimumAmount=49981000, BasicAmount=499810.00}}"
        ),
    }
    assert references(result)["BillReferenceNumber"] == "353353"


def test_a_payment_moves_working_to_the_receivers_utility(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    result_of(emulator_client, bearer, B2B, make_b2b_body(Amount=1000))
    assert accounts(emulator_client, ORG)["Working Account"] == "499000.00"
    assert accounts(emulator_client, ORG)["Utility Account"] == "1000000.00"
    assert accounts(emulator_client, OTHER_ORG)["Utility Account"] == "1001000.00"


def failure_of(client: Any, bearer: dict[str, str], **overrides: Any) -> dict[str, Any]:
    result: dict[str, Any] = result_of(client, bearer, B2B, make_b2b_body(**overrides))["Result"]
    docs = sample("b2b_result_failure_2001_daraja-docs.json")["Result"]
    assert list(result) == list(docs)
    assert result["ResultType"] == docs["ResultType"] == 0  # numbers, unlike the success
    assert isinstance(result["ResultParameters"]["ResultParameter"], dict)  # a single object
    assert value_types(parameters(result)) == value_types(parameters(docs))  # BOCompletedTime
    assert isinstance(result["ReferenceData"]["ReferenceItem"], dict)
    assert result["TransactionID"] == "SGA0000000"
    return result


def test_a_wrong_credential_fails_with_the_docs_2001_shape(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    result = failure_of(emulator_client, bearer, SecurityCredential=make_credential("wrong"))
    docs = sample("b2b_result_failure_2001_daraja-docs.json")["Result"]
    assert (result["ResultCode"], result["ResultDesc"]) == (docs["ResultCode"], docs["ResultDesc"])
    assert accounts(emulator_client, ORG)["Working Account"] == "500000.00"
    assert parameters(result) == {"BOCompletedTime": 20240710091526}


def test_an_unknown_receiver_fails_with_sfc_ic0003(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    result = failure_of(emulator_client, bearer, PartyB="601000")
    assert (result["ResultCode"], result["ResultDesc"]) == (
        "SFC_IC0003",
        "The operator does not exist.",
    )


def test_a_short_working_account_fails_with_1(emulator_client: Any, bearer: dict[str, str]) -> None:
    set_accounts(emulator_client, ORG, Working_Account="100.00")
    assert failure_of(emulator_client, bearer, Amount=101)["ResultCode"] == 1
    assert accounts(emulator_client, OTHER_ORG)["Utility Account"] == "1000000.00"


def test_the_receivers_shortcode_scenario_decides(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    script(emulator_client, OTHER_ORG, result_code=2006)
    assert failure_of(emulator_client, bearer)["ResultCode"] == 2006
