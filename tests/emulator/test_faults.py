"""Scripted processrequest faults over real loopback HTTP (scenario `fault`, API.md §13)."""

from __future__ import annotations

import json
import time

import pytest
import requests

from daraja_emulator import EmulatorServer

from .support import REQUEST_ID, CallbackReceiver, Daraja, FakeClock

PHONE = "254711000001"
LOCKED = "Unable to lock subscriber, a transaction is already in process for the current subscriber"


def assert_nothing_accepted(daraja: Daraja) -> None:
    """No push stored, no subscriber lock: the same handset can be pushed at once."""
    assert daraja.pushes(PHONE) == []
    daraja.script(PHONE, result_code=0)
    assert daraja.post_push(PHONE).status_code == 200


def assert_accepted_and_locked(daraja: Daraja) -> dict:
    """One push stored for PHONE; a second push finds the subscriber locked."""
    [push] = daraja.pushes(PHONE)
    second = daraja.post_push(PHONE)
    assert (second.status_code, second.json()["errorMessage"]) == (500, LOCKED)
    return push


@pytest.mark.parametrize(
    ("fault", "code", "message"),
    [
        ("spike_arrest", "500.003.02", "Error Occurred: Spike Arrest Violation"),
        ("quota_violation", "500.003.03", "Error Occurred: Quota Violation"),
    ],
)
def test_throttling_faults_answer_daraja_envelopes_and_accept_nothing(
    daraja: Daraja, fault: str, code: str, message: str
) -> None:
    daraja.script(PHONE, result_code=0, fault=fault)
    response = daraja.post_push(PHONE)
    assert response.status_code == 500
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert list(body) == ["requestId", "errorCode", "errorMessage"]
    assert REQUEST_ID.fullmatch(body["requestId"])
    assert (body["errorCode"], body["errorMessage"]) == (code, message)
    assert_nothing_accepted(daraja)


def test_html_503_is_a_gateway_page_and_accepts_nothing(daraja: Daraja) -> None:
    daraja.script(PHONE, result_code=0, fault="html_503")
    response = daraja.post_push(PHONE)
    assert (response.status_code, response.reason) == (503, "Service Unavailable")
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.text.startswith("<!DOCTYPE html>") and "503" in response.text
    with pytest.raises(requests.JSONDecodeError):
        response.json()
    assert_nothing_accepted(daraja)


def test_nonzero_response_code_keeps_the_success_shape_and_accepts_nothing(
    daraja: Daraja,
) -> None:
    daraja.script(PHONE, result_code=0, fault="nonzero_response_code")
    response = daraja.post_push(PHONE)
    assert response.status_code == 200
    body = response.json()
    assert list(body) == [
        "MerchantRequestID",
        "CheckoutRequestID",
        "ResponseCode",
        "ResponseDescription",
        "CustomerMessage",
    ]
    assert (body["ResponseCode"], body["CheckoutRequestID"]) == ("1", "")
    assert REQUEST_ID.fullmatch(body["MerchantRequestID"])
    assert body["ResponseDescription"] == body["CustomerMessage"] != ""
    assert_nothing_accepted(daraja)


def test_html_504_hides_an_accepted_push_whose_callback_still_comes(
    daraja: Daraja,
    live_emulator: EmulatorServer,
    receiver: CallbackReceiver,
    fake_clock: FakeClock,
) -> None:
    daraja.script(PHONE, result_code=0, fault="html_504")
    response = daraja.post_push(PHONE)
    assert (response.status_code, response.reason) == (504, "Gateway Timeout")
    assert response.headers["Content-Type"].startswith("text/html")
    push = assert_accepted_and_locked(daraja)
    fake_clock.advance(3)
    live_emulator.scheduler.wake()
    record = live_emulator.wait_for_delivery(push["checkout_request_id"], timeout=10)
    assert record is not None and record["status_code"] == 200
    assert receiver.texts_for(push["checkout_request_id"]) == [record["body"]]


def test_truncated_answer_is_half_the_success_body_with_a_true_content_length(
    daraja: Daraja,
) -> None:
    daraja.script(PHONE, result_code=0, fault="truncated")
    response = daraja.post_push(PHONE)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert int(response.headers["Content-Length"]) == len(response.content)
    with pytest.raises(requests.JSONDecodeError):
        response.json()
    push = assert_accepted_and_locked(daraja)
    whole = json.dumps(
        {
            "MerchantRequestID": push["merchant_request_id"],
            "CheckoutRequestID": push["checkout_request_id"],
            "ResponseCode": "0",
            "ResponseDescription": "Success. Request accepted for processing",
            "CustomerMessage": "Success. Request accepted for processing",
        },
        separators=(",", ":"),
    )
    whole += "\n"
    assert response.text == whole[: len(whole) // 2]


def test_slow_answer_outlasts_a_short_client_timeout_but_the_push_is_accepted(
    daraja: Daraja,
) -> None:
    daraja.script(PHONE, result_code=0, fault="slow", answer_delay_seconds=0.5)
    with pytest.raises(requests.ReadTimeout):
        daraja.post_push(PHONE, timeout=0.1)  # the push itself is stored within milliseconds
    push = assert_accepted_and_locked(daraja)
    assert push["decided"] is False


def test_slow_answer_arrives_after_the_answer_delay(daraja: Daraja) -> None:
    daraja.script(PHONE, result_code=0, fault="slow", answer_delay_seconds=0.2)
    started = time.monotonic()
    response = daraja.post_push(PHONE, timeout=5)
    assert time.monotonic() - started >= 0.2
    assert response.status_code == 200
    assert response.json()["CheckoutRequestID"] == daraja.pushes(PHONE)[0]["checkout_request_id"]


def test_faults_apply_only_to_their_msisdn_and_count_as_requests(daraja: Daraja) -> None:
    daraja.script(PHONE, result_code=0, fault="spike_arrest")
    assert daraja.post_push(PHONE).status_code == 500
    assert daraja.post_push("254711000002").status_code == 200
    assert daraja.stats()["stk_push_requests"] == 2


def test_validation_errors_come_before_the_fault(daraja: Daraja) -> None:
    daraja.script(PHONE, result_code=0, fault="spike_arrest")
    response = daraja.post_push(PHONE, Amount=0)
    assert response.json()["errorMessage"] == "Bad Request - Invalid Amount"
