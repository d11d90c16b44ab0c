"""STK Query and the scripted outcomes it reports, driven by the fake clock only (API.md §3)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from daraja_emulator import create_app
from daraja_emulator.config import Merchant, Scenario

from .support import FakeClock, bearer_for, make_password, make_query_body, make_stk_body

STK_URL = "/mpesa/stkpush/v1/processrequest"
QUERY_URL = "/mpesa/stkpushquery/v1/query"
PROCESSED = "The service request is processed successfully."


def push(emulator_client: Any, bearer: dict[str, str], **overrides: Any) -> str:
    response = emulator_client.post(STK_URL, json=make_stk_body(**overrides), headers=bearer)
    assert response.status_code == 200, response.get_json()
    return str(response.get_json()["CheckoutRequestID"])


def query(emulator_client: Any, bearer: dict[str, str], checkout_id: str, **overrides: Any) -> Any:
    return emulator_client.post(
        QUERY_URL, json=make_query_body(checkout_id, **overrides), headers=bearer
    )


def result_of(emulator_client: Any, bearer: dict[str, str], checkout_id: str) -> tuple[str, str]:
    response = query(emulator_client, bearer, checkout_id)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    return body["ResultCode"], body["ResultDesc"]


def test_pending_push_is_being_processed_with_checkout_id_as_request_id(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    checkout_id = push(emulator_client, bearer)
    response = query(emulator_client, bearer, checkout_id)
    assert response.status_code == 500
    assert response.get_json() == {
        "requestId": checkout_id,
        "errorCode": "500.001.1001",
        "errorMessage": "The transaction is being processed",
    }


def test_decided_push_answers_with_string_result_code_and_live_typo(
    emulator_client: Any, bearer: dict[str, str], fake_clock: FakeClock
) -> None:
    response = emulator_client.post(STK_URL, json=make_stk_body(), headers=bearer).get_json()
    fake_clock.advance(3)
    answer = query(emulator_client, bearer, response["CheckoutRequestID"])
    assert answer.status_code == 200
    assert answer.get_json() == {
        "ResponseCode": "0",
        "ResponseDescription": "The service request has been accepted successsfully",
        "MerchantRequestID": response["MerchantRequestID"],
        "CheckoutRequestID": response["CheckoutRequestID"],
        "ResultCode": "0",
        "ResultDesc": PROCESSED,
    }
    assert list(answer.get_json()) == [
        "ResponseCode",
        "ResponseDescription",
        "MerchantRequestID",
        "CheckoutRequestID",
        "ResultCode",
        "ResultDesc",
    ]


@pytest.mark.parametrize(
    ("phone", "code", "desc", "seconds"),
    [
        ("254708374149", "0", PROCESSED, 3),
        ("254708374150", "1", "The balance is insufficient for the transaction.", 3),
        ("254708374151", "1032", "Request cancelled by user", 3),
        ("254708374152", "1037", "DS timeout user cannot be reached", 60),
        ("254708374153", "2001", "The initiator information is invalid.", 3),
        ("254712345678", "0", PROCESSED, 3),
    ],
)
def test_default_scenarios_decide_by_phone_number_after_their_delay(
    emulator_client: Any,
    bearer: dict[str, str],
    fake_clock: FakeClock,
    phone: str,
    code: str,
    desc: str,
    seconds: int,
) -> None:
    checkout_id = push(emulator_client, bearer, PartyA=phone, PhoneNumber=phone)
    fake_clock.advance(seconds - 0.001)
    assert query(emulator_client, bearer, checkout_id).status_code == 500
    fake_clock.advance(0.001)
    assert result_of(emulator_client, bearer, checkout_id) == (code, desc)


def test_scenario_delay_and_description_overrides(
    emulator_config: Any, fake_clock: FakeClock
) -> None:
    scenarios = {"254700000001": Scenario(17, "Rule limited (custom)", 0.5)}
    emulator_app = create_app(
        dataclasses.replace(emulator_config, scenarios=scenarios), clock=fake_clock
    )
    emulator_client = emulator_app.test_client()
    bearer = bearer_for(emulator_client)
    checkout_id = push(emulator_client, bearer, PartyA="254700000001", PhoneNumber="254700000001")
    fake_clock.advance(0.5)
    assert result_of(emulator_client, bearer, checkout_id) == ("17", "Rule limited (custom)")


@pytest.mark.parametrize(
    "overrides",
    [
        {"AccountReference": "ABCDEFGHIJKLM"},  # 13 > 12
        {"TransactionDesc": "ABCDEFGHIJKLMN"},  # 14 > 13
    ],
)
def test_long_prompt_text_fails_with_1025(
    emulator_client: Any, bearer: dict[str, str], fake_clock: FakeClock, overrides: dict[str, str]
) -> None:
    checkout_id = push(emulator_client, bearer, **overrides)
    fake_clock.advance(3)
    assert result_of(emulator_client, bearer, checkout_id) == (
        "1025",
        "An error occurred while sending a push request.",
    )


def test_prompt_text_at_the_limits_succeeds(
    emulator_client: Any, bearer: dict[str, str], fake_clock: FakeClock
) -> None:
    checkout_id = push(
        emulator_client, bearer, AccountReference="ABCDEFGHIJKL", TransactionDesc="ABCDEFGHIJKLM"
    )
    fake_clock.advance(3)
    assert result_of(emulator_client, bearer, checkout_id)[0] == "0"


@pytest.mark.parametrize(
    "overrides",
    [
        {"TransactionType": "CustomerBuyGoodsOnline"},
        {"PartyB": "174380"},
    ],
)
def test_paybill_product_mismatch_fails_with_2028(
    emulator_client: Any, bearer: dict[str, str], fake_clock: FakeClock, overrides: dict[str, str]
) -> None:
    checkout_id = push(emulator_client, bearer, **overrides)
    fake_clock.advance(3)
    assert result_of(emulator_client, bearer, checkout_id) == (
        "2028",
        "The request is not permitted according to product assignment.",
    )


@pytest.mark.parametrize(
    ("transaction_type", "party_b", "code"),
    [
        ("CustomerBuyGoodsOnline", "5000002", "0"),
        ("CustomerBuyGoodsOnline", "5000001", "2028"),
        ("CustomerPayBillOnline", "5000002", "2028"),
    ],
)
def test_till_merchant_takes_buy_goods_to_its_tills(
    emulator_config: Any, fake_clock: FakeClock, transaction_type: str, party_b: str, code: str
) -> None:
    till = Merchant("5000001", "till-passkey", "till", ("5000002",))
    emulator_app = create_app(
        dataclasses.replace(emulator_config, merchants=(till,)), clock=fake_clock
    )
    emulator_client = emulator_app.test_client()
    bearer = bearer_for(emulator_client)
    password = make_password(shortcode=till.shortcode, passkey=till.passkey)
    checkout_id = push(
        emulator_client,
        bearer,
        BusinessShortCode="5000001",
        Password=password,
        TransactionType=transaction_type,
        PartyB=party_b,
    )
    fake_clock.advance(3)
    response = emulator_client.post(
        QUERY_URL,
        json=make_query_body(checkout_id, BusinessShortCode="5000001", Password=password),
        headers=bearer,
    )
    assert response.get_json()["ResultCode"] == code


def test_unknown_checkout_request_id_is_invalid(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    response = query(emulator_client, bearer, "ws_CO_01012024000000000708374149")
    assert response.status_code == 400
    body = response.get_json()
    assert (body["errorCode"], body["errorMessage"]) == (
        "400.002.02",
        "Bad Request - Invalid CheckoutRequestID",
    )


@pytest.mark.parametrize(
    ("overrides", "status", "message"),
    [
        ({"CheckoutRequestID": None}, 400, "Bad Request - Invalid CheckoutRequestID"),
        ({"BusinessShortCode": "1"}, 400, "Bad Request - Invalid BusinessShortCode"),
        ({"Timestamp": "2024"}, 400, "Bad Request - Invalid Timestamp"),
        ({"Password": "nope"}, 500, "Wrong credentials"),
        ({"BusinessShortCode": "600000"}, 500, "Merchant does not exist"),
    ],
)
def test_query_validation(
    emulator_client: Any,
    bearer: dict[str, str],
    overrides: dict[str, Any],
    status: int,
    message: str,
) -> None:
    checkout_id = push(emulator_client, bearer)
    response = query(emulator_client, bearer, checkout_id, **overrides)
    assert (response.status_code, response.get_json()["errorMessage"]) == (status, message)


def test_query_accepts_a_fresh_timestamp(
    emulator_client: Any, bearer: dict[str, str], fake_clock: FakeClock
) -> None:
    checkout_id = push(emulator_client, bearer)
    fake_clock.advance(3)
    fresh = "20240710091600"
    response = query(
        emulator_client, bearer, checkout_id, Timestamp=fresh, Password=make_password(fresh)
    )
    assert response.status_code == 200


def test_query_needs_a_token(emulator_client: Any, bearer: dict[str, str]) -> None:
    checkout_id = push(emulator_client, bearer)
    response = emulator_client.post(QUERY_URL, json=make_query_body(checkout_id))
    assert response.status_code == 404
    assert response.get_json()["errorCode"] == "404.001.03"


def test_query_does_not_need_a_callback_to_have_been_sent(
    emulator_config: Any, fake_clock: FakeClock, stub_http: Any
) -> None:
    emulator_app = create_app(
        dataclasses.replace(emulator_config, auto_deliver=False), clock=fake_clock, http=stub_http
    )
    emulator_client = emulator_app.test_client()
    bearer = bearer_for(emulator_client)
    checkout_id = push(emulator_client, bearer)
    fake_clock.advance(3)
    assert result_of(emulator_client, bearer, checkout_id)[0] == "0"
    assert stub_http.posts == []
