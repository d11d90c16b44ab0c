"""C2B simulate, v1 and v2: the answer, field errors, payments without URLs, the control API's
view of payments (API.md §4.2 step 5, §4.4)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from .c2b_support import (
    CONFIRMATION_URL,
    PAYER,
    SHORTCODE,
    VALIDATION_URL,
    accounts,
    make_simulate_body,
    payment,
    register,
    settle,
    simulate,
    simulate_path,
)
from .support import REQUEST_ID, FakeClock, StubHttp, error_of, sample

RECEIPT = r"SGA[0-9A-Z]{7}"  # 2024-07-10: S (2024), G (July), A (the 10th)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_the_answer_matches_the_v2_docs(
    emulator_client: Any, bearer: dict[str, str], version: str
) -> None:
    response = emulator_client.post(
        simulate_path(version), json=sample("c2b_simulate_request_daraja-docs.json"), headers=bearer
    )
    assert response.status_code == 200
    docs = sample("c2b_simulate_response_v2_daraja-docs.json")
    answer = response.get_json()
    assert list(answer) == list(docs)
    assert (answer["ResponseCode"], answer["ResponseDescription"]) == (
        "0",
        "Accept the service request successfully.",
    )
    assert REQUEST_ID.fullmatch(answer["OriginatorCoversationID"])


def test_without_registered_urls_the_payment_completes_and_nothing_is_sent(
    emulator_client: Any, bearer: dict[str, str], stub_http: StubHttp, fake_clock: FakeClock
) -> None:
    view = simulate(emulator_client, bearer)
    assert (view["state"], view["registration"], view["callbacks"]) == ("completed", None, [])
    assert view["verdict"]["source"] == "no_urls"
    assert view["decided_at"] == fake_clock()
    assert accounts(emulator_client)["Utility Account"] == "1000005.00"
    assert settle(emulator_client, view["trans_id"])["deliveries"] == []
    redeliver = emulator_client.post(f"/_emulator/c2b/payments/{view['trans_id']}/redeliver")
    assert error_of(redeliver)[:2] == (409, "emulator.no_confirmation")
    assert stub_http.posts == []


def test_a_payment_shows_its_request_registration_and_callbacks(
    emulator_client: Any, bearer: dict[str, str], fake_clock: FakeClock
) -> None:
    register(emulator_client, bearer, "v1", ResponseType="Cancelled")
    view = simulate(emulator_client, bearer, "v2", Amount="10", Msisdn=PAYER)
    assert (
        view["trans_id"] == payment(emulator_client, view["originator_conversation_id"])["trans_id"]
    )
    assert re.fullmatch(RECEIPT, view["trans_id"])
    assert view["request"] == {
        "version": "v2",
        "shortcode": SHORTCODE,
        "command_id": "CustomerPayBillOnline",
        "amount": 10,
        "msisdn": PAYER,
        "bill_ref_number": "Sample Transaction",
    }
    assert (view["registration"]["version"], view["registration"]["response_type"]) == (
        "v1",
        "Cancelled",
    )
    assert (view["state"], view["verdict"], view["trans_time"]) == (
        "pending",
        None,
        "20240710091526",
    )
    due = fake_clock() + 3  # callback_delay_seconds
    assert view["callbacks"] == [
        {
            "kind": "validation",
            "due_at": due,
            "copies": 1,
            "dropped": False,
            "state": "scheduled",
            "url": VALIDATION_URL,
            "timeout": 8,
        },
        {
            "kind": "confirmation",
            "due_at": due,
            "copies": 1,
            "dropped": False,
            "state": "scheduled",
            "url": CONFIRMATION_URL,
        },
    ]


def test_payments_are_listed_oldest_first_and_filtered_by_shortcode(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    first = simulate(emulator_client, bearer)["trans_id"]
    second = simulate(emulator_client, bearer, ShortCode="600985")["trans_id"]
    listed = emulator_client.get("/_emulator/c2b/payments").get_json()
    assert [p["trans_id"] for p in listed] == [first, second]
    only = emulator_client.get("/_emulator/c2b/payments?shortcode=600985").get_json()
    assert [p["trans_id"] for p in only] == [second]


@pytest.mark.parametrize("action", ["", "/settle", "/deliver", "/redeliver"])
def test_an_unknown_payment_is_404(emulator_client: Any, action: str) -> None:
    method = emulator_client.get if action == "" else emulator_client.post
    response = method(f"/_emulator/c2b/payments/SGA0000001{action}")
    assert error_of(response)[:2] == (404, "emulator.not_found")


@pytest.mark.parametrize(
    "overrides",
    [
        {"ShortCode": "600984", "Amount": "1", "Msisdn": PAYER},  # strings
        {"Amount": 1.0},  # an integral float (a Rust library sends f64)
        {"CommandID": "CustomerBuyGoodsOnline", "BillRefNumber": None},  # a till: no reference
        {"CommandID": "CustomerBuyGoodsOnline", "BillRefNumber": ""},
        {"BillRefNumber": 12345},  # an account number sent as a number
        {"ShortCode": "174379"},  # the STK merchant has books too
        {"Passkey": "ignored", "OriginatorConversationID": "ignored"},  # unknown fields
    ],
)
def test_what_clients_send_is_accepted(
    emulator_client: Any, bearer: dict[str, str], overrides: dict[str, Any]
) -> None:
    assert simulate(emulator_client, bearer, **overrides)["state"] == "completed"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ShortCode", None),
        ("ShortCode", "12"),
        ("ShortCode", "999999"),  # well formed, but no such organisation
        ("CommandID", None),
        ("CommandID", "CustomerPayBill"),
        ("CommandID", "BusinessPayBill"),
        ("Amount", None),
        ("Amount", 0),
        ("Amount", 1.5),
        ("Amount", 250001),
        ("Msisdn", None),
        ("Msisdn", "0708374149"),
        ("Msisdn", "25470837414"),
        ("BillRefNumber", "x" * 21),
        ("BillRefNumber", ["list"]),
    ],
)
def test_invalid_fields_are_400_naming_the_field(
    emulator_client: Any, bearer: dict[str, str], field: str, value: Any
) -> None:
    body = make_simulate_body(**{field: value})
    response = emulator_client.post(simulate_path(), json=body, headers=bearer)
    assert error_of(response) == (400, "400.002.02", f"Bad Request - Invalid {field}")
    assert emulator_client.get("/_emulator/c2b/payments").get_json() == []


def test_a_wrong_content_type_names_the_first_field(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    response = emulator_client.post(simulate_path("v1"), data="{}", headers=bearer)
    assert error_of(response) == (400, "400.002.02", "Bad Request - Invalid ShortCode")


def test_a_throttling_fault_refuses_the_payment(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    emulator_client.put(
        f"/_emulator/scenarios/{PAYER}", json={"result_code": 0, "fault": "spike_arrest"}
    )
    response = emulator_client.post(simulate_path(), json=make_simulate_body(), headers=bearer)
    assert error_of(response) == (500, "500.003.02", "Error Occurred: Spike Arrest Violation")
    assert emulator_client.get("/_emulator/c2b/payments").get_json() == []


def test_a_nonzero_response_code_fault_accepts_nothing(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    scenario = {"result_code": 0, "fault": "nonzero_response_code"}
    emulator_client.put(f"/_emulator/scenarios/{PAYER}", json=scenario)
    response = emulator_client.post(simulate_path(), json=make_simulate_body(), headers=bearer)
    answer = response.get_json()
    assert (response.status_code, answer["ResponseCode"]) == (200, "1")
    assert list(answer) == ["OriginatorCoversationID", "ResponseCode", "ResponseDescription"]
    assert emulator_client.get("/_emulator/c2b/payments").get_json() == []


def test_reset_forgets_payments_and_registrations(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    register(emulator_client, bearer)
    trans_id = simulate(emulator_client, bearer)["trans_id"]
    emulator_client.post("/_emulator/reset")
    assert emulator_client.get("/_emulator/c2b/payments").get_json() == []
    assert emulator_client.get("/_emulator/c2b/registrations").get_json() == []
    assert emulator_client.get(f"/_emulator/c2b/payments/{trans_id}").status_code == 404
    assert emulator_client.get("/_emulator/stats").get_json()["c2b_simulate_requests"] == 0
