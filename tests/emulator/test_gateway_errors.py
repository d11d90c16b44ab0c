"""Gateway-level errors on product endpoints: token, payload, path and method (API.md §13)."""

from __future__ import annotations

from typing import Any

import pytest

from daraja_emulator import create_app

from .support import error_of, make_stk_body

STK_URL = "/mpesa/stkpush/v1/processrequest"


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
    response = emulator_client.post(STK_URL, data=raw.encode("latin-1"), headers=bearer)
    assert error_of(response) == (400, "400.002.05", "Invalid Request Payload")


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
