"""C2B validation: the ValidationURL's verdict, and the registered ResponseType when it gives
none in time (API.md §4.2, §4.3, §16). Timeouts are simulated by the stub session: no waiting."""

from __future__ import annotations

import dataclasses
import json
import random
from typing import Any

import pytest
import requests

from daraja_emulator import EmulatorConfig, create_app

from .c2b_support import (
    ACCEPT,
    CONFIRMATION_URL,
    REJECT,
    VALIDATION_URL,
    accounts,
    paid,
    posted,
    register,
    simulate,
)
from .support import FakeClock, StubHttp, StubResponse, bearer_for, error_of, sample


def answer_validation(stub_http: StubHttp, answer: StubResponse | Exception) -> None:
    stub_http.answers[VALIDATION_URL] = answer


@pytest.mark.parametrize(
    "body",
    [
        ACCEPT,
        json.dumps(sample("c2b_validation_response_accept_daraja-docs.json")),
        '{"ResultCode":0,"ResultDesc":"Accepted"}',  # a number, as many receivers answer
        '{"ResultCode":" 0 "}',
    ],
)
def test_an_accepting_answer_completes_the_payment(
    emulator_client: Any, bearer: dict[str, str], stub_http: StubHttp, body: str
) -> None:
    register(emulator_client, bearer, ResponseType="Cancelled")
    answer_validation(stub_http, StubResponse(200, body))
    view = paid(emulator_client, bearer)
    assert (view["state"], view["verdict"]["source"]) == ("completed", "validation")
    assert view["verdict"]["result_code"] == "0"
    assert [post["url"] for post in stub_http.posts] == [VALIDATION_URL, CONFIRMATION_URL]
    assert accounts(emulator_client)["Utility Account"] == "1000005.00"


@pytest.mark.parametrize(
    "code", ["C2B00011", "C2B00012", "C2B00013", "C2B00014", "C2B00015", "C2B00016", "1", 1]
)
def test_a_rejecting_answer_cancels_the_payment_without_confirmation(
    emulator_client: Any, bearer: dict[str, str], stub_http: StubHttp, code: Any
) -> None:
    register(emulator_client, bearer, ResponseType="Completed")
    answer_validation(stub_http, StubResponse(200, json.dumps({"ResultCode": code})))
    view = paid(emulator_client, bearer)
    assert (view["state"], view["verdict"]["result_code"]) == ("cancelled", str(code))
    assert [post["url"] for post in stub_http.posts] == [VALIDATION_URL]
    assert [d["kind"] for d in view["deliveries"]] == ["validation"]
    assert accounts(emulator_client)["Utility Account"] == "1000000.00"


def test_the_docs_rejection_sample_is_recorded_as_the_verdict(
    emulator_client: Any, bearer: dict[str, str], stub_http: StubHttp
) -> None:
    register(emulator_client, bearer)
    answer_validation(stub_http, StubResponse(200, REJECT))
    assert paid(emulator_client, bearer)["verdict"] == {
        "completed": False,
        "source": "validation",
        "result_code": "C2B00011",
        "result_desc": "Rejected",
        "third_party_trans_id": "",
        "problem": None,
    }


def test_other_apis_ack_code_rejects_a_c2b_payment(
    emulator_client: Any, bearer: dict[str, str], stub_http: StubHttp
) -> None:
    """API.md §14: 0 for C2B, 00000000 for other APIs; anything else is a rejection."""
    register(emulator_client, bearer)
    answer_validation(stub_http, StubResponse(200, '{"ResultCode":"00000000"}'))
    assert paid(emulator_client, bearer)["state"] == "cancelled"


NO_VERDICT = [
    pytest.param(requests.ReadTimeout("read timed out"), "ReadTimeout", id="timeout"),
    pytest.param(requests.ConnectionError("refused"), "ConnectionError", id="unreachable"),
    pytest.param(StubResponse(500, ACCEPT), "HTTP 500", id="http-500"),
    pytest.param(StubResponse(200, "<html>OK</html>"), "not JSON", id="not-json"),
    pytest.param(StubResponse(200, '{"ResultDesc":"Accepted"}'), "no ResultCode", id="no-code"),
    pytest.param(StubResponse(200, '{"ResultCode":null}'), "no ResultCode", id="null-code"),
]


@pytest.mark.parametrize(("answer", "problem"), NO_VERDICT)
def test_without_a_verdict_completed_completes(
    emulator_client: Any, bearer: dict[str, str], stub_http: StubHttp, answer: Any, problem: str
) -> None:
    register(emulator_client, bearer, ResponseType="Completed")
    answer_validation(stub_http, answer)
    view = paid(emulator_client, bearer)
    assert (view["state"], view["verdict"]["source"]) == ("completed", "response_type")
    assert problem in view["verdict"]["problem"]
    [confirmation] = posted(stub_http, CONFIRMATION_URL)
    assert confirmation["ThirdPartyTransID"] == ""
    assert accounts(emulator_client)["Utility Account"] == "1000005.00"


@pytest.mark.parametrize(("answer", "problem"), NO_VERDICT)
def test_without_a_verdict_cancelled_sends_nothing_more(
    emulator_client: Any, bearer: dict[str, str], stub_http: StubHttp, answer: Any, problem: str
) -> None:
    register(emulator_client, bearer, ResponseType="Cancelled")
    answer_validation(stub_http, answer)
    view = paid(emulator_client, bearer)
    assert (view["state"], view["verdict"]["source"]) == ("cancelled", "response_type")
    assert posted(stub_http, CONFIRMATION_URL) == []
    assert accounts(emulator_client)["Utility Account"] == "1000000.00"


def test_the_validation_request_waits_the_validation_timeout(
    emulator_client: Any, bearer: dict[str, str], stub_http: StubHttp
) -> None:
    """API.md §16: under ~8 s for the verdict; the confirmation gets the usual callback timeout."""
    register(emulator_client, bearer)
    paid(emulator_client, bearer)
    timeouts = {post["url"]: post["timeout"] for post in stub_http.posts}
    assert timeouts == {VALIDATION_URL: 8, CONFIRMATION_URL: 10}


def test_the_validation_timeout_is_configurable(
    emulator_config: EmulatorConfig, fake_clock: FakeClock, stub_http: StubHttp
) -> None:
    config = dataclasses.replace(emulator_config, c2b_validation_timeout_seconds=0.25)
    app = create_app(config, clock=fake_clock, http=stub_http, rng=random.Random(3))  # type: ignore[arg-type]
    client = app.test_client()
    bearer = bearer_for(client)
    register(client, bearer)
    paid(client, bearer)
    assert stub_http.posts[0]["timeout"] == 0.25


def test_a_third_party_trans_id_in_the_accept_is_echoed_in_the_confirmation(
    emulator_client: Any, bearer: dict[str, str], stub_http: StubHttp
) -> None:
    register(emulator_client, bearer)
    answer = '{"ResultCode":"0","ResultDesc":"Accepted","ThirdPartyTransID":"1234567890"}'
    answer_validation(stub_http, StubResponse(200, answer))
    view = paid(emulator_client, bearer)
    [validation] = posted(stub_http, VALIDATION_URL)
    [confirmation] = posted(stub_http, CONFIRMATION_URL)
    assert validation["ThirdPartyTransID"] == ""
    assert confirmation["ThirdPartyTransID"] == "1234567890"
    assert view["verdict"]["third_party_trans_id"] == "1234567890"


def test_validation_and_confirmation_carry_the_same_payment(
    emulator_client: Any, bearer: dict[str, str], stub_http: StubHttp
) -> None:
    register(emulator_client, bearer)
    paid(emulator_client, bearer)
    [validation] = posted(stub_http, VALIDATION_URL)
    [confirmation] = posted(stub_http, CONFIRMATION_URL)
    assert validation["OrgAccountBalance"] == ""  # blank in validation requests (§4.3)
    assert confirmation["OrgAccountBalance"] == "1000005.00"
    different = {k for k in validation if validation[k] != confirmation[k]}
    assert different == {"OrgAccountBalance"}


def test_with_external_validation_off_only_the_confirmation_is_sent(
    emulator_config: EmulatorConfig, fake_clock: FakeClock, stub_http: StubHttp
) -> None:
    """API.md §4.2 step 4."""
    config = dataclasses.replace(emulator_config, c2b_external_validation=False)
    app = create_app(config, clock=fake_clock, http=stub_http, rng=random.Random(3))  # type: ignore[arg-type]
    client = app.test_client()
    bearer = bearer_for(client)
    register(client, bearer, ResponseType="Cancelled")
    view = paid(client, bearer)
    assert (view["state"], view["verdict"]["source"]) == ("completed", "no_validation")
    assert [post["url"] for post in stub_http.posts] == [CONFIRMATION_URL]


def test_the_registration_in_force_at_payment_time_is_used(
    emulator_client: Any, bearer: dict[str, str], stub_http: StubHttp
) -> None:
    register(emulator_client, bearer, "v2", ResponseType="Completed")
    trans_id = simulate(emulator_client, bearer)["trans_id"]
    register(emulator_client, bearer, "v1", ResponseType="Cancelled")
    answer_validation(stub_http, requests.ReadTimeout("read timed out"))
    view = emulator_client.post(f"/_emulator/c2b/payments/{trans_id}/settle").get_json()
    assert view["state"] == "completed"
    assert "*****" in posted(stub_http, CONFIRMATION_URL)[0]["MSISDN"]  # v2, as registered then


def test_redeliver_needs_a_completed_payment(
    emulator_client: Any, bearer: dict[str, str], stub_http: StubHttp
) -> None:
    register(emulator_client, bearer)
    trans_id = simulate(emulator_client, bearer)["trans_id"]
    pending = emulator_client.post(f"/_emulator/c2b/payments/{trans_id}/redeliver")
    assert error_of(pending)[:2] == (409, "emulator.not_decided")
    answer_validation(stub_http, StubResponse(200, REJECT))
    emulator_client.post(f"/_emulator/c2b/payments/{trans_id}/settle")
    cancelled = emulator_client.post(f"/_emulator/c2b/payments/{trans_id}/redeliver")
    assert error_of(cancelled)[:2] == (409, "emulator.no_confirmation")
