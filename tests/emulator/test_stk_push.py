"""STK Push processrequest: acceptance, field validation order, merchant checks (API.md §2)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from daraja_emulator import create_app

from .support import (
    PAYER,
    REQUEST_ID,
    FakeClock,
    bearer_for,
    error_of,
    make_password,
    make_stk_body,
    sample,
)

STK_URL = "/mpesa/stkpush/v1/processrequest"


def post(emulator_client: Any, bearer: dict[str, str], body: Any) -> Any:
    return emulator_client.post(STK_URL, json=body, headers=bearer)


def test_accepted_push_matches_the_docs_response(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    response = post(emulator_client, bearer, make_stk_body())
    assert response.status_code == 200
    body = response.get_json()
    docs = sample("stk_response_daraja-docs.json")
    assert list(body) == list(docs)
    assert body["ResponseCode"] == "0"
    assert body["ResponseDescription"] == body["CustomerMessage"] == docs["CustomerMessage"]
    assert REQUEST_ID.fullmatch(body["MerchantRequestID"])
    # 2024-07-10 09:15:26.171 EAT + MSISDN without 254
    assert body["CheckoutRequestID"] == "ws_CO_10072024091526171708374149"


def test_the_docs_sample_request_is_accepted(emulator_client: Any, bearer: dict[str, str]) -> None:
    docs = sample("stk_request_daraja-docs.json")
    assert docs["Password"] == make_password(docs["Timestamp"])
    response = post(emulator_client, bearer, docs)
    assert response.status_code == 200
    assert response.get_json()["CheckoutRequestID"].endswith("722111111")


@pytest.mark.parametrize(
    "overrides",
    [
        {"BusinessShortCode": "174379", "Amount": "1", "PartyA": 254708374149, "PartyB": 174379},
        {"PhoneNumber": 254708374149, "Amount": 1.0},
        {"Amount": "25.00"},
        {"TransactionDesc": None},
        {"TransactionDesc": ""},
        {"AccountReference": 12345},
        {"Passkey": "extra", "Requester": "254700000000", "Remarks": None},
        {"CallBackURL": "http://10.0.0.5:8080/hooks/stk?t=abc"},
        {"PartyA": "254110000001", "PhoneNumber": "254110000001"},
    ],
)
def test_client_variations_are_accepted(
    emulator_client: Any, bearer: dict[str, str], overrides: dict[str, Any]
) -> None:
    assert post(emulator_client, bearer, make_stk_body(**overrides)).status_code == 200


def test_header_name_case_and_host_do_not_matter(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    headers = {
        "authorization": bearer["Authorization"],
        "content-type": "application/json",
        "Host": "x",
    }
    response = emulator_client.post(STK_URL, data=json.dumps(make_stk_body()), headers=headers)
    assert response.status_code == 200


def test_timestamp_in_utc_or_eat_both_pass_when_password_matches(
    emulator_client: Any, bearer: dict[str, str], fake_clock: FakeClock
) -> None:
    utc = "20240710061526"
    assert (
        post(
            emulator_client, bearer, make_stk_body(Timestamp=utc, Password=make_password(utc))
        ).status_code
        == 200
    )
    fake_clock.advance(60)
    eat = "20240710091526"
    body = make_stk_body(Timestamp=eat, Password=make_password(eat))
    assert post(emulator_client, bearer, body).status_code == 200


BAD_FIELDS = [
    ("BusinessShortCode", None),
    ("BusinessShortCode", "1234"),
    ("BusinessShortCode", "12345678"),
    ("BusinessShortCode", "17437a"),
    ("BusinessShortCode", True),
    ("Timestamp", None),
    ("Timestamp", "2024071009152"),
    ("Timestamp", "20241310091526"),
    ("Timestamp", "20240230091526"),
    ("Timestamp", "2024-07-10 09:15"),
    ("TransactionType", "CustomerPayBill"),
    ("TransactionType", "customerpaybillonline"),
    ("TransactionType", None),
    ("Amount", 0),
    ("Amount", -5),
    ("Amount", 10.5),
    ("Amount", "10.5"),
    ("Amount", "ten"),
    ("Amount", 250001),
    ("Amount", None),
    ("Amount", True),
    ("PartyA", "0708374149"),
    ("PartyA", "+254708374149"),
    ("PartyA", None),
    ("PartyB", "12"),
    ("PartyB", None),
    ("PhoneNumber", "254708374"),
    ("PhoneNumber", "255708374149"),
    ("PhoneNumber", "254208374149"),
    ("PhoneNumber", None),
    ("CallBackURL", None),
    ("CallBackURL", ""),
    ("CallBackURL", "example.com/cb"),
    ("CallBackURL", "ftp://example.com/cb"),
    ("CallBackURL", "https://example.com/cb "),
    ("CallBackURL", " https://example.com/cb"),
    ("CallBackURL", "https://example.com/c b"),
    ("CallBackURL", "https:///nohost"),
    ("CallBackURL", "https://example.com:port/cb"),
    ("AccountReference", None),
    ("AccountReference", ""),
    ("AccountReference", ["INV"]),
    ("TransactionDesc", {"a": 1}),
]


@pytest.mark.parametrize(("field", "value"), BAD_FIELDS)
def test_bad_field_is_400_002_02_naming_it(
    emulator_client: Any, bearer: dict[str, str], field: str, value: Any
) -> None:
    response = post(emulator_client, bearer, make_stk_body(**{field: value}))
    assert error_of(response) == (400, "400.002.02", f"Bad Request - Invalid {field}")


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/mpesa/callback",
        "https://example.com/M-PESA/cb",
        "https://safaricom-hooks.example.com/cb",
        "https://example.com/cb.exe",
        "https://example.com/Exec/cb",
        "https://example.com/cmd",
        "https://example.com/sqlite/cb",
        "https://example.com/cb?query=1",
        "https://MPESA.example.com/cb",
    ],
)
def test_forbidden_words_in_callback_url_are_rejected(
    emulator_client: Any, bearer: dict[str, str], url: str
) -> None:
    response = post(emulator_client, bearer, make_stk_body(CallBackURL=url))
    assert error_of(response) == (400, "400.002.02", "Bad Request - Invalid CallBackURL")


def test_forbidden_words_can_be_allowed(emulator_config: Any, fake_clock: FakeClock) -> None:
    emulator_app = create_app(
        dataclasses.replace(emulator_config, reject_forbidden_callback_words=False),
        clock=fake_clock,
    )
    emulator_client = emulator_app.test_client()
    body = make_stk_body(CallBackURL="https://example.com/mpesa/cb")
    assert (
        emulator_client.post(STK_URL, json=body, headers=bearer_for(emulator_client)).status_code
        == 200
    )


def test_fields_are_validated_in_daraja_order(emulator_client: Any, bearer: dict[str, str]) -> None:
    body = make_stk_body(Amount=0, PhoneNumber="07", CallBackURL="x", BusinessShortCode="1")
    assert (
        error_of(post(emulator_client, bearer, body))[2]
        == "Bad Request - Invalid BusinessShortCode"
    )
    body["BusinessShortCode"] = 174379
    assert error_of(post(emulator_client, bearer, body))[2] == "Bad Request - Invalid Amount"


def test_max_amount_is_configurable(emulator_config: Any, fake_clock: FakeClock) -> None:
    emulator_app = create_app(
        dataclasses.replace(emulator_config, max_amount=70000), clock=fake_clock
    )
    emulator_client = emulator_app.test_client()
    headers = bearer_for(emulator_client)
    assert (
        emulator_client.post(STK_URL, json=make_stk_body(Amount=70001), headers=headers).status_code
        == 400
    )
    assert (
        emulator_client.post(STK_URL, json=make_stk_body(Amount=70000), headers=headers).status_code
        == 200
    )


def test_unknown_shortcode_is_merchant_does_not_exist(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    body = make_stk_body(BusinessShortCode="600000", Password=make_password(shortcode="600000"))
    assert error_of(post(emulator_client, bearer, body)) == (
        500,
        "500.001.1001",
        "Merchant does not exist",
    )


@pytest.mark.parametrize(
    "password",
    [
        make_password("20240710091527"),  # another timestamp than the one sent
        make_password().lower(),
        "",
        None,
        12345,
    ],
)
def test_wrong_password_is_wrong_credentials(
    emulator_client: Any, bearer: dict[str, str], password: Any
) -> None:
    response = post(emulator_client, bearer, make_stk_body(Password=password))
    assert error_of(response) == (500, "500.001.1001", "Wrong credentials")


def test_field_errors_come_before_merchant_checks(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    body = make_stk_body(Password="bad", PhoneNumber="123")
    assert error_of(post(emulator_client, bearer, body))[2] == "Bad Request - Invalid PhoneNumber"


def test_second_push_to_a_busy_handset_cannot_lock_the_subscriber(
    emulator_client: Any, bearer: dict[str, str], fake_clock: FakeClock
) -> None:
    assert post(emulator_client, bearer, make_stk_body()).status_code == 200
    fake_clock.advance(2.9)
    assert error_of(post(emulator_client, bearer, make_stk_body(Amount=20))) == (
        500,
        "500.001.1001",
        "Unable to lock subscriber, a transaction is already in process for the current subscriber",
    )
    other = make_stk_body(PartyA="254708374150", PhoneNumber="254708374150")
    assert post(emulator_client, bearer, other).status_code == 200
    fake_clock.advance(0.1)  # the first push (3 s delay) is now decided
    assert post(emulator_client, bearer, make_stk_body(Amount=20)).status_code == 200


def test_accepted_push_is_recorded_for_the_phone(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    checkout_id = post(emulator_client, bearer, make_stk_body(Amount="7")).get_json()[
        "CheckoutRequestID"
    ]
    state = emulator_client.get(f"/_emulator/stkpush/{checkout_id}").get_json()
    assert (state["phone"], state["amount"], state["result_code"]) == (PAYER, 7, 0)
