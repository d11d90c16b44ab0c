"""Gateway errors on every initiator-API path: method, token, Content-Type, body (API.md §13)."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest

from daraja_emulator import EmulatorConfig, create_app

from .results_support import (
    B2B,
    B2C_V1,
    B2C_V3,
    BALANCE,
    REVERSAL,
    STATUS,
    foreign_credential,
    make_b2c_body,
    result_of,
)
from .support import FakeClock, StubHttp, bearer_for, error_of

# path, its invalid-token answer (API.md §13, §17, §18.6), the field a bad Content-Type names
PRODUCTS = [
    (
        B2C_V3,
        (401, "401.002.01", "Error Occurred - Invalid Access Token - x"),
        "OriginatorConversationID",
    ),
    (B2C_V1, (401, "401.002.01", "Error Occurred - Invalid Access Token - x"), "InitiatorName"),
    (B2B, (404, "404.001.03", "Invalid Access Token"), "Initiator"),
    (BALANCE, (401, "401.002.01", "Error Occurred - Invalid Access Token - x"), "Initiator"),
    (STATUS, (400, "400.003.01", "Invalid Access Token"), "Initiator"),
    (REVERSAL, (404, "404.001.03", "Invalid Access Token"), "Initiator"),
]
PATHS = [path for path, _, _ in PRODUCTS]


@pytest.mark.parametrize(("path", "expected", "first_field"), PRODUCTS)
def test_each_product_answers_a_bad_token_its_own_way(
    emulator_client: Any, path: str, expected: tuple[int, str, str], first_field: str
) -> None:
    response = emulator_client.post(path, json={}, headers={"Authorization": "Bearer x"})
    assert error_of(response) == expected


@pytest.mark.parametrize(("path", "expected", "first_field"), PRODUCTS)
def test_a_wrong_content_type_names_the_products_first_field(
    emulator_client: Any,
    bearer: dict[str, str],
    path: str,
    expected: tuple[int, str, str],
    first_field: str,
) -> None:
    response = emulator_client.post(path, data="{}", headers=bearer)  # no Content-Type
    assert error_of(response) == (400, "400.002.02", f"Bad Request - Invalid {first_field}")


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("raw", ["", "not json", "[]"])
def test_an_unparsable_body_is_invalid_payload(
    emulator_client: Any, bearer: dict[str, str], path: str, raw: str
) -> None:
    headers = {**bearer, "Content-Type": "application/json"}
    response = emulator_client.post(path, data=raw, headers=headers)
    assert error_of(response) == (400, "400.002.05", "Invalid Request Payload")


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_only_post_is_allowed(
    emulator_client: Any, bearer: dict[str, str], path: str, method: str
) -> None:
    response = emulator_client.open(path, method=method, headers=bearer)
    assert error_of(response) == (405, "405.001", f"{method} Method Not Allowed")


def test_other_versions_are_not_found(emulator_client: Any, bearer: dict[str, str]) -> None:
    response = emulator_client.post("/mpesa/b2c/v2/paymentrequest", json={}, headers=bearer)
    assert error_of(response) == (404, "404.001.01", "Resource not found")


@pytest.mark.parametrize(("strict", "code"), [(False, 0), (True, 2001)])
def test_a_credential_made_for_another_key_passes_unless_strict(
    emulator_config: EmulatorConfig, fake_clock: FakeClock, strict: bool, code: int
) -> None:
    config = dataclasses.replace(emulator_config, strict_security_credential=strict)
    app = create_app(config, clock=fake_clock, http=StubHttp(), rng=random.Random(3))  # type: ignore[arg-type]
    client = app.test_client()
    body = make_b2c_body(SecurityCredential=foreign_credential())
    assert result_of(client, bearer_for(client), B2C_V3, body)["Result"]["ResultCode"] == code
