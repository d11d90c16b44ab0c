"""Reversal of an STK payment: validation, Results and the ledger moving back (API.md §9)."""

from __future__ import annotations

from typing import Any

import pytest

from .results_support import (
    B2C_V3,
    REVERSAL,
    STATUS,
    accepted,
    accounts,
    make_b2c_body,
    make_credential,
    make_reversal_body,
    make_status_body,
    paid_stk_receipt,
    parameters,
    references,
    result_of,
    set_accounts,
    value_types,
)
from .support import error_of, sample

MERCHANT = "174379"


def reverse(client: Any, bearer: dict[str, str], **overrides: Any) -> dict[str, Any]:
    result: dict[str, Any] = result_of(client, bearer, REVERSAL, make_reversal_body(**overrides))
    return dict(result["Result"])


def test_acknowledgement_matches_the_docs(emulator_client: Any, bearer: dict[str, str]) -> None:
    ack = accepted(emulator_client, bearer, REVERSAL, make_reversal_body())
    docs = sample("reversal_response_daraja-docs.json")
    assert list(ack) == list(docs)
    assert ack["ResponseDescription"] == docs["ResponseDescription"]


def test_reversing_an_stk_payment_has_the_docs_shape_and_moves_money_back(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    receipt = paid_stk_receipt(emulator_client, bearer, Amount=100)
    assert accounts(emulator_client, MERCHANT)["Utility Account"] == "1000100.00"
    result = reverse(emulator_client, bearer, TransactionID=receipt, Amount=100)
    docs = sample("reversal_result_success_daraja-docs.json")["Result"]
    assert list(result) == list(docs)
    assert (result["ResultType"], result["ResultCode"], result["ResultDesc"]) == (
        docs["ResultType"],
        docs["ResultCode"],
        docs["ResultDesc"],
    )
    assert list(parameters(result)) == list(parameters(docs))
    assert value_types(parameters(result)) == value_types(parameters(docs))
    assert references(result) == references(docs)
    assert parameters(result) == {
        "DebitAccountBalance": "Utility Account|KES|1000000.00|1000000.00|0.00|0.00",
        "Amount": 100.0,
        "TransCompletedTime": 20240710091526,
        "OriginalTransactionID": receipt,
        "Charge": 0.0,
        "CreditPartyPublicName": "254708374149 - John Doe",
        "DebitPartyPublicName": "174379 - Safaricom Daraja 379",
    }
    assert result["TransactionID"] != receipt
    assert accounts(emulator_client, MERCHANT)["Utility Account"] == "1000000.00"


def test_the_reversed_receipt_says_so_in_transaction_status(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    receipt = paid_stk_receipt(emulator_client, bearer)
    reversal = reverse(emulator_client, bearer, TransactionID=receipt)["TransactionID"]
    for number, status in ((receipt, "Reversed"), (reversal, "Completed")):
        body = make_status_body(TransactionID=number, PartyA=MERCHANT)
        result = result_of(emulator_client, bearer, STATUS, body)["Result"]
        assert parameters(result)["TransactionStatus"] == status


def test_a_second_reversal_fails_with_r000001(emulator_client: Any, bearer: dict[str, str]) -> None:
    receipt = paid_stk_receipt(emulator_client, bearer)
    assert reverse(emulator_client, bearer, TransactionID=receipt)["ResultCode"] == 0
    again = reverse(emulator_client, bearer, TransactionID=receipt)
    assert (again["ResultCode"], again["ResultDesc"]) == (
        "R000001",
        "The transaction has already been reversed.",
    )
    assert accounts(emulator_client, MERCHANT)["Utility Account"] == "1000000.00"


def failure_of(client: Any, bearer: dict[str, str], **overrides: Any) -> dict[str, Any]:
    result = reverse(client, bearer, **overrides)
    docs = sample("reversal_result_failure_R000002_daraja-docs.json")["Result"]
    assert list(result) == list(docs)  # no ResultParameters
    assert references(result) == references(docs)
    assert result["TransactionID"] == "SGA0000000"
    return result


def test_an_unknown_receipt_fails_with_r000002_in_the_docs_shape(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    result = failure_of(emulator_client, bearer, TransactionID="SGA1234567")
    docs = sample("reversal_result_failure_R000002_daraja-docs.json")["Result"]
    assert (result["ResultCode"], result["ResultDesc"]) == (docs["ResultCode"], docs["ResultDesc"])


def test_a_b2c_receipt_cannot_be_reversed(emulator_client: Any, bearer: dict[str, str]) -> None:
    payout = result_of(emulator_client, bearer, B2C_V3, make_b2c_body())["Result"]
    body = {"TransactionID": payout["TransactionID"], "ReceiverParty": "600992"}
    assert failure_of(emulator_client, bearer, **body)["ResultCode"] == "R000002"


def test_only_the_merchant_paid_can_reverse(emulator_client: Any, bearer: dict[str, str]) -> None:
    receipt = paid_stk_receipt(emulator_client, bearer)
    result = failure_of(emulator_client, bearer, TransactionID=receipt, ReceiverParty="600992")
    assert result["ResultCode"] == "R000002"


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"Amount": 11}, 25),  # not the amount paid
        ({"SecurityCredential": make_credential("wrong")}, 2001),
    ],
)
def test_other_failures(
    emulator_client: Any, bearer: dict[str, str], overrides: dict[str, Any], code: int
) -> None:
    receipt = paid_stk_receipt(emulator_client, bearer)
    assert (
        failure_of(emulator_client, bearer, TransactionID=receipt, **overrides)["ResultCode"]
        == code
    )


def test_a_short_utility_account_fails_with_1(emulator_client: Any, bearer: dict[str, str]) -> None:
    receipt = paid_stk_receipt(emulator_client, bearer)
    set_accounts(emulator_client, MERCHANT, Utility_Account="9.00")
    assert failure_of(emulator_client, bearer, TransactionID=receipt)["ResultCode"] == 1


def test_the_correct_receiver_spelling_is_refused(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    """API.md §0: observed in production."""
    body = make_reversal_body(ReceiverIdentifierType="11")
    del body["RecieverIdentifierType"]
    response = emulator_client.post(REVERSAL, json=body, headers=bearer)
    assert error_of(response) == (
        400,
        "400.002.02",
        "Bad Request - Invalid RecieverIdentifierType",
    )


def test_sending_both_spellings_works(emulator_client: Any, bearer: dict[str, str]) -> None:
    body = make_reversal_body(ReceiverIdentifierType="11")
    assert accepted(emulator_client, bearer, REVERSAL, body)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("Initiator", None),
        ("SecurityCredential", None),
        ("CommandID", "Reversal"),
        ("TransactionID", "PDU91HIVI"),
        ("TransactionID", None),
        ("Amount", "abc"),
        ("ReceiverParty", "2547"),
        ("RecieverIdentifierType", "4"),
        ("RecieverIdentifierType", 4),
        ("ResultURL", "https://example.com/M-PESA/result"),
        ("QueueTimeOutURL", ""),
        ("Remarks", "x"),
        ("Occasion", "x" * 101),
    ],
)
def test_invalid_fields_are_400_naming_the_field(
    emulator_client: Any, bearer: dict[str, str], field: str, value: Any
) -> None:
    response = emulator_client.post(
        REVERSAL, json=make_reversal_body(**{field: value}), headers=bearer
    )
    assert error_of(response) == (400, "400.002.02", f"Bad Request - Invalid {field}")


def test_an_invalid_transaction_id_error_matches_the_docs(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    body = make_reversal_body(TransactionID="not-a-receipt")
    response = emulator_client.post(REVERSAL, json=body, headers=bearer)
    docs = sample("reversal_error_400_invalid_transactionid_daraja-docs.json")
    assert list(response.get_json()) == list(docs)
    assert error_of(response)[1:] == (docs["errorCode"], docs["errorMessage"])


def test_an_invalid_token_is_404_001_03(emulator_client: Any) -> None:
    headers = {"Authorization": "Bearer x"}
    response = emulator_client.post(REVERSAL, json=make_reversal_body(), headers=headers)
    assert error_of(response) == (404, "404.001.03", "Invalid Access Token")
