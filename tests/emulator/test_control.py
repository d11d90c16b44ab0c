"""The /_emulator/ control API, with a stub HTTP session standing in for the callback receiver."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from .support import (
    PAYER,
    FakeClock,
    StubHttp,
    StubResponse,
    bearer_for,
    make_query_body,
    make_stk_body,
)

STK_URL = "/mpesa/stkpush/v1/processrequest"


def push(client: Any, bearer: dict[str, str], **overrides: Any) -> str:
    response = client.post(STK_URL, json=make_stk_body(**overrides), headers=bearer)
    assert response.status_code == 200, response.get_json()
    return str(response.get_json()["CheckoutRequestID"])


def test_health(emulator_client: Any) -> None:
    response = emulator_client.get("/_emulator/health")
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})


def test_push_state_shows_the_request_and_when_it_is_decided(
    emulator_client: Any, bearer: dict[str, str], fake_clock: FakeClock
) -> None:
    checkout_id = push(emulator_client, bearer, PartyA="254708374151", PhoneNumber="254708374151")
    state = emulator_client.get(f"/_emulator/stkpush/{checkout_id}").get_json()
    assert state["checkout_request_id"] == checkout_id
    assert (state["phone"], state["amount"], state["result_code"]) == ("254708374151", 10, 1032)
    assert state["decide_at"] == pytest.approx(fake_clock() + 3)
    assert (state["decided"], state["receipt"], state["deliveries"]) == (False, None, [])
    fake_clock.advance(3)
    assert emulator_client.get(f"/_emulator/stkpush/{checkout_id}").get_json()["decided"] is True


@pytest.mark.parametrize(
    ("method", "suffix"), [("GET", ""), ("POST", "/settle"), ("POST", "/redeliver")]
)
def test_unknown_push_is_404(emulator_client: Any, method: str, suffix: str) -> None:
    response = emulator_client.open(f"/_emulator/stkpush/ws_CO_nope{suffix}", method=method)
    assert response.status_code == 404
    assert response.get_json()["errorCode"] == "emulator.not_found"


def test_settle_decides_now_and_posts_the_callback_once(
    emulator_client: Any, bearer: dict[str, str], fake_clock: FakeClock, stub_http: StubHttp
) -> None:
    checkout_id = push(emulator_client, bearer, PartyA="254708374152", PhoneNumber="254708374152")
    fake_clock.advance(1)  # long before the 60 s no-answer timeout
    record = emulator_client.post(f"/_emulator/stkpush/{checkout_id}/settle").get_json()
    assert record["status_code"] == 200 and record["error"] is None
    assert record["checkout_request_id"] == checkout_id
    assert (record["kind"], record["sent_at"]) == ("callback", fake_clock())
    assert json.loads(record["body"])["Body"]["stkCallback"]["ResultCode"] == 1037
    [sent] = stub_http.posts
    assert sent["url"] == "https://example.com/callbacks/stk"
    assert sent["headers"] == {"Content-Type": "application/json"}
    assert sent["data"] == record["body"].encode()
    assert sent["timeout"] == 10
    again = emulator_client.post(f"/_emulator/stkpush/{checkout_id}/settle").get_json()
    assert again == record
    assert len(stub_http.posts) == 1
    query = emulator_client.post(
        "/mpesa/stkpushquery/v1/query", json=make_query_body(checkout_id), headers=bearer
    )
    assert query.get_json()["ResultCode"] == "1037"


def test_settle_after_the_decision_keeps_the_original_decision_time(
    emulator_client: Any, bearer: dict[str, str], fake_clock: FakeClock
) -> None:
    checkout_id = push(emulator_client, bearer)
    decided_at = fake_clock() + 3
    fake_clock.advance(100)
    emulator_client.post(f"/_emulator/stkpush/{checkout_id}/settle")
    state = emulator_client.get(f"/_emulator/stkpush/{checkout_id}").get_json()
    assert state["decide_at"] == pytest.approx(decided_at)


def test_delivery_errors_are_recorded_not_raised(
    emulator_client: Any, bearer: dict[str, str], stub_http: StubHttp
) -> None:
    stub_http.answer = requests.ConnectionError("connection refused")
    checkout_id = push(emulator_client, bearer)
    record = emulator_client.post(f"/_emulator/stkpush/{checkout_id}/settle").get_json()
    assert record["status_code"] is None
    assert record["error"] == "ConnectionError: connection refused"


def test_receiver_body_is_recorded_truncated(
    emulator_client: Any, bearer: dict[str, str], stub_http: StubHttp
) -> None:
    stub_http.answer = StubResponse(503, "x" * 5000)
    checkout_id = push(emulator_client, bearer)
    record = emulator_client.post(f"/_emulator/stkpush/{checkout_id}/settle").get_json()
    assert record["status_code"] == 503
    assert record["response_body"] == "x" * 2000
    assert len(stub_http.posts) == 1  # no retry


def test_redeliver_needs_a_decided_push_then_sends_the_same_body_again(
    emulator_client: Any, bearer: dict[str, str], stub_http: StubHttp
) -> None:
    checkout_id = push(emulator_client, bearer)
    early = emulator_client.post(f"/_emulator/stkpush/{checkout_id}/redeliver")
    assert early.status_code == 409
    assert early.get_json()["errorCode"] == "emulator.not_decided"
    first = emulator_client.post(f"/_emulator/stkpush/{checkout_id}/settle").get_json()
    second = emulator_client.post(f"/_emulator/stkpush/{checkout_id}/redeliver").get_json()
    assert second["kind"] == "redelivery"
    assert second["body"] == first["body"]
    assert [p["data"] for p in stub_http.posts] == [first["body"].encode()] * 2
    state = emulator_client.get(f"/_emulator/stkpush/{checkout_id}").get_json()
    assert [d["kind"] for d in state["deliveries"]] == ["callback", "redelivery"]


def test_callbacks_lists_every_delivery_in_order(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    first = push(emulator_client, bearer)
    second = push(emulator_client, bearer, PartyA="254708374150", PhoneNumber="254708374150")
    emulator_client.post(f"/_emulator/stkpush/{second}/settle")
    emulator_client.post(f"/_emulator/stkpush/{first}/settle")
    emulator_client.post(f"/_emulator/stkpush/{second}/redeliver")
    records = emulator_client.get("/_emulator/callbacks").get_json()
    assert [(r["checkout_request_id"], r["kind"]) for r in records] == [
        (second, "callback"),
        (first, "callback"),
        (second, "redelivery"),
    ]


def test_reset_forgets_tokens_pushes_and_callbacks(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    checkout_id = push(emulator_client, bearer)
    emulator_client.post(f"/_emulator/stkpush/{checkout_id}/settle")
    assert emulator_client.post("/_emulator/reset").get_json() == {"status": "ok"}
    assert emulator_client.get(f"/_emulator/stkpush/{checkout_id}").status_code == 404
    assert emulator_client.get("/_emulator/callbacks").get_json() == []
    response = emulator_client.post(STK_URL, json=make_stk_body(), headers=bearer)
    assert response.get_json()["errorCode"] == "404.001.03"


def test_reset_frees_the_subscriber_lock(emulator_client: Any, bearer: dict[str, str]) -> None:
    push(emulator_client, bearer)
    emulator_client.post("/_emulator/reset")
    assert push(emulator_client, bearer_for(emulator_client), PhoneNumber=PAYER)


def stats(client: Any) -> dict[str, int]:
    response = client.get("/_emulator/stats")
    assert response.status_code == 200
    return dict(response.get_json())


RESULT_PRODUCT_STATS = {
    "b2c_requests": 0,
    "b2b_requests": 0,
    "account_balance_requests": 0,
    "transaction_status_requests": 0,
    "reversal_requests": 0,
    "c2b_register_requests": 0,
    "c2b_simulate_requests": 0,
}


def test_stats_count_tokens_issued_and_requests_received(emulator_client: Any) -> None:
    assert stats(emulator_client) == {
        "oauth_tokens_issued": 0,
        "stk_push_requests": 0,
        "stk_query_requests": 0,
        **RESULT_PRODUCT_STATS,
    }
    emulator_client.get("/oauth/v1/generate?grant_type=client_credentials")  # refused: no count
    bearer = bearer_for(emulator_client)
    checkout_id = push(emulator_client, bearer)
    emulator_client.post(STK_URL, json=make_stk_body())  # no token: received all the same
    emulator_client.post(
        "/mpesa/stkpushquery/v1/query", json=make_query_body(checkout_id), headers=bearer
    )
    assert stats(emulator_client) == {
        "oauth_tokens_issued": 1,
        "stk_push_requests": 2,
        "stk_query_requests": 1,
        **RESULT_PRODUCT_STATS,
    }


def test_reset_zeroes_the_stats(emulator_client: Any, bearer: dict[str, str]) -> None:
    push(emulator_client, bearer)
    emulator_client.post("/_emulator/reset")
    assert set(stats(emulator_client).values()) == {0}


def test_pushes_are_listed_oldest_first_and_filtered_by_phone(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    first = push(emulator_client, bearer)
    second = push(emulator_client, bearer, PartyA="254708374150", PhoneNumber="254708374150")
    listed = emulator_client.get("/_emulator/stkpush").get_json()
    assert [p["checkout_request_id"] for p in listed] == [first, second]
    only = emulator_client.get("/_emulator/stkpush?phone=254708374150").get_json()
    assert [p["checkout_request_id"] for p in only] == [second]
    emulator_client.post("/_emulator/reset")
    assert emulator_client.get("/_emulator/stkpush").get_json() == []


def test_push_state_shows_its_scheduled_callbacks(
    emulator_client: Any, bearer: dict[str, str], fake_clock: FakeClock
) -> None:
    emulator_client.put(
        f"/_emulator/scenarios/{PAYER}",
        json={"result_code": 1037, "delivery": "duplicate", "then": {"result_code": 0}},
    )
    checkout_id = push(emulator_client, bearer)
    state = emulator_client.get(f"/_emulator/stkpush/{checkout_id}").get_json()
    assert (state["delivery"], state["follow_up"]["result_code"]) == ("duplicate", 0)
    assert state["callbacks"] == [
        {
            "kind": "callback",
            "due_at": pytest.approx(fake_clock() + 60),
            "copies": 2,
            "dropped": False,
            "state": "scheduled",
        },
        {
            "kind": "follow_up",
            "due_at": pytest.approx(fake_clock() + 63),
            "copies": 1,
            "dropped": False,
            "state": "scheduled",
        },
    ]
    emulator_client.post(f"/_emulator/stkpush/{checkout_id}/settle")
    state = emulator_client.get(f"/_emulator/stkpush/{checkout_id}").get_json()
    assert [c["state"] for c in state["callbacks"]] == ["done", "done"]
    assert [c["due_at"] for c in state["callbacks"]] == [fake_clock(), fake_clock()]
    assert state["result_code"] == 1037 and state["receipt"] is not None
