"""Control API for initiator-API Results and the books: /_emulator/results, /_emulator/accounts."""

from __future__ import annotations

from typing import Any

import pytest

from .results_support import (
    B2B,
    B2C_V3,
    BALANCE,
    ORG,
    RESULT_URL,
    accepted,
    accounts,
    make_b2b_body,
    make_b2c_body,
    make_balance_body,
    paid_stk_receipt,
    settle,
)
from .support import FakeClock, StubHttp


def test_results_are_listed_oldest_first_and_filtered_by_product(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    payout = accepted(emulator_client, bearer, B2C_V3, make_b2c_body())
    balance = accepted(emulator_client, bearer, BALANCE, make_balance_body())
    listed = emulator_client.get("/_emulator/results").get_json()
    assert [r["conversation_id"] for r in listed] == [
        payout["ConversationID"],
        balance["ConversationID"],
    ]
    only = emulator_client.get("/_emulator/results?product=accountbalance").get_json()
    assert [r["product"] for r in only] == ["accountbalance"]


def test_a_result_is_found_by_either_id_and_shows_its_state(
    emulator_client: Any, bearer: dict[str, str], fake_clock: FakeClock
) -> None:
    ack = accepted(emulator_client, bearer, B2C_V3, make_b2c_body())
    by_conversation = emulator_client.get(f"/_emulator/results/{ack['ConversationID']}")
    by_originator = emulator_client.get(f"/_emulator/results/{ack['OriginatorConversationID']}")
    view = by_conversation.get_json()
    assert view == by_originator.get_json()
    assert (view["product"], view["organization"], view["credential_valid"]) == ("b2c", ORG, True)
    assert view["request"]["party_b"] == "254705912645"
    assert view["decision_at"] == pytest.approx(fake_clock() + 3)
    assert (view["decided"], view["result_code"], view["deliveries"]) == (False, None, [])
    assert view["callbacks"] == [
        {
            "kind": "result",
            "due_at": view["decision_at"],
            "copies": 1,
            "dropped": False,
            "state": "scheduled",
            "url": RESULT_URL,
        }
    ]


@pytest.mark.parametrize(
    ("method", "suffix"), [("GET", ""), ("POST", "/settle"), ("POST", "/redeliver")]
)
def test_an_unknown_result_is_404(emulator_client: Any, method: str, suffix: str) -> None:
    response = emulator_client.open(f"/_emulator/results/AG_nope{suffix}", method=method)
    assert response.status_code == 404
    assert response.get_json()["errorCode"] == "emulator.not_found"


def test_settle_delivers_once_and_answers_the_same_afterwards(
    emulator_client: Any, bearer: dict[str, str], stub_http: StubHttp, fake_clock: FakeClock
) -> None:
    ack = accepted(emulator_client, bearer, B2C_V3, make_b2c_body())
    record = settle(emulator_client, ack["ConversationID"])
    assert (record["product"], record["kind"], record["url"]) == ("b2c", "result", RESULT_URL)
    assert record["sent_at"] == fake_clock()
    assert settle(emulator_client, ack["OriginatorConversationID"]) == record
    assert len(stub_http.posts) == 1
    view = emulator_client.get(f"/_emulator/results/{ack['ConversationID']}").get_json()
    assert (view["decided"], view["result_code"]) == (True, 0)
    assert view["transaction_id"] in record["body"]


def test_redeliver_needs_a_due_result_then_posts_a_copy(
    emulator_client: Any, bearer: dict[str, str], stub_http: StubHttp
) -> None:
    ack = accepted(emulator_client, bearer, B2C_V3, make_b2c_body())
    early = emulator_client.post(f"/_emulator/results/{ack['ConversationID']}/redeliver")
    assert (early.status_code, early.get_json()["errorCode"]) == (409, "emulator.not_decided")
    first = settle(emulator_client, ack["ConversationID"])
    again = emulator_client.post(f"/_emulator/results/{ack['ConversationID']}/redeliver")
    assert again.get_json()["kind"] == "redelivery"
    assert again.get_json()["body"] == first["body"]
    assert [p["url"] for p in stub_http.posts] == [RESULT_URL, RESULT_URL]


def test_accounts_show_balances_and_movements(emulator_client: Any, bearer: dict[str, str]) -> None:
    receipt = paid_stk_receipt(emulator_client, bearer, Amount=40)
    view = emulator_client.get("/_emulator/accounts/174379").get_json()
    assert (view["shortcode"], view["name"], view["currency"]) == (
        "174379",
        "Safaricom Daraja 379",
        "KES",
    )
    assert view["accounts"]["Utility Account"] == "1000040.00"
    [movement] = view["movements"]
    assert movement["account"] == "Utility Account"
    assert movement["amount"] == "40.00"
    assert movement["reference"] == receipt
    assert [v["shortcode"] for v in emulator_client.get("/_emulator/accounts").get_json()] == [
        "174379"
    ]


def test_an_stk_credit_lands_when_the_push_is_decided_not_before(
    emulator_client: Any, bearer: dict[str, str], fake_clock: FakeClock
) -> None:
    from .support import make_stk_body

    emulator_client.post("/mpesa/stkpush/v1/processrequest", json=make_stk_body(), headers=bearer)
    assert accounts(emulator_client, "174379")["Utility Account"] == "1000000.00"
    fake_clock.advance(3)  # the push's callback falls due: paid, whether or not it was sent
    assert accounts(emulator_client, "174379")["Utility Account"] == "1000010.00"


def test_balances_can_be_set(emulator_client: Any) -> None:
    response = emulator_client.put(
        f"/_emulator/accounts/{ORG}", json={"Utility Account": 12.5, "Working Account": "0"}
    )
    assert response.status_code == 200
    assert response.get_json()["accounts"]["Utility Account"] == "12.50"
    assert accounts(emulator_client, ORG)["Working Account"] == "0.00"
    assert accounts(emulator_client, ORG)["Charges Paid Account"] == "0.00"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"Savings": 1}', "accounts.Savings: must be one of: Working Account,"),
        (b'{"Utility Account": 1.234}', "accounts.Utility Account: must be an amount in KES"),
        (b"[1]", "accounts: must be a mapping"),
        (b"not json", "not JSON"),
    ],
)
def test_bad_balances_are_400_naming_the_key(
    emulator_client: Any, body: bytes, message: str
) -> None:
    response = emulator_client.put(f"/_emulator/accounts/{ORG}", data=body)
    assert (response.status_code, response.get_json()["errorCode"]) == (
        400,
        "emulator.bad_request",
    )
    assert response.get_json()["errorMessage"].startswith(message)


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_an_unknown_shortcode_has_no_accounts(emulator_client: Any, method: str) -> None:
    response = emulator_client.open("/_emulator/accounts/601000", method=method, json={})
    assert response.status_code == 404


def test_reset_forgets_results_and_restores_opening_balances(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    ack = accepted(emulator_client, bearer, B2B, make_b2b_body(Amount=1000))
    settle(emulator_client, ack["ConversationID"])
    assert accounts(emulator_client, ORG)["Working Account"] == "499000.00"
    emulator_client.post("/_emulator/reset")
    assert emulator_client.get("/_emulator/results").get_json() == []
    assert emulator_client.get("/_emulator/accounts").get_json() == []
    assert accounts(emulator_client, ORG)["Working Account"] == "500000.00"
    assert emulator_client.get("/_emulator/callbacks").get_json() == []


def test_stats_count_requests_per_product(emulator_client: Any, bearer: dict[str, str]) -> None:
    accepted(emulator_client, bearer, B2C_V3, make_b2c_body())
    emulator_client.post(B2C_V3, json={})  # no token: counted all the same
    accepted(emulator_client, bearer, BALANCE, make_balance_body())
    stats = emulator_client.get("/_emulator/stats").get_json()
    assert (stats["b2c_requests"], stats["account_balance_requests"], stats["b2b_requests"]) == (
        2,
        1,
        0,
    )


def test_scenarios_can_be_keyed_by_shortcode_at_runtime(emulator_client: Any) -> None:
    response = emulator_client.put(f"/_emulator/scenarios/{ORG}", json={"result_code": 2001})
    assert response.status_code == 200
    assert response.get_json()["msisdn"] == ORG
