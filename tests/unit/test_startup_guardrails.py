"""Production refuses weak secrets and the demo tenant, listing every problem at start-up."""

from __future__ import annotations

import secrets
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from apg.config import ConfigError, load_settings
from apg.config_checks import DEV_SECRET_KEY, OPS_TOKEN_COMMAND, SECRET_KEYGEN_COMMAND
from apg.crypto import DEV_ENCRYPTION_KEY
from apg.settings import DefaultTenantSettings

PROJECT_ROOT = Path(__file__).parents[2]
A_SECRET_KEY = secrets.token_urlsafe(48)
A_FERNET_KEY = Fernet.generate_key().decode()
PRODUCTION = {
    "APG_ENV": "production",
    "APG_SECRET_KEY": A_SECRET_KEY,
    "APG_ENCRYPTION_KEY": A_FERNET_KEY,
    "APG_OPS_TOKEN": secrets.token_urlsafe(32),
    "DATABASE_URL": "postgresql://apg@db/apg",
    "MPESA_CALLBACK_BASE_URL": "https://pay.example.com",
    "APG_DEFAULT_TENANT_ENABLED": "false",
}
# A default tenant configured for real: its own name, Daraja environment and credentials.
REAL_TENANT = {
    "APG_DEFAULT_TENANT_ENABLED": "true",
    "APG_DEFAULT_TENANT_NAME": "Acme Ltd",
    "MPESA_ENVIRONMENT": "production",
    "MPESA_CONSUMER_KEY": "acme-consumer-key",
    "MPESA_CONSUMER_SECRET": "acme-consumer-secret",
    "MPESA_PASSKEY": "acme-passkey",
}
DEMO = DefaultTenantSettings()
PLACEHOLDER = "looks like a placeholder, not a random key"


def problems_for(env: dict[str, str], tmp_path: Path) -> list[str]:
    """The problems load_settings reports for env (and no config file); [] if it loads."""
    try:
        load_settings(environ=env, path=tmp_path / "absent.yaml")
    except ConfigError as exc:
        return exc.problems
    return []


@pytest.mark.parametrize(
    ("secret_key", "reason"),
    [
        ("", "required in production"),
        (DEV_SECRET_KEY, "the public development key"),
        ("changeme", "shorter than 32 characters"),
        ("secret", "shorter than 32 characters"),
        ("test-secret", "shorter than 32 characters"),
        (secrets.token_urlsafe(48)[:31], "shorter than 32 characters"),
        ("s" * 64, PLACEHOLDER),
        ("abc" * 20, PLACEHOLDER),
        ("Change-Me-Before-Going-Live-2024-Xq7", PLACEHOLDER),
        ("our-production-SECRET-key-for-acme-ltd", PLACEHOLDER),
        ("my-Password-is-long-enough-to-pass-32", PLACEHOLDER),
    ],
    ids=[
        "missing",
        "dev-key",
        "changeme",
        "secret",
        "test-secret",
        "31-chars",
        "one-char",
        "repeated-pattern",
        "change-me-words",
        "secret-word",
        "password-word",
    ],
)
def test_production_refuses_a_weak_secret_key(tmp_path: Path, secret_key: str, reason: str) -> None:
    problems = problems_for({**PRODUCTION, "APG_SECRET_KEY": secret_key}, tmp_path)
    assert problems == [
        f"security.secret_key (APG_SECRET_KEY): {reason}; make one with: {SECRET_KEYGEN_COMMAND}"
    ]
    assert len(secret_key) < 8 or secret_key not in problems[0]


@pytest.mark.parametrize(
    "secret_key",
    [secrets.token_urlsafe(48), secrets.token_urlsafe(24), secrets.token_hex(16)],
    ids=["token_urlsafe-48", "token_urlsafe-24", "token_hex-16"],
)
def test_production_accepts_a_random_secret_key(tmp_path: Path, secret_key: str) -> None:
    assert problems_for({**PRODUCTION, "APG_SECRET_KEY": secret_key}, tmp_path) == []


def test_the_suggested_command_makes_a_secret_key_production_accepts(tmp_path: Path) -> None:
    program, *args = shlex.split(SECRET_KEYGEN_COMMAND)
    assert program == "python"
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, check=True)
    assert problems_for({**PRODUCTION, "APG_SECRET_KEY": result.stdout.strip()}, tmp_path) == []


@pytest.mark.parametrize("secret_key", ["", "test-secret", "changeme"])
def test_development_accepts_any_secret_key(tmp_path: Path, secret_key: str) -> None:
    assert problems_for({"APG_SECRET_KEY": secret_key}, tmp_path) == []


@pytest.mark.parametrize(
    ("ops_token", "reason"),
    [("", "required in production"), ("short-ops-token", "shorter than 24 characters")],
)
def test_production_refuses_a_missing_or_short_ops_token(
    tmp_path: Path, ops_token: str, reason: str
) -> None:
    [problem] = problems_for({**PRODUCTION, "APG_OPS_TOKEN": ops_token}, tmp_path)
    assert problem.startswith(f"security.ops_token (APG_OPS_TOKEN): {reason}")
    assert problem.endswith(f"; make one with: {OPS_TOKEN_COMMAND}")
    assert not ops_token or ops_token not in problem  # a secret is never printed


def test_the_suggested_command_makes_an_ops_token_production_accepts(tmp_path: Path) -> None:
    program, *args = shlex.split(OPS_TOKEN_COMMAND)
    assert program == "python"
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, check=True)
    assert problems_for({**PRODUCTION, "APG_OPS_TOKEN": result.stdout.strip()}, tmp_path) == []


def test_production_refuses_the_public_development_encryption_key(tmp_path: Path) -> None:
    problems = problems_for({**PRODUCTION, "APG_ENCRYPTION_KEY": DEV_ENCRYPTION_KEY}, tmp_path)
    assert len(problems) == 1
    assert problems[0].startswith(
        "security.encryption_key (APG_ENCRYPTION_KEY): the public development key; make one with"
    )
    assert DEV_ENCRYPTION_KEY not in problems[0]


def test_production_may_keep_the_development_key_to_decrypt_old_data(tmp_path: Path) -> None:
    rotated = f"{A_FERNET_KEY},{DEV_ENCRYPTION_KEY}"  # encrypts with its own key
    assert problems_for({**PRODUCTION, "APG_ENCRYPTION_KEY": rotated}, tmp_path) == []


def test_production_refuses_the_untouched_demo_tenant(tmp_path: Path) -> None:
    problems = problems_for({**PRODUCTION, "APG_DEFAULT_TENANT_ENABLED": "true"}, tmp_path)
    assert [problem.split(":")[0] for problem in problems] == [
        "default_tenant.environment (MPESA_ENVIRONMENT)",
        "default_tenant.name (APG_DEFAULT_TENANT_NAME)",
        "default_tenant.consumer_key (MPESA_CONSUMER_KEY)",
        "default_tenant.consumer_secret (MPESA_CONSUMER_SECRET)",
        "default_tenant.passkey (MPESA_PASSKEY)",
    ]
    assert all("disable it (APG_DEFAULT_TENANT_ENABLED=false)" in p for p in problems)


@pytest.mark.parametrize(
    ("var", "demo_value", "key"),
    [
        ("MPESA_ENVIRONMENT", "emulator", "default_tenant.environment"),
        ("APG_DEFAULT_TENANT_NAME", DEMO.name, "default_tenant.name"),
        ("MPESA_CONSUMER_KEY", DEMO.consumer_key, "default_tenant.consumer_key"),
        ("MPESA_CONSUMER_SECRET", DEMO.consumer_secret, "default_tenant.consumer_secret"),
        ("MPESA_PASSKEY", DEMO.passkey, "default_tenant.passkey"),
        ("MPESA_CONSUMER_KEY", DEMO.passkey, "default_tenant.consumer_key"),  # any public value
    ],
)
def test_production_refuses_a_default_tenant_with_a_demo_setting(
    tmp_path: Path, var: str, demo_value: str, key: str
) -> None:
    env = {**PRODUCTION, **REAL_TENANT, var: demo_value}
    [problem] = problems_for(env, tmp_path)
    assert problem.startswith(f"{key} ({var}): ")
    assert problem.endswith(
        "in production; configure the default tenant for real, or disable it"
        " (APG_DEFAULT_TENANT_ENABLED=false)"
    )


def test_production_loads_with_a_real_default_tenant(tmp_path: Path) -> None:
    assert problems_for({**PRODUCTION, **REAL_TENANT}, tmp_path) == []


def test_production_loads_with_the_default_tenant_disabled(tmp_path: Path) -> None:
    """The emulator's defaults stay in the settings: harmless, as there is no default tenant."""
    settings = load_settings(environ=PRODUCTION, path=tmp_path / "absent.yaml")
    assert settings.default_tenant.enabled is False
    assert settings.default_tenant.environment == "emulator"


def test_development_keeps_the_demo_tenant(tmp_path: Path) -> None:
    settings = load_settings(environ={}, path=tmp_path / "absent.yaml")
    assert settings.default_tenant.enabled is True
    assert settings.default_tenant.consumer_key == DEMO.consumer_key


SEVERAL_PROBLEMS = {
    "APG_ENV": "production",
    "APG_SECRET_KEY": "changeme-please",
    "APG_ENCRYPTION_KEY": "not-a-fernet-key-do-not-print",
    "DATABASE_URL": "sqlite:///apg.db",
    "MPESA_CALLBACK_BASE_URL": "http://pay.example.com",
    "MPESA_ENVIRONMENT": "production",
    "MPESA_CONSUMER_KEY": "apg-emulator-key",
}


@pytest.mark.parametrize(
    "command",
    [["-c", "import wsgi"], ["-m", "apg.devrun"]],
    ids=["wsgi", "devrun"],
)
def test_every_problem_is_printed_on_its_own_line_without_a_traceback(
    tmp_path: Path, command: list[str]
) -> None:
    config = tmp_path / "apg.yaml"
    config.write_text("performance:\n  read_timeout: 3\n")
    env = {**SEVERAL_PROBLEMS, "APG_CONFIG": str(config), "PATH": ""}
    result = subprocess.run(
        [sys.executable, *command],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert [line.split(":")[1].strip() for line in lines] == [
        "performance.read_timeout",
        "security.encryption_key (APG_ENCRYPTION_KEY)",
        "security.secret_key (APG_SECRET_KEY)",
        "security.ops_token (APG_OPS_TOKEN)",
        "app.database_url (DATABASE_URL)",
        "callbacks.public_base_url (MPESA_CALLBACK_BASE_URL)",
        "default_tenant.name (APG_DEFAULT_TENANT_NAME)",
        "default_tenant.consumer_key (MPESA_CONSUMER_KEY)",
        "default_tenant.consumer_secret (MPESA_CONSUMER_SECRET)",
        "default_tenant.passkey (MPESA_PASSKEY)",
    ]
    assert all(line.startswith("APG config error: ") for line in lines)
    assert "Traceback" not in result.stderr and result.stdout == ""
    for secret in ("changeme-please", "not-a-fernet-key-do-not-print", "apg-emulator-key"):
        assert secret not in result.stderr
