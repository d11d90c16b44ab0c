"""OAuth token endpoint: shape, errors and token lifetime (API.md §1, CLIENTS.md)."""

from __future__ import annotations

import dataclasses
import random
import re
from typing import Any

import pytest

from daraja_emulator import EmulatorServer, create_app

from .support import EPOCH, FakeClock, basic, make_stk_body

TOKEN_URL = "/oauth/v1/generate?grant_type=client_credentials"
STK_URL = "/mpesa/stkpush/v1/processrequest"


def fetch_token(emulator_client: Any) -> str:
    response = emulator_client.get(TOKEN_URL, headers={"Authorization": basic()})
    assert response.status_code == 200
    return str(response.get_json()["access_token"])


def push_status(emulator_client: Any, token: str) -> int:
    response = emulator_client.post(
        STK_URL, json=make_stk_body(), headers={"Authorization": f"Bearer {token}"}
    )
    return int(response.status_code)


def test_token_response_has_live_wire_shape(emulator_client: Any) -> None:
    response = emulator_client.get(TOKEN_URL, headers={"Authorization": basic()})
    assert response.status_code == 200
    assert response.content_type == "application/json"
    body = response.get_json()
    assert list(body) == ["access_token", "expires_in"]
    assert re.fullmatch(r"[A-Za-z0-9]{28}", body["access_token"])
    assert body["expires_in"] == "3599"


def test_expires_in_follows_the_configured_ttl(emulator_config: Any, fake_clock: FakeClock) -> None:
    emulator_app = create_app(
        dataclasses.replace(emulator_config, token_ttl_seconds=120), clock=fake_clock
    )
    response = emulator_app.test_client().get(TOKEN_URL, headers={"Authorization": basic()})
    assert response.get_json()["expires_in"] == "120"


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer abc", "Digest username=x", "Basicabc"],
)
def test_non_basic_authorization_is_400_008_01(
    emulator_client: Any, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = emulator_client.get(TOKEN_URL, headers=headers)
    assert response.status_code == 400
    body = response.get_json()
    assert (body["errorCode"], body["errorMessage"]) == (
        "400.008.01",
        "Invalid authentication type passed",
    )


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?grant_type=password",
        "?grant_type=client_credentials%20",
        "?grant_type=CLIENT_CREDENTIALS",
    ],
)
def test_bad_grant_type_is_400_008_02(emulator_client: Any, query: str) -> None:
    response = emulator_client.get(f"/oauth/v1/generate{query}", headers={"Authorization": basic()})
    assert response.status_code == 400
    body = response.get_json()
    assert list(body) == ["requestId", "errorCode", "errorMessage"]
    assert (body["errorCode"], body["errorMessage"]) == ("400.008.02", "Invalid grant type passed")


@pytest.mark.parametrize(
    "authorization",
    [
        basic("wrong", "apg-emulator-secret"),
        basic("apg-emulator-key", "wrong"),
        "Basic !!!",
        "Basic ",
    ],
)
def test_wrong_credentials_are_a_bare_400_with_reason_phrase(
    emulator_client: Any, authorization: str
) -> None:
    response = emulator_client.get(TOKEN_URL, headers={"Authorization": authorization})
    assert response.status == "400 Bad Request: Invalid Credentials"
    assert response.data == b""


def test_wrong_credentials_reason_phrase_survives_real_http(
    emulator_config: Any, http: Any
) -> None:
    with EmulatorServer(emulator_config) as server:
        response = http.get(server.url + TOKEN_URL, headers={"Authorization": basic("x", "y")})
    assert (response.status_code, response.reason, response.content) == (
        400,
        "Bad Request: Invalid Credentials",
        b"",
    )


def test_lowercase_header_name_and_scheme_are_accepted(emulator_client: Any) -> None:
    response = emulator_client.get(
        TOKEN_URL, headers={"authorization": basic().replace("Basic", "basic")}
    )
    assert response.status_code == 200


def test_post_is_405(emulator_client: Any) -> None:
    response = emulator_client.post(TOKEN_URL, headers={"Authorization": basic()})
    assert response.status_code == 405
    assert response.get_json()["errorCode"] == "405.001"
    assert response.get_json()["errorMessage"] == "POST Method Not Allowed"


def test_token_expires_after_ttl_by_the_injected_clock(
    emulator_client: Any, fake_clock: FakeClock
) -> None:
    token = fetch_token(emulator_client)
    fake_clock.advance(3598.9)
    assert push_status(emulator_client, token) == 200
    fake_clock.advance(0.2)
    assert push_status(emulator_client, token) == 404


def test_a_new_token_revokes_earlier_ones_by_default(
    emulator_client: Any, fake_clock: FakeClock
) -> None:
    """Daraja's docs FAQ: generating a new token invalidates the previous one."""
    first = fetch_token(emulator_client)
    second = fetch_token(emulator_client)
    assert first != second
    assert push_status(emulator_client, first) == 404
    assert push_status(emulator_client, second) == 200


def test_fetching_a_token_before_every_call_still_works(
    emulator_client: Any, fake_clock: FakeClock
) -> None:
    """CLIENTS.md: many libraries fetch a token before each call; fetch-then-use succeeds."""
    for _ in range(3):
        assert push_status(emulator_client, fetch_token(emulator_client)) == 200
        fake_clock.advance(60)  # free the subscriber lock


def test_earlier_tokens_stay_valid_when_revocation_is_off(emulator_config: Any) -> None:
    emulator_app = create_app(
        dataclasses.replace(emulator_config, revoke_previous_tokens=False),
        clock=FakeClock(EPOCH),
        rng=random.Random(5),
    )
    emulator_client = emulator_app.test_client()
    first = fetch_token(emulator_client)
    second = fetch_token(emulator_client)
    assert push_status(emulator_client, first) == 200
    assert push_status(emulator_client, second) == 500  # past auth: the subscriber is locked
