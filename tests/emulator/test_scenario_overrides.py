"""Runtime scenario overrides: PUT/DELETE /_emulator/scenarios/<msisdn>, cleared by reset."""

from __future__ import annotations

from typing import Any

import pytest

from .support import FakeClock, make_query_body, make_stk_body

STK_URL = "/mpesa/stkpush/v1/processrequest"
QUERY_URL = "/mpesa/stkpushquery/v1/query"
PHONE = "254708374149"  # configured: success
SCENARIO_URL = f"/_emulator/scenarios/{PHONE}"


def outcome_for(client: Any, bearer: dict[str, str], clock: FakeClock, phone: str = PHONE) -> str:
    body = make_stk_body(PartyA=phone, PhoneNumber=phone)
    checkout_id = client.post(STK_URL, json=body, headers=bearer).get_json()["CheckoutRequestID"]
    client.post(f"/_emulator/stkpush/{checkout_id}/settle")
    clock.advance(1)
    answer = client.post(QUERY_URL, json=make_query_body(checkout_id), headers=bearer)
    return str(answer.get_json()["ResultCode"])


def test_put_overrides_the_configured_scenario(
    emulator_client: Any, bearer: dict[str, str], fake_clock: FakeClock
) -> None:
    response = emulator_client.put(SCENARIO_URL, json={"result_code": 1032})
    assert response.status_code == 200
    assert response.get_json() == {
        "msisdn": PHONE,
        "source": "override",
        "scenario": {"result_code": 1032, "result_desc": "Request cancelled by user"},
    }
    assert outcome_for(emulator_client, bearer, fake_clock) == "1032"


def test_delete_restores_the_configured_scenario(
    emulator_client: Any, bearer: dict[str, str], fake_clock: FakeClock
) -> None:
    emulator_client.put(SCENARIO_URL, json={"result_code": 1})
    response = emulator_client.delete(SCENARIO_URL)
    assert response.get_json()["source"] == "configured"
    assert response.get_json()["scenario"] == {
        "result_code": 0,
        "result_desc": "The service request is processed successfully.",
    }
    assert outcome_for(emulator_client, bearer, fake_clock) == "0"


def test_reset_clears_every_override(emulator_client: Any) -> None:
    emulator_client.put(SCENARIO_URL, json={"result_code": 1})
    emulator_client.put("/_emulator/scenarios/254711111111", json={"result_code": 2001})
    emulator_client.post("/_emulator/reset")
    assert emulator_client.get(SCENARIO_URL).get_json()["source"] == "configured"
    other = emulator_client.get("/_emulator/scenarios/254711111111").get_json()
    assert (other["source"], other["scenario"]["result_code"]) == ("default", 0)


def test_an_unconfigured_msisdn_can_be_overridden(
    emulator_client: Any, bearer: dict[str, str], fake_clock: FakeClock
) -> None:
    phone = "254111000000"
    emulator_client.put(
        f"/_emulator/scenarios/{phone}", json={"result_code": "SFC_IC0003", "delay_seconds": 0}
    )
    assert outcome_for(emulator_client, bearer, fake_clock, phone) == "SFC_IC0003"


def test_override_applies_to_pushes_accepted_after_it(
    emulator_client: Any, bearer: dict[str, str], fake_clock: FakeClock
) -> None:
    body = make_stk_body()
    earlier = emulator_client.post(STK_URL, json=body, headers=bearer).get_json()
    emulator_client.put(SCENARIO_URL, json={"result_code": 1})
    fake_clock.advance(3)
    answer = emulator_client.post(
        QUERY_URL, json=make_query_body(earlier["CheckoutRequestID"]), headers=bearer
    )
    assert answer.get_json()["ResultCode"] == "0"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "scenario.result_code: is required"),
        ({"result_code": 4242}, "scenario.result_desc: required for result code 4242"),
        ({"result_code": 0, "delay": 1}, "scenario.delay: unknown key"),
        ({"result_code": 0, "delay_seconds": -1}, "scenario.delay_seconds: must be a number"),
        ([0], "scenario: must be a mapping"),
    ],
)
def test_a_bad_scenario_is_400_naming_the_key(
    emulator_client: Any, body: Any, message: str
) -> None:
    response = emulator_client.put(SCENARIO_URL, json=body)
    assert response.status_code == 400
    error = response.get_json()
    assert list(error) == ["requestId", "errorCode", "errorMessage"]
    assert error["errorCode"] == "emulator.bad_request"
    assert error["errorMessage"].startswith(message)
    assert emulator_client.get(SCENARIO_URL).get_json()["source"] == "configured"


def test_a_body_that_is_not_json_is_400(emulator_client: Any) -> None:
    response = emulator_client.put(SCENARIO_URL, data=b"result_code: 0")
    assert response.status_code == 400
    assert response.get_json()["errorMessage"] == "scenario: the body must be a JSON object"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_the_msisdn_must_have_12_digits(emulator_client: Any, method: str) -> None:
    response = emulator_client.open(
        "/_emulator/scenarios/0708374149", method=method, json={"result_code": 0}
    )
    assert response.status_code == 400
    assert response.get_json()["errorMessage"].startswith("msisdn: must be a 12-digit MSISDN")
