"""SecurityCredential: RSA PKCS#1 v1.5 to each environment's certificate, and its CLI command."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from click.testing import Result
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from flask import Flask

from apg import cli
from apg.cli import secret_input
from apg.processors.mpesa import security

EMULATOR_KEY = Path(__file__).parents[2] / "daraja_emulator" / "keys" / "emulator_private_key.pem"
PASSWORD = "Safaricom999!*!"


def decrypt(credential: str) -> str:
    key = load_pem_private_key(EMULATOR_KEY.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key.decrypt(base64.b64decode(credential, validate=True), padding.PKCS1v15()).decode()


@pytest.mark.parametrize("password", [PASSWORD, "Safaricom123!!", "# & % $ @ é", "x" * 200])
def test_the_emulator_decrypts_the_password(password: str) -> None:
    assert decrypt(security.security_credential(password, "emulator")) == password


@pytest.mark.parametrize("environment", ["sandbox", "production", "emulator"])
def test_every_certificate_is_2048_bit_rsa(environment: str) -> None:
    credential = security.security_credential(PASSWORD, environment)
    assert len(base64.b64decode(credential, validate=True)) == 256


def test_encryption_is_randomised() -> None:
    first, second = (security.security_credential(PASSWORD, "sandbox") for _ in range(2))
    assert first != second


def test_sandbox_and_production_keys_differ_from_the_emulators() -> None:
    numbers = {security.public_key(e).public_numbers().n for e in security.CERTIFICATES}
    assert len(numbers) == 3


@pytest.mark.parametrize(("password", "environment"), [("", "sandbox"), (PASSWORD, "staging")])
def test_refuses_an_empty_password_or_an_unknown_environment(
    password: str, environment: str
) -> None:
    with pytest.raises(ValueError):
        security.security_credential(password, environment)


def test_a_password_too_long_for_the_key_is_refused_without_showing_it() -> None:
    with pytest.raises(ValueError) as caught:
        security.security_credential("s" * 300, "emulator")
    assert "sss" not in str(caught.value)


@pytest.fixture
def bare_app() -> Flask:
    """No database and no emulator: the command needs only the registered group."""
    app = Flask(__name__)
    cli.init_app(app)
    return app


def invoke(app: Flask, *args: str, input: str | None = None) -> Result:
    return app.test_cli_runner().invoke(args=["apg", "security-credential", *args], input=input)


def test_cli_reads_one_line_of_stdin_and_prints_only_the_credential(bare_app: Flask) -> None:
    result = invoke(bare_app, "--environment", "emulator", input=f"{PASSWORD}\nignored\n")
    assert result.exit_code == 0, result.output
    credential, *rest = result.stdout.splitlines()
    assert rest == []
    assert decrypt(credential) == PASSWORD
    assert PASSWORD not in result.output


def test_cli_prompts_twice_hidden_in_a_terminal(
    bare_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(secret_input, "stdin_is_a_terminal", lambda: True)
    result = invoke(bare_app, "--environment", "emulator", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert decrypt(result.stdout.strip()) == PASSWORD
    assert "Initiator password" in result.stderr
    assert PASSWORD not in result.output


@pytest.mark.parametrize("environment", ["sandbox", "production"])
def test_cli_encrypts_to_safaricoms_certificates(bare_app: Flask, environment: str) -> None:
    result = invoke(bare_app, "--environment", environment, input=f"{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert len(base64.b64decode(result.stdout.strip(), validate=True)) == 256


@pytest.mark.parametrize(
    "args",
    [
        ("--environment", "emulator", "--password", PASSWORD),  # never from argv
        ("--environment", "emulator", PASSWORD),
        ("--environment", "staging"),
        (),
    ],
)
def test_cli_usage_errors(bare_app: Flask, args: tuple[str, ...]) -> None:
    result = invoke(bare_app, *args, input=f"{PASSWORD}\n")
    assert result.exit_code == 2
    assert result.stdout == ""


@pytest.mark.parametrize("given", ["", "\n"])
def test_cli_refuses_an_empty_stdin(bare_app: Flask, given: str) -> None:
    result = invoke(bare_app, "--environment", "emulator", input=given)
    assert result.exit_code == 2
    assert "no initiator password" in result.output
