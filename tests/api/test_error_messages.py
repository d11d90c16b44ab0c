"""Errors that say how to fix things: the body's format, the amount, the text fields, dates in
query strings and unknown parameters."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.factories import make_payment, payment_body

PAYMENTS = "/api/v1/payments"


def error_of(response: object) -> dict[str, str]:
    return response.json["error"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", None],
    ids=["text", "form", "no-content-type"],
)
def test_a_body_that_is_not_declared_json_is_415_naming_application_json(
    client: FlaskClient, api_headers: dict[str, str], content_type: str | None
) -> None:
    """Even when the bytes are valid JSON: today's answer claimed that sent fields were missing."""
    response = client.post(
        PAYMENTS, data=json.dumps(payment_body()), content_type=content_type, headers=api_headers
    )
    assert response.status_code == 415
    error = error_of(response)
    assert (error["type"], error["code"]) == ("invalid_request_error", "unsupported_media_type")
    assert "Content-Type: application/json" in error["message"]
    assert "required" not in error["message"].lower()


@pytest.mark.parametrize(
    ("data", "code", "says"),
    [
        ("", "empty_body", "body is empty"),
        ("   ", "empty_body", "body is empty"),
        ('{"amount": 10000,', "invalid_json", "not valid JSON"),
        ("[1, 2]", "invalid_json", "a JSON object"),
        ('"text"', "invalid_json", "a JSON object"),
    ],
)
def test_an_empty_or_broken_json_body_is_a_400_that_says_so(
    client: FlaskClient, api_headers: dict[str, str], data: str, code: str, says: str
) -> None:
    response = client.post(
        PAYMENTS, data=data, content_type="application/json", headers=api_headers
    )
    assert response.status_code == 400
    error = error_of(response)
    assert (error["type"], error["code"]) == ("invalid_request_error", code)
    assert says in error["message"] and "application/json" in error["message"]


def test_json_with_a_charset_is_json(client: FlaskClient, api_headers: dict[str, str]) -> None:
    response = client.post(
        PAYMENTS,
        data=json.dumps(payment_body()),
        content_type="application/json; charset=utf-8",
        headers=api_headers,
    )
    assert response.status_code == 201, response.json


@pytest.mark.parametrize("amount", [0, 1, 99, 150, 10050])
def test_the_amount_error_gives_the_minimum_and_the_multiple(
    client: FlaskClient, api_headers: dict[str, str], amount: int
) -> None:
    response = client.post(PAYMENTS, json=payment_body(amount=amount), headers=api_headers)
    assert response.status_code == 400
    error = error_of(response)
    assert error["param"] == "amount"
    assert "minimum 100 (KES 1)" in error["message"]
    assert "whole shillings, so a multiple of 100" in error["message"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("reference", "INV#1"),
        ("reference", "Café-1"),
        ("reference", "-lead"),
        ("description", "Order: 42"),
        ("description", "Ordér 42"),
    ],
)
def test_text_fields_say_which_ascii_characters_are_allowed(
    client: FlaskClient, api_headers: dict[str, str], field: str, value: str
) -> None:
    response = client.post(PAYMENTS, json=payment_body(**{field: value}), headers=api_headers)
    assert response.status_code == 400
    error = error_of(response)
    assert error["param"] == field
    for words in ("ASCII", "letters", "digits", "space", "dot", "dash", "underscore"):
        assert words in error["message"]


def test_a_date_with_an_unencoded_plus_gets_a_hint_to_url_encode_it(
    client: FlaskClient, api_headers: dict[str, str]
) -> None:
    response = client.get(f"{PAYMENTS}?created_gte=2026-03-01T00:00:00+03:00", headers=api_headers)
    assert response.status_code == 400
    error = error_of(response)
    assert error["param"] == "created_gte"
    assert "%2B" in error["message"] and "URL-encode" in error["message"]


def test_a_bad_date_without_a_plus_gets_no_such_hint(
    client: FlaskClient, api_headers: dict[str, str]
) -> None:
    response = client.get(f"{PAYMENTS}?created_gte=yesterday", headers=api_headers)
    assert response.status_code == 400 and "%2B" not in error_of(response)["message"]


@pytest.mark.parametrize(
    "path",
    [
        f"{PAYMENTS}?stauts=completed",
        f"{PAYMENTS}?limit=5&refresh=true",
        f"{PAYMENTS}/{{id}}?expand=events",
        f"{PAYMENTS}/{{id}}/events?limit=5",
    ],
)
def test_unknown_query_parameters_are_rejected_like_unknown_body_fields(
    app: Flask, client: FlaskClient, api_headers: dict[str, str], tenant: tuple[str, str], path: str
) -> None:
    payment_id = make_payment(app, tenant[0])
    response = client.get(path.format(id=payment_id), headers=api_headers)
    assert response.status_code == 400, response.json
    error = error_of(response)
    unknown = path.split("?")[1].split("&")[-1].split("=")[0]
    assert (error["code"], error["param"]) == ("invalid_request", unknown)
    assert "Unknown" in error["message"]


def test_known_query_parameters_still_work(
    app: Flask, client: FlaskClient, api_headers: dict[str, str], tenant: tuple[str, str]
) -> None:
    payment_id = make_payment(app, tenant[0])
    for path in (f"{PAYMENTS}?limit=5&status=processing", f"{PAYMENTS}/{payment_id}?refresh=false"):
        assert client.get(path, headers=api_headers).status_code == 200
