"""C2B confirmation: the docs' shape per registered version (hashed or masked MSISDN), and a
completed payment in the books — balance, Transaction Status, Reversal (API.md §4.3, §7-§9)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from .c2b_support import (
    CONFIRMATION_KEYS,
    CONFIRMATION_URL,
    NICHOLAS,
    PAYER,
    SHORTCODE,
    VALIDATION_URL,
    accounts,
    paid,
    posted,
    register,
)
from .results_support import (
    BALANCE,
    REVERSAL,
    STATUS,
    make_balance_body,
    make_reversal_body,
    make_status_body,
    parameters,
    result_of,
)
from .support import StubHttp, StubResponse, sample

DOCS_V2 = sample("c2b_confirmation_v2_masked_daraja-docs.json")
DOCS_2017 = sample("c2b_confirmation_ghostscypher-2017.json")
VALIDATION_2017 = sample("c2b_validation_ghostscypher-2017.json")


def confirmation(stub_http: StubHttp) -> dict[str, Any]:
    [body] = posted(stub_http, CONFIRMATION_URL)
    return body


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_the_callbacks_have_the_docs_keys_in_order_all_strings(
    emulator_client: Any, bearer: dict[str, str], stub_http: StubHttp, version: str
) -> None:
    register(emulator_client, bearer, version)
    paid(emulator_client, bearer)
    [validation] = posted(stub_http, VALIDATION_URL)
    for body, docs in ((confirmation(stub_http), DOCS_V2), (validation, VALIDATION_2017)):
        assert list(body) == list(docs) == list(DOCS_2017) == CONFIRMATION_KEYS
        assert {type(value) for value in body.values()} == {str}


def test_a_v2_confirmation_matches_the_docs_sample(
    emulator_client: Any, bearer: dict[str, str], stub_http: StubHttp
) -> None:
    """The docs' own payment: KES 5 to 600966 by the sandbox's NICHOLAS, "Sample Transaction"."""
    register(emulator_client, bearer, "v2", ShortCode="600966")
    view = paid(emulator_client, bearer, ShortCode=600966, Msisdn=int(NICHOLAS))
    assert confirmation(stub_http) == {
        **DOCS_V2,
        "TransID": view["trans_id"],
        "TransTime": "20240710091526",
        "OrgAccountBalance": "1000005.00",  # after the credit, from the default opening balance
        "MSISDN": "2547 ***** 645",
    }


def test_a_v1_confirmation_carries_the_sha256_of_the_msisdn_and_the_whole_name(
    emulator_client: Any, bearer: dict[str, str], stub_http: StubHttp
) -> None:
    register(emulator_client, bearer, "v1")
    paid(emulator_client, bearer, Msisdn=NICHOLAS)
    body = confirmation(stub_http)
    assert body["MSISDN"] == hashlib.sha256(NICHOLAS.encode()).hexdigest()
    assert (body["FirstName"], body["MiddleName"], body["LastName"]) == (
        "NICHOLAS",
        "JOHN",
        "SONGOK",
    )


@pytest.mark.parametrize(
    ("version", "msisdn", "names"),
    [
        ("v1", hashlib.sha256(PAYER.encode()).hexdigest(), ("John", "", "Doe")),
        ("v2", "2547 ***** 149", ("John", "", "")),
    ],
)
def test_the_msisdn_format_follows_the_registered_version_not_the_simulate_path(
    emulator_client: Any,
    bearer: dict[str, str],
    stub_http: StubHttp,
    version: str,
    msisdn: str,
    names: tuple[str, str, str],
) -> None:
    register(emulator_client, bearer, version)
    other = "v1" if version == "v2" else "v2"
    paid(emulator_client, bearer, other)
    body = confirmation(stub_http)
    assert body["MSISDN"] == msisdn
    assert (body["FirstName"], body["MiddleName"], body["LastName"]) == names


def test_a_till_payment_is_buy_goods_without_a_reference(
    emulator_client: Any, bearer: dict[str, str], stub_http: StubHttp
) -> None:
    register(emulator_client, bearer)
    paid(emulator_client, bearer, CommandID="CustomerBuyGoodsOnline", BillRefNumber=None, Amount=1)
    body = confirmation(stub_http)
    assert (body["TransactionType"], body["BillRefNumber"], body["TransAmount"]) == (
        "Buy Goods",
        "",
        "1.00",
    )


def test_the_balance_in_each_confirmation_is_the_one_after_it(
    emulator_client: Any, bearer: dict[str, str], stub_http: StubHttp
) -> None:
    register(emulator_client, bearer)
    paid(emulator_client, bearer, Amount=5)
    paid(emulator_client, bearer, Amount=20)
    balances = [body["OrgAccountBalance"] for body in posted(stub_http, CONFIRMATION_URL)]
    assert balances == ["1000005.00", "1000025.00"]
    assert accounts(emulator_client)["Utility Account"] == "1000025.00"


def test_the_credit_is_a_movement_of_the_shortcode(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    register(emulator_client, bearer)
    view = paid(emulator_client, bearer)
    [movement] = emulator_client.get(f"/_emulator/accounts/{SHORTCODE}").get_json()["movements"]
    assert movement == {
        "at": view["decided_at"],
        "account": "Utility Account",
        "amount": "5.00",
        "reference": view["trans_id"],
        "description": f"C2B payment from {PAYER}",
    }


def test_a_balance_inquiry_shows_the_payment(emulator_client: Any, bearer: dict[str, str]) -> None:
    register(emulator_client, bearer)
    paid(emulator_client, bearer, Amount=250)
    result = result_of(emulator_client, bearer, BALANCE, make_balance_body(PartyA=SHORTCODE))
    balance = parameters(result["Result"])["AccountBalance"]
    assert "Utility Account|KES|1000250.00|1000250.00|0.00|0.00" in balance


def test_transaction_status_finds_the_trans_id(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    register(emulator_client, bearer)
    view = paid(emulator_client, bearer)
    body = make_status_body(TransactionID=view["trans_id"], PartyA=SHORTCODE)
    found = parameters(result_of(emulator_client, bearer, STATUS, body)["Result"])
    assert (found["ReceiptNo"], found["Amount"], found["TransactionStatus"]) == (
        view["trans_id"],
        "5",
        "Completed",
    )
    assert (found["DebitPartyName"], found["CreditPartyName"]) == (
        f"{PAYER} - John Doe",
        f"{SHORTCODE} - Safaricom Daraja 984",
    )
    assert found["ReasonType"] == "Pay Bill"


def test_a_cancelled_payment_leaves_no_receipt(
    emulator_client: Any, bearer: dict[str, str], stub_http: StubHttp
) -> None:
    register(emulator_client, bearer)
    stub_http.answers[VALIDATION_URL] = StubResponse(200, '{"ResultCode":"C2B00012"}')
    view = paid(emulator_client, bearer)
    body = make_status_body(TransactionID=view["trans_id"], PartyA=SHORTCODE)
    assert result_of(emulator_client, bearer, STATUS, body)["Result"]["ResultCode"] == 2032


def test_the_shortcode_can_reverse_a_c2b_payment(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    register(emulator_client, bearer)
    trans_id = paid(emulator_client, bearer, Amount=100)["trans_id"]
    body = make_reversal_body(TransactionID=trans_id, Amount=100, ReceiverParty=SHORTCODE)
    result = result_of(emulator_client, bearer, REVERSAL, body)["Result"]
    assert result["ResultCode"] == 0
    assert parameters(result)["OriginalTransactionID"] == trans_id
    assert accounts(emulator_client)["Utility Account"] == "1000000.00"
    again = result_of(emulator_client, bearer, REVERSAL, body)["Result"]
    assert again["ResultCode"] == "R000001"


def test_another_shortcode_cannot_reverse_it(emulator_client: Any, bearer: dict[str, str]) -> None:
    trans_id = paid(emulator_client, bearer)["trans_id"]  # no URLs: completed all the same
    body = make_reversal_body(TransactionID=trans_id, Amount=5, ReceiverParty="600985")
    assert result_of(emulator_client, bearer, REVERSAL, body)["Result"]["ResultCode"] == "R000002"
