"""B2C v3 and v1 payment requests: acknowledgement, validation, Results (API.md §5)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from .results_support import (
    B2C_V1,
    B2C_V3,
    CONVERSATION_ID,
    ORG,
    RESULT_URL,
    accepted,
    accounts,
    make_b2c_body,
    make_credential,
    parameters,
    references,
    result_of,
    script,
    set_accounts,
    value_types,
)
from .support import REQUEST_ID, FakeClock, error_of, sample


def test_v3_acknowledgement_matches_the_docs_and_echoes_the_originator_id(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    ack = accepted(emulator_client, bearer, B2C_V3, make_b2c_body())
    docs = sample("b2c_response_daraja-docs.json")
    assert list(ack) == list(docs)
    assert ack["ResponseDescription"] == docs["ResponseDescription"]
    assert ack["OriginatorConversationID"] == "600992_Test_32et3241ed8yu"
    assert re.fullmatch(CONVERSATION_ID, ack["ConversationID"])
    assert ack["ConversationID"].startswith("AG_20240710_")  # EAT date of the fake clock


def test_v1_generates_the_originator_id_and_ignores_one_sent(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    ack = accepted(emulator_client, bearer, B2C_V1, make_b2c_body(OriginatorConversationID="x"))
    assert list(ack) == list(sample("b2c_response_Iankumu-2019.json"))
    assert REQUEST_ID.fullmatch(ack["OriginatorConversationID"])


def test_a_reused_originator_id_is_refused_synchronously(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    accepted(emulator_client, bearer, B2C_V3, make_b2c_body())
    again = emulator_client.post(B2C_V3, json=make_b2c_body(Amount=20), headers=bearer)
    docs = sample("b2c_error_500_duplicate_occid_daraja-docs.json")
    assert error_of(again) == (500, docs["errorCode"], docs["errorMessage"])
    listed = emulator_client.get("/_emulator/results").get_json()
    assert [r["request"]["amount"] for r in listed] == [10]


def test_the_docs_sample_request_is_accepted_and_paid(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    """Its SecurityCredential is a placeholder the emulator cannot decrypt: not strict, so OK."""
    result = result_of(emulator_client, bearer, B2C_V3, sample("b2c_request_v3_daraja-docs.json"))
    assert result["Result"]["ResultCode"] == 0


@pytest.mark.parametrize(
    ("spelling", "value"), [("Occassion", "ChristmasPay"), ("Occasion", "Xmas"), ("Occasion", None)]
)
def test_both_occasion_spellings_are_accepted(
    emulator_client: Any, bearer: dict[str, str], spelling: str, value: str | None
) -> None:
    body = make_b2c_body()
    del body["Occassion"]
    body[spelling] = value
    ack = accepted(emulator_client, bearer, B2C_V3, body)
    view = emulator_client.get(f"/_emulator/results/{ack['ConversationID']}").get_json()
    assert view["request"]["occasion"] == value


B2C_BAD_FIELDS = [
    ("OriginatorConversationID", None),
    ("OriginatorConversationID", ""),
    ("InitiatorName", None),
    ("SecurityCredential", ""),
    ("CommandID", "BusinessPayBill"),
    ("CommandID", None),
    ("Amount", 0),
    ("Amount", "10.5"),
    ("Amount", 250001),
    ("PartyA", "1234"),
    ("PartyB", "0705912645"),
    ("PartyB", "600992"),
    ("Remarks", "x"),
    ("Remarks", "x" * 101),
    ("Remarks", None),
    ("QueueTimeOutURL", "https://example.com/mpesa/timeout"),
    ("QueueTimeOutURL", "not a url"),
    ("ResultURL", "https://example.com/re sult"),
    ("ResultURL", None),
    ("Occassion", "x" * 101),
]


@pytest.mark.parametrize(("field", "value"), B2C_BAD_FIELDS)
def test_invalid_fields_are_400_naming_the_field(
    emulator_client: Any, bearer: dict[str, str], field: str, value: Any
) -> None:
    response = emulator_client.post(B2C_V3, json=make_b2c_body(**{field: value}), headers=bearer)
    assert error_of(response) == (400, "400.002.02", f"Bad Request - Invalid {field}")


def test_the_first_bad_field_in_docs_order_wins(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    body = make_b2c_body(CommandID="x", PartyB="x", ResultURL="x")
    response = emulator_client.post(B2C_V3, json=body, headers=bearer)
    assert error_of(response)[2] == "Bad Request - Invalid CommandID"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, (401, "401.002.01", "Error Occurred - Invalid Access Token - ")),
        (
            {"Authorization": "Bearer BJGFGOXv5aZnw90KkA4TDtu4Xdyf"},
            (
                401,
                "401.002.01",
                "Error Occurred - Invalid Access Token - BJGFGOXv5aZnw90KkA4TDtu4Xdyf",
            ),
        ),
        ({"Authorization": "Basic YTpi"}, (404, "404.001.04", "Invalid Authentication Header")),
    ],
)
def test_bad_tokens_get_the_b2c_error(
    emulator_client: Any, headers: dict[str, str], expected: tuple[int, str, str]
) -> None:
    response = emulator_client.post(B2C_V3, json=make_b2c_body(), headers=headers)
    assert error_of(response) == expected
    assert list(response.get_json()) == list(sample("b2c_error_401_invalid_token_jwambugu.json"))


@pytest.mark.parametrize(
    ("path", "field"), [(B2C_V3, "OriginatorConversationID"), (B2C_V1, "InitiatorName")]
)
def test_a_wrong_content_type_names_the_first_field(
    emulator_client: Any, bearer: dict[str, str], path: str, field: str
) -> None:
    headers = {**bearer, "Content-Type": "text/plain"}
    response = emulator_client.post(path, data="{}", headers=headers)
    assert error_of(response) == (400, "400.002.02", f"Bad Request - Invalid {field}")


def test_the_success_result_has_the_docs_2024_shape(
    emulator_client: Any, bearer: dict[str, str], fake_clock: FakeClock
) -> None:
    result = result_of(emulator_client, bearer, B2C_V3, make_b2c_body(Amount=2000))["Result"]
    docs = sample("b2c_result_success_daraja-docs-2024.json")["Result"]
    assert list(result) == list(docs)
    assert (result["ResultType"], result["ResultCode"]) == (0, 0)
    assert result["ResultDesc"] == docs["ResultDesc"]
    assert isinstance(result["ResultParameters"]["ResultParameter"], list)
    assert value_types(parameters(result)) == value_types(parameters(docs))  # the 8 keys
    assert isinstance(result["ReferenceData"]["ReferenceItem"], dict)
    assert references(result) == references(docs)
    values = parameters(result)
    assert values["TransactionReceipt"] == result["TransactionID"]
    assert values["TransactionAmount"] == 2000
    assert values["ReceiverPartyPublicName"] == "254705912645 - NICHOLAS JOHN SONGOK"
    assert values["TransactionCompletedDateTime"] == "10.07.2024 09:15:26"  # settled at once
    assert values["B2CUtilityAccountAvailableFunds"] == 998000.00
    assert values["B2CWorkingAccountAvailableFunds"] == 500000.00
    assert values["B2CChargesPaidAccountAvailableFunds"] == -9.00


def test_result_numbers_keep_two_decimals_on_the_wire(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    ack = accepted(emulator_client, bearer, B2C_V3, make_b2c_body(Amount=2000))
    text = emulator_client.post(f"/_emulator/results/{ack['ConversationID']}/settle").get_json()
    assert '{"Key":"TransactionAmount","Value":2000}' in text["body"]
    assert '{"Key":"B2CUtilityAccountAvailableFunds","Value":998000.00}' in text["body"]
    assert '{"Key":"B2CChargesPaidAccountAvailableFunds","Value":-9.00}' in text["body"]


def test_a_payout_moves_the_ledger(emulator_client: Any, bearer: dict[str, str]) -> None:
    result_of(emulator_client, bearer, B2C_V3, make_b2c_body(Amount=2000))
    assert accounts(emulator_client, ORG) == {
        "Working Account": "500000.00",
        "Float Account": "0.00",
        "Utility Account": "998000.00",
        "Charges Paid Account": "-9.00",
        "Organization Settlement Account": "0.00",
    }


def failure_of(client: Any, bearer: dict[str, str], **overrides: Any) -> dict[str, Any]:
    result: dict[str, Any] = result_of(client, bearer, B2C_V3, make_b2c_body(**overrides))["Result"]
    docs = sample("b2c_result_failure_2001_daraja-docs.json")["Result"]
    assert list(result) == list(docs)  # no ResultParameters
    assert references(result) == references(docs)
    assert re.fullmatch(r"[A-Z][A-L][1-9A-V][0-9A-Z]{7}", result["TransactionID"])
    return result


@pytest.mark.parametrize(
    "overrides",
    [
        {"SecurityCredential": make_credential("Safaricom111!")},
        {"InitiatorName": "apiop37"},
        {"PartyA": "601000"},  # no such organisation: its initiator cannot be valid
    ],
)
def test_a_wrong_initiator_is_accepted_then_fails_with_2001(
    emulator_client: Any, bearer: dict[str, str], overrides: dict[str, Any]
) -> None:
    result = failure_of(emulator_client, bearer, **overrides)
    assert (result["ResultCode"], result["ResultDesc"]) == (
        2001,
        "The initiator information is invalid.",
    )
    assert accounts(emulator_client, ORG)["Utility Account"] == "1000000.00"


def test_an_insufficient_utility_balance_fails_with_1(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    set_accounts(emulator_client, ORG, Utility_Account="9.99")
    result = failure_of(emulator_client, bearer, Amount=10)
    assert (result["ResultCode"], result["ResultDesc"]) == (
        1,
        "The balance is insufficient for the transaction.",
    )
    assert accounts(emulator_client, ORG)["Utility Account"] == "9.99"


def test_below_the_b2c_minimum_fails_with_2(emulator_client: Any, bearer: dict[str, str]) -> None:
    assert failure_of(emulator_client, bearer, Amount=9)["ResultCode"] == 2


@pytest.mark.parametrize(
    ("recipient", "code"),
    [
        ("254708374149", 0),
        ("254708374150", 1),  # configured scenarios apply to B2C recipients too
        ("254708374153", 2001),
        ("254708374151", 0),  # 1032 (a handset cancelling) means nothing for a payout
        ("254708374152", 0),  # 1037
    ],
)
def test_the_recipients_configured_scenario_decides(
    emulator_client: Any, bearer: dict[str, str], recipient: str, code: int
) -> None:
    result = result_of(emulator_client, bearer, B2C_V3, make_b2c_body(PartyB=recipient))
    assert result["Result"]["ResultCode"] == code


@pytest.mark.parametrize(
    ("code", "desc"),
    [
        (
            2040,
            "Credit Party customer type (Unregistered or Registered Customer) can't be supported"
            " by the service.",
        ),
        ("SFC_IC0003", "The operator does not exist."),
        (8006, "The security credential is locked."),
        (21, "The initiator is not allowed to initiate this request."),
    ],
)
def test_a_scripted_recipient_gets_the_b2c_result_code(
    emulator_client: Any, bearer: dict[str, str], code: int | str, desc: str
) -> None:
    script(emulator_client, "254711000009", result_code=code)
    result = failure_of(emulator_client, bearer, PartyB="254711000009")
    assert (result["ResultCode"], result["ResultDesc"]) == (code, desc)


def test_the_result_is_posted_to_the_result_url_after_the_delay(
    emulator_client: Any, bearer: dict[str, str], fake_clock: FakeClock, stub_http: Any
) -> None:
    from daraja_emulator.runtime import EXTENSION
    from daraja_emulator.scheduler import CallbackScheduler

    emulator = emulator_client.application.extensions[EXTENSION]
    scheduler = CallbackScheduler(emulator.state, emulator.sender, fake_clock, auto_deliver=False)
    accepted(emulator_client, bearer, B2C_V3, make_b2c_body())
    fake_clock.advance(2.9)
    assert scheduler.run_once() == []
    fake_clock.advance(0.1)
    assert len(scheduler.run_once()) == 1
    [post] = stub_http.posts
    assert post["url"] == RESULT_URL
    assert b'"TransactionCompletedDateTime","Value":"10.07.2024 09:15:29"' in post["data"]
