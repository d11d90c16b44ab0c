"""SecurityCredential: the emulator decrypts what its certificate encrypted (API.md §15.2)."""

from __future__ import annotations

import base64
import dataclasses

import pytest

from daraja_emulator import load_config
from daraja_emulator.config import Initiator, Organization
from daraja_emulator.credentials import decrypt, initiator_is_valid

from .results_support import ORG, foreign_credential, make_credential

PASSWORD = "Safaricom999!*!"


def test_a_credential_made_with_the_emulator_certificate_decrypts_to_the_password() -> None:
    assert decrypt(make_credential(PASSWORD)) == PASSWORD.encode()


def test_pkcs1_padding_is_random_so_every_credential_differs_but_all_decrypt() -> None:
    first, second = make_credential(PASSWORD), make_credential(PASSWORD)
    assert first != second
    assert decrypt(first) == decrypt(second) == PASSWORD.encode()


def test_base64_wrapped_over_several_lines_decrypts() -> None:
    credential = make_credential(PASSWORD)
    wrapped = "\n".join(credential[i : i + 64] for i in range(0, len(credential), 64))
    assert decrypt(wrapped) == PASSWORD.encode()


@pytest.mark.parametrize(
    "credential",
    [
        "RC6E9WDxXR4b9X2c6z3gp0oC5Th ==",  # the docs sample's placeholder
        "not base64 at all!",
        base64.b64encode(b"too short").decode(),
        base64.b64encode(b"\xff" * 256).decode(),  # not below the modulus
        base64.b64encode(b"\x00" * 256).decode(),  # no PKCS#1 v1.5 block inside
    ],
)
def test_what_the_emulator_cannot_decrypt_is_none(credential: str) -> None:
    assert decrypt(credential) is None


def test_a_credential_for_another_key_is_recognised_as_undecryptable() -> None:
    """OpenSSL's implicit rejection would return random bytes; the emulator says None."""
    assert decrypt(foreign_credential(PASSWORD)) is None


@pytest.mark.parametrize(
    ("shortcode", "initiator", "credential", "strict", "valid"),
    [
        (ORG, "testapi", make_credential(PASSWORD), False, True),
        (ORG, "testapi", make_credential("Safaricom111!"), False, False),
        (ORG, "testapi", make_credential(PASSWORD + "20240710091526"), False, False),
        (ORG, "apiop37", make_credential(PASSWORD), False, False),
        ("999999", "testapi", make_credential(PASSWORD), False, False),
        ("174379", "testapi", make_credential(PASSWORD), False, True),
        (ORG, "testapi", foreign_credential(PASSWORD), False, True),
        (ORG, "testapi", foreign_credential(PASSWORD), True, False),
        (ORG, "apiop37", foreign_credential(PASSWORD), False, False),
        (ORG, "testapi", make_credential(PASSWORD), True, True),
    ],
)
def test_initiator_checks(
    shortcode: str, initiator: str, credential: str, strict: bool, valid: bool
) -> None:
    config = dataclasses.replace(load_config(None), strict_security_credential=strict)
    assert initiator_is_valid(config, shortcode, initiator, credential) is valid


def test_an_organisation_with_its_own_initiators_ignores_the_global_ones() -> None:
    config = load_config(
        {
            "organizations": [
                {"shortcode": "603021", "initiators": [{"name": "apiop37", "password": "x#1"}]}
            ]
        }
    )
    assert config.organization("603021") == Organization(
        "603021", initiators=(Initiator("apiop37", "x#1"),)
    )
    assert initiator_is_valid(config, "603021", "apiop37", make_credential("x#1"))
    assert not initiator_is_valid(config, "603021", "testapi", make_credential(PASSWORD))
    assert initiator_is_valid(config, ORG, "testapi", make_credential(PASSWORD))
