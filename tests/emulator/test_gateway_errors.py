"""Gateway-level errors on product endpoints: token, payload, path and method (API.md §13)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from daraja_emulator import create_app

from .support import error_of, make_stk_body, sample

STK_URL = "/mpesa/stkpush/v1/processrequest"
QUERY_URL = "/mpesa/stkpushquery/v1/query"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, (404, "404.001.03", "Invalid Access Token")),
        ({"Authorization": "Bearer"}, (404, "404.001.03", "Invalid Access Token")),
        ({"Authorization": "Bearer notatoken"}, (404, "404.001.03", "Invalid Access Token")),
        ({"Authorization": "Basic YTpi"}, (404, "404.001.04", "Invalid Authentication Header")),
        ({"Authorization": "Token abc"}, (404, "404.001.04", "Invalid Authentication Header")),
    ],
)
def test_bad_authorization_errors(
    emulator_client: Any, headers: dict[str, str], expected: tuple
) -> None:
    response = emulator_client.post(STK_URL, json=make_stk_body(), headers=headers)
    assert error_of(response) == expected


def test_token_is_checked_before_the_body(emulator_client: Any) -> None:
    response = emulator_client.post(STK_URL, data="not json")
    assert error_of(response)[1] == "404.001.03"


@pytest.mark.parametrize("raw", ["", "not json", "[1, 2]", '"text"', "{'single': 1}", "\xff"])
def test_unparsable_or_non_object_body_is_invalid_payload(
    emulator_client: Any, bearer: dict[str, str], raw: str
) -> None:
    headers = {**bearer, "Content-Type": "application/json"}
    response = emulator_client.post(STK_URL, data=raw.encode("latin-1"), headers=headers)
    assert error_of(response) == (400, "400.002.05", "Invalid Request Payload")


INVALID_SHORTCODE = (400, "400.002.02", "Bad Request - Invalid BusinessShortCode")


@pytest.mark.parametrize("url", [STK_URL, QUERY_URL])
@pytest.mark.parametrize(
    "content_type",
    [None, "", "text/plain", "application/x-www-form-urlencoded", "application/jsonp", "json"],
)
def test_a_missing_or_wrong_content_type_is_invalid_business_short_code(
    emulator_client: Any, bearer: dict[str, str], url: str, content_type: str | None
) -> None:
    """API.md §0: the docs FAQ says it surfaces as the first field the validator reads."""
    headers = dict(bearer) if content_type is None else {**bearer, "Content-Type": content_type}
    response = emulator_client.post(url, data=json.dumps(make_stk_body()), headers=headers)
    assert error_of(response) == INVALID_SHORTCODE
    assert list(response.get_json()) == list(
        sample("stk_error_400_invalid_shortcode_daraja-docs.json")
    )


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "Application/Json;charset=UTF-8",
    ],
)
def test_json_content_type_with_parameters_and_any_case_is_accepted(
    emulator_client: Any, bearer: dict[str, str], content_type: str
) -> None:
    headers = {**bearer, "content-type": content_type}
    response = emulator_client.post(STK_URL, data=json.dumps(make_stk_body()), headers=headers)
    assert response.status_code == 200, response.get_json()


def test_content_type_is_checked_after_the_token_and_before_the_body(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    no_token = emulator_client.post(
        STK_URL, data="not json", headers={"Content-Type": "text/plain"}
    )
    assert error_of(no_token)[1] == "404.001.03"
    bad_body = emulator_client.post(STK_URL, data="not json", headers=bearer)
    assert error_of(bad_body) == INVALID_SHORTCODE


def test_unknown_path_is_resource_not_found(emulator_client: Any, bearer: dict[str, str]) -> None:
    response = emulator_client.post("/mpesa/stkpush/v2/processrequest", json={}, headers=bearer)
    assert error_of(response) == (404, "404.001.01", "Resource not found")
    assert response.status == "404 Not Found"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_wrong_method_is_405(emulator_client: Any, bearer: dict[str, str], method: str) -> None:
    response = emulator_client.open(STK_URL, method=method, headers=bearer)
    assert error_of(response) == (405, "405.001", f"{method} Method Not Allowed")


def test_error_request_ids_are_fresh(emulator_client: Any) -> None:
    first = emulator_client.post(STK_URL).get_json()["requestId"]
    second = emulator_client.post(STK_URL).get_json()["requestId"]
    assert first != second


def test_a_crash_answers_in_the_envelope(emulator_config: Any, fake_clock: Any) -> None:
    app = create_app(emulator_config, clock=fake_clock)

    def explode() -> str:
        raise RuntimeError("bug")

    app.add_url_rule("/explode", view_func=explode)
    response = app.test_client().get("/explode")
    assert error_of(response) == (500, "500.003.1001", "Internal Server Error")
    assert response.status == "500 Internal Server Error"
