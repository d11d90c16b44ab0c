"""Pull Transactions (API.md §11): register once, query a shortcode's completed C2B payments in
the docs' doubly nested shape, by window, the last 48 hours and pages; a payment whose
confirmation was dropped is listed like any other (§4.2 step 6)."""

from __future__ import annotations

from typing import Any

import pytest

from daraja_emulator.products.pull_payload import PAGE_SIZE

from .c2b_support import (
    PAYER,
    REJECT,
    SHORTCODE,
    VALIDATION_URL,
    paid,
    register,
    settle,
    simulate,
)
from .support import (
    REQUEST_ID,
    FakeClock,
    StubHttp,
    StubResponse,
    bearer_for,
    error_of,
    sample,
)

REGISTER, QUERY = "/pulltransactions/v1/register", "/pulltransactions/v1/query"
# The fake clock's day (2024-07-10 09:15:26 EAT) and the whole of it, in Nairobi time.
DAY_START, DAY_END = "2024-07-10 00:00:00", "2024-07-10 23:59:59"


def make_pull_register_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ShortCode": SHORTCODE,
        "RequestType": "Pull",
        "NominatedNumber": PAYER,
        "CallBackURL": "https://example.com/pull/callback",
    }
    body.update(overrides)
    return body


def make_query_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ShortCode": SHORTCODE,
        "StartDate": DAY_START,
        "EndDate": DAY_END,
        "OffSetValue": "0",
    }
    body.update(overrides)
    return body


def pull(client: Any, bearer: dict[str, str], **overrides: Any) -> dict[str, Any]:
    response = client.post(QUERY, json=make_query_body(**overrides), headers=bearer)
    assert response.status_code == 200, response.get_json()
    return dict(response.get_json())


def receipts(answer: dict[str, Any]) -> list[str]:
    [rows] = answer["Response"]
    return [row["transactionId"] for row in rows]


# --- register ------------------------------------------------------------------------------


def test_register_answers_like_the_docs_sample_once_then_already_registered(
    emulator_client: Any, bearer: dict[str, str], emulator_app: Any
) -> None:
    first = emulator_client.post(REGISTER, json=make_pull_register_body(), headers=bearer)
    again = emulator_client.post(
        REGISTER,
        json=make_pull_register_body(CallBackURL="https://example.com/elsewhere"),
        headers=bearer,
    )
    docs = sample("pull_register_response_daraja-docs.json")
    assert list(first.get_json()) == list(again.get_json()) == list(docs)
    assert (first.status_code, again.status_code) == (200, 200)
    assert [a.get_json()["ResponseStatus"] for a in (first, again)] == ["1000", "1001"]
    assert first.get_json()["ResponseDescription"] == docs["ResponseDescription"]
    assert again.get_json()["ResponseDescription"] == "ShortCode already Registered"
    assert first.get_json()["ShortCode"] == SHORTCODE
    assert REQUEST_ID.fullmatch(first.get_json()["ResponseRefID"])
    kept = emulator_app.extensions["daraja_emulator"].state.pull_registration(SHORTCODE)
    assert kept.callback_url == "https://example.com/pull/callback"  # the first one stays


def test_another_shortcode_registers_on_its_own_and_reset_forgets_registrations(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    emulator_client.post(REGISTER, json=make_pull_register_body(), headers=bearer)
    other = emulator_client.post(
        REGISTER, json=make_pull_register_body(ShortCode=600000), headers=bearer
    )
    assert other.get_json()["ResponseStatus"] == "1000"
    emulator_client.post("/_emulator/reset")
    fresh = bearer_for(emulator_client)  # a reset forgets tokens too
    answer = emulator_client.post(REGISTER, json=make_pull_register_body(), headers=fresh)
    assert answer.get_json()["ResponseStatus"] == "1000"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"RequestType": "pull"}, "RequestType"),
        ({"RequestType": None}, "RequestType"),
        ({"NominatedNumber": "0708374149"}, "NominatedNumber"),
        ({"CallBackURL": "https://example.com/mpesa/pull"}, "CallBackURL"),
        ({"CallBackURL": "not a url"}, "CallBackURL"),
    ],
)
def test_register_field_errors_name_the_field(
    emulator_client: Any, bearer: dict[str, str], overrides: dict[str, Any], field: str
) -> None:
    response = emulator_client.post(
        REGISTER, json=make_pull_register_body(**overrides), headers=bearer
    )
    assert error_of(response) == (400, "400.002.02", f"Bad Request - Invalid {field}")


@pytest.mark.parametrize("path", [REGISTER, QUERY])
@pytest.mark.parametrize("shortcode", ["123", "999999", None])
def test_an_unknown_shortcode_is_pulls_own_400_001(
    emulator_client: Any, bearer: dict[str, str], path: str, shortcode: Any
) -> None:
    body = {**make_pull_register_body(), **make_query_body(), "ShortCode": shortcode}
    response = emulator_client.post(path, json=body, headers=bearer)
    assert error_of(response) == (400, "400.001", "Invalid ShortCode")


@pytest.mark.parametrize("path", [REGISTER, QUERY])
def test_a_missing_or_stale_token_is_pulls_own_401_001(emulator_client: Any, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer stale"}):
        response = emulator_client.post(path, json=make_query_body(), headers=headers)
        assert error_of(response) == (401, "401.001", "Invalid Access Token")
    basic = emulator_client.post(path, json={}, headers={"Authorization": "Basic eA=="})
    assert error_of(basic)[:2] == (404, "404.001.04")


@pytest.mark.parametrize("path", [REGISTER, QUERY])
def test_a_wrong_content_type_reads_as_a_bad_shortcode(
    emulator_client: Any, bearer: dict[str, str], path: str
) -> None:
    response = emulator_client.post(
        path, data="ShortCode=600984", headers={**bearer, "Content-Type": "text/plain"}
    )
    assert error_of(response) == (400, "400.001", "Invalid ShortCode")
    broken = emulator_client.post(
        path, data="{", headers={**bearer, "Content-Type": "application/json"}
    )
    assert error_of(broken) == (400, "400.002.05", "Invalid Request Payload")


def test_get_is_not_allowed(emulator_client: Any, bearer: dict[str, str]) -> None:
    assert error_of(emulator_client.get(QUERY, headers=bearer))[:2] == (405, "405.001")


# --- query ---------------------------------------------------------------------------------


def test_a_completed_payment_is_listed_in_the_docs_sample_shape(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    register(emulator_client, bearer)
    payment = paid(emulator_client, bearer, Amount=168, BillRefNumber="37207636392")
    answer = pull(emulator_client, bearer)
    docs = sample("pull_query_response_ghostscypher.json")
    assert list(answer) == list(docs)
    assert (answer["ResponseCode"], answer["ResponseMessage"]) == ("1000", "Success")
    assert REQUEST_ID.fullmatch(answer["ResponseRefID"])
    [[row]] = answer["Response"]
    docs_row = docs["Response"][0][0]
    assert list(row) == list(docs_row)
    assert {k: type(v) for k, v in row.items()} == {k: type(v) for k, v in docs_row.items()}
    assert row == {
        "transactionId": payment["trans_id"],
        "trxDate": "2024-07-10T06:15:26Z",  # TransTime 20240710091526 EAT, in UTC
        "msisdn": int(PAYER),
        "sender": "John Doe",
        "transactiontype": "c2b-pay-bill-debit",
        "billreference": "37207636392",
        "amount": "168.00",
        "organizationname": "Safaricom Daraja 984",
    }


def test_a_payment_whose_confirmation_was_dropped_is_listed(
    emulator_client: Any, bearer: dict[str, str], stub_http: StubHttp
) -> None:
    scenario = {"result_code": 0, "delivery": "drop"}
    assert emulator_client.put(f"/_emulator/scenarios/{PAYER}", json=scenario).status_code == 200
    register(emulator_client, bearer)
    payment = paid(emulator_client, bearer)
    assert payment["deliveries"][-1]["dropped"] is True
    assert [post["url"] for post in stub_http.posts] == [VALIDATION_URL]  # no confirmation
    assert receipts(pull(emulator_client, bearer)) == [payment["trans_id"]]


def test_only_completed_payments_of_the_shortcode_are_listed(
    emulator_client: Any, bearer: dict[str, str], stub_http: StubHttp
) -> None:
    register(emulator_client, bearer)
    completed = paid(emulator_client, bearer)
    simulate(emulator_client, bearer)  # pending: not decided until settled
    stub_http.answers[VALIDATION_URL] = StubResponse(200, REJECT)
    refused = paid(emulator_client, bearer)
    assert refused["state"] == "cancelled"
    other = simulate(emulator_client, bearer, ShortCode=600000)  # no URLs: completes at once
    assert other["state"] == "completed"
    assert receipts(pull(emulator_client, bearer)) == [completed["trans_id"]]
    assert receipts(pull(emulator_client, bearer, ShortCode=600000)) == [other["trans_id"]]


def test_no_rows_is_1001_with_an_empty_inner_list(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    answer = pull(emulator_client, bearer)
    assert (answer["ResponseCode"], answer["Response"]) == ("1001", [[]])
    assert list(answer) == ["ResponseRefID", "ResponseCode", "ResponseMessage", "Response"]


def test_the_window_is_start_and_end_inclusive_in_nairobi_time(
    emulator_client: Any, bearer: dict[str, str], fake_clock: FakeClock
) -> None:
    first = simulate(emulator_client, bearer)  # 09:15:26 EAT
    fake_clock.advance(60)
    second = simulate(emulator_client, bearer)  # 09:16:26 EAT
    both = [first["trans_id"], second["trans_id"]]
    assert receipts(pull(emulator_client, bearer)) == both  # oldest first
    at_first = {"StartDate": "2024-07-10 09:15:26", "EndDate": "2024-07-10 09:15:26"}
    assert receipts(pull(emulator_client, bearer, **at_first)) == both[:1]
    from_second = {"StartDate": "2024-07-10 09:15:27"}
    assert receipts(pull(emulator_client, bearer, **from_second)) == both[1:]
    utc_reading = {"StartDate": "2024-07-10 06:00:00", "EndDate": "2024-07-10 06:59:59"}
    assert pull(emulator_client, bearer, **utc_reading)["ResponseCode"] == "1001"
    backwards = {"StartDate": DAY_END, "EndDate": DAY_START}
    assert pull(emulator_client, bearer, **backwards)["ResponseCode"] == "1001"


def test_only_the_last_48_hours_are_listed_whatever_the_start_date(
    emulator_client: Any, bearer: dict[str, str], fake_clock: FakeClock
) -> None:
    old = simulate(emulator_client, bearer)
    fake_clock.advance(3600)
    recent = simulate(emulator_client, bearer_for(emulator_client))  # tokens last an hour
    fake_clock.advance(48 * 3600 - 3600)  # `old` is now exactly 48 h old
    bearer = bearer_for(emulator_client)
    window = {"StartDate": "2024-07-01 00:00:00", "EndDate": "2024-07-31 00:00:00"}
    both = [old["trans_id"], recent["trans_id"]]
    assert receipts(pull(emulator_client, bearer, **window)) == both
    fake_clock.advance(1)
    assert receipts(pull(emulator_client, bearer, **window)) == both[1:]


def test_pages_are_counted_in_rows_by_the_offset(
    emulator_client: Any, bearer: dict[str, str], fake_clock: FakeClock
) -> None:
    made = []
    for _ in range(PAGE_SIZE + 1):  # no URLs registered: each completes at once
        made.append(simulate(emulator_client, bearer)["trans_id"])
        fake_clock.advance(1)
    pages = [
        pull(emulator_client, bearer, OffSetValue=offset) for offset in ("0", PAGE_SIZE, "101")
    ]
    assert [len(receipts(page)) for page in pages] == [PAGE_SIZE, 1, 0]
    assert receipts(pages[0]) + receipts(pages[1]) == made
    assert pages[2]["ResponseCode"] == "1001"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"StartDate": "20240710000000"}, "StartDate"),
        ({"StartDate": "2024-07-10T00:00:00"}, "StartDate"),
        ({"StartDate": None}, "StartDate"),
        ({"EndDate": "2024-02-30 00:00:00"}, "EndDate"),
        ({"OffSetValue": "-1"}, "OffSetValue"),
        ({"OffSetValue": None}, "OffSetValue"),
        ({"OffSetValue": 1.5}, "OffSetValue"),
    ],
)
def test_query_field_errors_name_the_field(
    emulator_client: Any, bearer: dict[str, str], overrides: dict[str, Any], field: str
) -> None:
    response = emulator_client.post(QUERY, json=make_query_body(**overrides), headers=bearer)
    assert error_of(response) == (400, "400.002.02", f"Bad Request - Invalid {field}")


def test_settling_later_lists_the_payment_then(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    register(emulator_client, bearer)
    pending = simulate(emulator_client, bearer)
    assert pull(emulator_client, bearer)["ResponseCode"] == "1001"
    settle(emulator_client, pending["trans_id"])
    assert receipts(pull(emulator_client, bearer)) == [pending["trans_id"]]
