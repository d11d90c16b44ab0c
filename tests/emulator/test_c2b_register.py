"""C2B register URL, v1 and v2: answers, errors in Daraja's order, re-registration (API.md §4.1)."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest

from daraja_emulator import EmulatorConfig, create_app

from .c2b_support import (
    CONFIRMATION_URL,
    SHORTCODE,
    VALIDATION_URL,
    make_register_body,
    register,
    register_path,
)
from .support import REQUEST_ID, FakeClock, StubHttp, bearer_for, error_of, sample


@pytest.mark.parametrize(
    ("version", "docs"),
    [
        ("v1", "c2b_registerurl_response_v1_daraja-docs.json"),
        ("v2", "c2b_registerurl_response_v2_daraja-docs.json"),
    ],
)
def test_the_answer_matches_the_docs_of_its_version(
    emulator_client: Any, bearer: dict[str, str], version: str, docs: str
) -> None:
    answer = register(emulator_client, bearer, version)
    expected = sample(docs)
    assert (
        list(answer)
        == list(expected)
        == [
            "OriginatorCoversationID",  # sic: Daraja's spelling, which clients read
            "ResponseCode",
            "ResponseDescription",
        ]
    )
    assert answer["ResponseCode"] == "0"
    assert answer["ResponseDescription"] == expected["ResponseDescription"]
    assert REQUEST_ID.fullmatch(answer["OriginatorCoversationID"])


def test_the_docs_request_sample_registers(emulator_client: Any, bearer: dict[str, str]) -> None:
    body = sample("c2b_registerurl_request_daraja-docs.json")
    response = emulator_client.post(register_path("v1"), json=body, headers=bearer)
    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_the_registration_is_stored_per_shortcode_with_its_version(
    emulator_client: Any, bearer: dict[str, str], fake_clock: FakeClock, version: str
) -> None:
    answer = register(emulator_client, bearer, version, ShortCode=int(SHORTCODE))
    view = emulator_client.get(f"/_emulator/c2b/registrations/{SHORTCODE}").get_json()
    assert view == {
        "shortcode": SHORTCODE,
        "version": version,
        "response_type": "Completed",
        "confirmation_url": CONFIRMATION_URL,
        "validation_url": VALIDATION_URL,
        "registered_at": fake_clock(),
        "originator_conversation_id": answer["OriginatorCoversationID"],
    }
    assert emulator_client.get("/_emulator/c2b/registrations").get_json() == [view]


def test_the_sandbox_lets_a_shortcode_register_again(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    register(emulator_client, bearer, "v1")
    register(emulator_client, bearer, "v2", ResponseType="Cancelled")
    view = emulator_client.get(f"/_emulator/c2b/registrations/{SHORTCODE}").get_json()
    assert (view["version"], view["response_type"]) == ("v2", "Cancelled")


def test_production_style_registration_is_once_per_shortcode(
    emulator_config: EmulatorConfig, fake_clock: FakeClock
) -> None:
    config = dataclasses.replace(emulator_config, c2b_register_once=True)
    client = create_app(
        config, clock=fake_clock, http=StubHttp(), rng=random.Random(1)
    ).test_client()  # type: ignore[arg-type]
    bearer = bearer_for(client)
    register(client, bearer, "v2")
    again = client.post(register_path("v1"), json=make_register_body(), headers=bearer)
    assert error_of(again) == (500, "500.003.1001", "Urls are already registered.")
    assert client.get(f"/_emulator/c2b/registrations/{SHORTCODE}").get_json()["version"] == "v2"
    register(client, bearer, "v1", ShortCode="600985")  # another shortcode is fine
    client.post("/_emulator/reset")
    register(client, bearer_for(client), "v1")  # reset forgets the registrations


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ShortCode", None),
        ("ShortCode", "600"),
        ("ShortCode", "999999"),  # well formed, but no such organisation
        ("ResponseType", None),
        ("ResponseType", "completed"),
        ("ResponseType", "Canceled"),
        ("ResponseType", "Complete"),
        ("ConfirmationURL", None),
        ("ConfirmationURL", "ftp://example.com/confirmation"),
        ("ConfirmationURL", "https://example.com/api/mpesa/confirmation"),
        ("ConfirmationURL", "https://example.com/c2b confirmation"),
        ("ValidationURL", ""),
        ("ValidationURL", "https://SAFARICOM.example.com/validation"),
        ("ValidationURL", "https://example.com/validation?query=1"),
        ("ValidationURL", "https://example.com/cmd/validation"),
    ],
)
def test_invalid_fields_are_400_naming_the_field(
    emulator_client: Any, bearer: dict[str, str], field: str, value: Any
) -> None:
    body = make_register_body(**{field: value})
    response = emulator_client.post(register_path(), json=body, headers=bearer)
    assert error_of(response) == (400, "400.002.02", f"Bad Request - Invalid {field}")
    assert emulator_client.get("/_emulator/c2b/registrations").get_json() == []


def test_the_first_bad_field_wins(emulator_client: Any, bearer: dict[str, str]) -> None:
    body = make_register_body(ResponseType="completed", ConfirmationURL="nope", ValidationURL="")
    response = emulator_client.post(register_path(), json=body, headers=bearer)
    assert error_of(response)[2] == "Bad Request - Invalid ResponseType"


@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize("path", ["registerurl", "simulate"])
def test_an_invalid_token_is_c2b_s_400_003_01(
    emulator_client: Any, version: str, path: str
) -> None:
    """API.md §13, §17 item 6: the C2B docs' own invalid-token code."""
    headers = {"Authorization": "Bearer not-a-token"}
    response = emulator_client.post(
        f"/mpesa/c2b/{version}/{path}", json=make_register_body(), headers=headers
    )
    assert error_of(response) == (400, "400.003.01", "Invalid Access Token")


def test_a_wrong_content_type_names_the_first_field(
    emulator_client: Any, bearer: dict[str, str]
) -> None:
    response = emulator_client.post(
        register_path(), data="ShortCode=600984", headers={**bearer, "Content-Type": "text/plain"}
    )
    assert error_of(response) == (400, "400.002.02", "Bad Request - Invalid ShortCode")


def test_a_malformed_body_is_400_002_05(emulator_client: Any, bearer: dict[str, str]) -> None:
    response = emulator_client.post(
        register_path(), data="{", headers={**bearer, "Content-Type": "application/json"}
    )
    assert error_of(response) == (400, "400.002.05", "Invalid Request Payload")


@pytest.mark.parametrize("path", ["/mpesa/c2b/v3/registerurl", "/mpesa/c2b/v2/register"])
def test_unknown_paths_are_404(emulator_client: Any, bearer: dict[str, str], path: str) -> None:
    response = emulator_client.post(path, json=make_register_body(), headers=bearer)
    assert error_of(response)[:2] == (404, "404.001.01")


def test_get_is_not_allowed(emulator_client: Any, bearer: dict[str, str]) -> None:
    response = emulator_client.get(register_path(), headers=bearer)
    assert error_of(response) == (405, "405.001", "GET Method Not Allowed")


def test_an_unregistered_shortcode_is_404_in_the_control_api(emulator_client: Any) -> None:
    response = emulator_client.get("/_emulator/c2b/registrations/600984")
    assert error_of(response)[:2] == (404, "emulator.not_found")


def test_registrations_are_counted(emulator_client: Any, bearer: dict[str, str]) -> None:
    register(emulator_client, bearer)
    emulator_client.post(register_path("v1"), json=make_register_body(ResponseType="x"))
    assert emulator_client.get("/_emulator/stats").get_json()["c2b_register_requests"] == 2
