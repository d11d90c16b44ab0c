"""Account Balance: acknowledgement, validation and a Result read from the books (API.md §7)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .results_support import (
    B2C_V3,
    BALANCE,
    ORG,
    accepted,
    make_b2c_body,
    make_balance_body,
    make_credential,
    parameters,
    references,
    result_of,
    settle,
)
from .support import FakeClock, error_of, sample


def balances(result: dict[str, Any]) -> dict[str, str]:
    """AccountBalance parsed by its grammar: name -> current balance."""
    text = parameters(result)["AccountBalance"]
    accounts = [account.split("|") for account in text.split("&")]
    assert all(len(fields) == 6 and fields[1] == "KES" for fields in accounts)
    return {fields[0]: fields[2] for fields in accounts}


def test_acknowledgement_matches_the_docs(emulator_client: Any, bearer: dict[str, str]) -> None:
    ack = accepted(emulator_client, bearer, BALANCE, make_balance_body())
    docs = sample("accountbalance_response_daraja-docs.json")
    assert list(ack) == list(docs)
    assert ack["ResponseDescription"] == docs["ResponseDescription"]  # no period here


def test_the_docs_sample_request_is_accepted(emulator_client: Any, bearer: dict[str, str]) -> None:
    body = sample("accountbalance_request_daraja-docs.json")
    body["QueueTimeOutURL"] = "http://myservice:8080/timeout"  # the sample's says "queue…"
    result = result_of(emulator_client, bearer, BALANCE, body)["Result"]
    assert result["ResultCode"] == 2001  # its initiator is "testapiuser": not an operator here


def test_the_result_has_the_docs_shape_and_the_opening_balances(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    result = result_of(emulator_client, bearer, BALANCE, make_balance_body())["Result"]
    docs = sample("accountbalance_result_daraja-docs.json")["Result"]
    assert list(result) == list(docs)
    assert (result["ResultType"], result["ResultCode"], result["ResultDesc"]) == (
        docs["ResultType"],
        docs["ResultCode"],
        docs["ResultDesc"],
    )
    assert result["TransactionID"] == "SGA0000000"  # a placeholder, like OA90000000
    assert list(parameters(result)) == list(parameters(docs))
    assert all(isinstance(v, str) for v in parameters(result).values())
    assert parameters(result)["BOCompletedTime"] == "20240710091526"
    assert references(result) == references(docs)
    assert balances(result) == balances(docs) | {
        "Working Account": "500000.00",
        "Float Account": "0.00",
        "Utility Account": "1000000.00",
        "Charges Paid Account": "0.00",
        "Organization Settlement Account": "0.00",
    }
    assert list(balances(result)) == list(balances(docs))


def test_a_b2c_payout_shows_in_a_later_balance(
    emulator_client: Any, bearer: dict[str, str], fake_clock: FakeClock
) -> None:
    payout = accepted(emulator_client, bearer, B2C_V3, make_b2c_body(Amount=2000))
    balance = accepted(emulator_client, bearer, BALANCE, make_balance_body())
    fake_clock.advance(3)  # both due now: the payout was accepted first, so it comes first
    settle(emulator_client, balance["ConversationID"])
    settle(emulator_client, payout["ConversationID"])
    view = emulator_client.get(f"/_emulator/results/{balance['ConversationID']}").get_json()
    result = json.loads(view["deliveries"][0]["body"])["Result"]
    assert balances(result)["Utility Account"] == "998000.00"
    assert balances(result)["Charges Paid Account"] == "-9.00"


def test_a_balance_due_before_a_payout_does_not_see_it(
    emulator_client: Any, bearer: dict[str, str], fake_clock: FakeClock
) -> None:
    balance = accepted(emulator_client, bearer, BALANCE, make_balance_body())
    fake_clock.advance(1)
    payout = accepted(emulator_client, bearer, B2C_V3, make_b2c_body(Amount=2000))
    fake_clock.advance(3)
    settle(emulator_client, payout["ConversationID"])  # delivered first, but due later
    record = settle(emulator_client, balance["ConversationID"])
    assert balances(json.loads(record["body"])["Result"])["Utility Account"] == "1000000.00"


def test_a_wrong_credential_fails_with_2001_and_no_parameters(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    body = make_balance_body(SecurityCredential=make_credential("nope"))
    result = result_of(emulator_client, bearer, BALANCE, body)["Result"]
    assert list(result) == list(sample("b2c_result_failure_2001_daraja-docs.json")["Result"])
    assert (result["ResultCode"], result["TransactionID"]) == (2001, "SGA0000000")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("Initiator", ""),
        ("SecurityCredential", 5),
        ("CommandID", "Balance"),
        ("PartyA", "12"),
        ("IdentifierType", "11"),
        ("IdentifierType", None),
        ("Remarks", None),
        ("QueueTimeOutURL", None),
        ("ResultURL", "https://example.com/safaricom"),
    ],
)
def test_invalid_fields_are_400_naming_the_field(
    emulator_client: Any, bearer: dict[str, str], field: str, value: Any
) -> None:
    body = make_balance_body(**{field: value})
    response = emulator_client.post(BALANCE, json=body, headers=bearer)
    assert error_of(response) == (400, "400.002.02", f"Bad Request - Invalid {field}")


def test_an_invalid_token_is_401_002_01(emulator_client: Any) -> None:
    headers = {"Authorization": "Bearer expired"}
    response = emulator_client.post(BALANCE, json=make_balance_body(), headers=headers)
    assert error_of(response) == (
        401,
        "401.002.01",
        "Error Occurred - Invalid Access Token - expired",
    )


def test_an_organisation_balance_is_its_own(emulator_client: Any, bearer: dict[str, str]) -> None:
    result = result_of(emulator_client, bearer, BALANCE, make_balance_body(PartyA="174379"))
    assert balances(result["Result"])["Utility Account"] == "1000000.00"
    assert ORG != "174379"
