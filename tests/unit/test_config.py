"""Settings: defaults <- YAML <- environment <- overrides, and one line per problem."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from apg import config
from apg.config import DEFAULT_CONFIG_PATH, ConfigError, load_settings

A_FERNET_KEY = Fernet.generate_key().decode()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mpesa.yaml"
    path.write_text(text)
    return path


def test_shipped_yaml_loads_with_the_emulator_scenarios() -> None:
    settings = load_settings(environ={}, path=DEFAULT_CONFIG_PATH)
    assert settings.default_tenant.shortcode == "174379"
    assert settings.environments.emulator == "http://127.0.0.1:8089"
    scenarios = settings.emulator.scenarios
    assert {k: v.result_code for k, v in scenarios.items()} == {
        "254708374149": 0,
        "254708374150": 1,
        "254708374151": 1032,
        "254708374152": 1037,
        "254708374153": 2001,
    }


def test_precedence_defaults_yaml_env_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, "performance:\n  read_timeout_seconds: 7\n  http_pool_maxsize: 3\n")
    assert load_settings(environ={}, path=path).performance.read_timeout_seconds == 7
    assert load_settings(environ={}, path=path).performance.connect_timeout_seconds == 3.05
    env = {"MPESA_CALLBACK_BASE_URL": "https://pay.example.com", "MPESA_SHORTCODE": "600100"}
    settings = load_settings({"performance.http_pool_maxsize": 9}, environ=env, path=path)
    assert settings.callbacks.public_base_url == "https://pay.example.com"
    assert settings.default_tenant.shortcode == "600100"
    assert settings.performance.http_pool_maxsize == 9


def test_business_short_code_wins_over_its_alias(tmp_path: Path) -> None:
    env = {"MPESA_SHORTCODE": "600100", "MPESA_BUSINESS_SHORT_CODE": "600200"}
    assert load_settings(environ=env, path=write(tmp_path, "")).default_tenant.shortcode == "600200"


def test_seed_variables_reach_the_default_tenant(tmp_path: Path) -> None:
    env = {
        "MPESA_ENVIRONMENT": "sandbox",
        "MPESA_CONSUMER_KEY": "ck",
        "MPESA_CONSUMER_SECRET": "cs",
        "MPESA_PASSKEY": "pk",
        "MPESA_BASE_URL": "http://127.0.0.1:9999",
    }
    tenant = load_settings(environ=env, path=write(tmp_path, "")).default_tenant
    assert (
        tenant.environment,
        tenant.consumer_key,
        tenant.consumer_secret,
        tenant.passkey,
        tenant.base_url,
    ) == ("sandbox", "ck", "cs", "pk", "http://127.0.0.1:9999")


@pytest.mark.parametrize(
    ("yaml_text", "env", "message"),
    [
        ("app: [unclosed", {}, "not valid YAML"),
        ("- a list", {}, "top level must be a mapping"),
        ("performance:\n  read_timeout: 3\n", {}, "performance.read_timeout: unknown key"),
        ("nonsense: 1\n", {}, "nonsense: unknown key"),
        (
            "performance:\n  http_pool_maxsize: many\n",
            {},
            "performance.http_pool_maxsize: expected int",
        ),
        ("app:\n  env: staging\n", {}, "app.env: must be one of"),
        ("", {"MPESA_CALLBACK_BASE_URL": "https://x.com/mpesa"}, "callbacks.public_base_url"),
        ("", {"MPESA_ENVIRONMENT": "live"}, "default_tenant.environment"),
        ("emulator:\n  callback_delayy: 1\n", {}, "emulator.callback_delayy"),
        ("payments:\n  min_amount: 0\n", {}, "payments.min_amount"),
    ],
)
def test_bad_config_names_the_key(
    tmp_path: Path, yaml_text: str, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        load_settings(environ=env, path=write(tmp_path, yaml_text))
    assert info.value.problems == [str(info.value)]  # exactly one problem, on one line
    assert "\n" not in str(info.value)


def test_every_problem_is_listed_not_only_the_first(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "app:\n  env: staging\nperformance:\n  read_timeout: 3\n  http_pool_maxsize: many\n"
        "payments:\n  currency: USD\nemulator:\n  callback_delayy: 1\n",
    )
    with pytest.raises(ConfigError) as info:
        load_settings(environ={"MPESA_ENVIRONMENT": "live"}, path=path)
    assert [problem.split(":")[0] for problem in info.value.problems] == [
        "emulator.callback_delayy",
        "performance.read_timeout",
        "performance.http_pool_maxsize",
        "app.env",
        "default_tenant.environment",
        "payments.currency",
    ]
    assert str(info.value) == "\n".join(info.value.problems)


def test_a_missing_config_file_named_by_apg_config_is_an_error(tmp_path: Path) -> None:
    absent = tmp_path / "absent.yaml"
    with pytest.raises(ConfigError) as info:
        load_settings(environ={"APG_CONFIG": str(absent)})
    assert info.value.problems == [f"{absent} (APG_CONFIG): no such file"]


def test_an_unreadable_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(environ={"APG_CONFIG": str(tmp_path)})  # a directory
    assert info.value.problems == [f"{tmp_path}: cannot read it: Is a directory"]


def test_only_the_default_config_file_may_be_absent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config, "DEFAULT_CONFIG_PATH", tmp_path / "absent.yaml")
    assert load_settings(environ={}).default_tenant.shortcode == "174379"  # built-in defaults
    assert load_settings(environ={"APG_CONFIG": ""}).performance.http_pool_maxsize == 128


def test_apg_config_names_the_file_read(tmp_path: Path) -> None:
    path = write(tmp_path, "performance:\n  http_pool_maxsize: 3\n")
    assert load_settings(environ={"APG_CONFIG": str(path)}).performance.http_pool_maxsize == 3


A_SECRET_KEY = secrets.token_urlsafe(48)
PRODUCTION = {
    "APG_ENV": "production",
    "APG_SECRET_KEY": A_SECRET_KEY,
    "APG_ENCRYPTION_KEY": A_FERNET_KEY,
    "APG_OPS_TOKEN": secrets.token_urlsafe(32),
    "DATABASE_URL": "postgresql://apg@db/apg",
    "MPESA_CALLBACK_BASE_URL": "https://pay.example.com",
    "APG_DEFAULT_TENANT_ENABLED": "false",  # tenants come from `flask apg create-tenant`
}


@pytest.mark.parametrize(
    ("missing", "key"),
    [
        ("APG_SECRET_KEY", "security.secret_key"),
        ("APG_ENCRYPTION_KEY", "security.encryption_key"),
        ("APG_OPS_TOKEN", "security.ops_token"),
        ("DATABASE_URL", "app.database_url"),
        ("MPESA_CALLBACK_BASE_URL", "callbacks.public_base_url"),
    ],
)
def test_production_refuses_to_start_without(tmp_path: Path, missing: str, key: str) -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    with pytest.raises(ConfigError) as info:
        load_settings(environ=env, path=write(tmp_path, ""))
    [problem] = info.value.problems
    assert problem.startswith(f"{key} ({missing}): ")


def test_production_with_everything_set_loads(tmp_path: Path) -> None:
    settings = load_settings(environ=PRODUCTION, path=write(tmp_path, ""))
    assert settings.is_production and settings.security.secret_key == A_SECRET_KEY
    assert settings.default_tenant.enabled is False


def test_wsgi_prints_one_line_and_exits_on_bad_config(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = write(tmp_path, "performance:\n  read_timeout: 3\n")
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        capture_output=True,
        text=True,
        env={"APG_CONFIG": str(path), "PATH": ""},
        cwd=Path(__file__).parents[2],
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "APG config error: performance.read_timeout: unknown key"


SECRETS = {
    "APG_SECRET_KEY": "sk-do-not-print",
    "APG_ENCRYPTION_KEY": A_FERNET_KEY,
    "MPESA_CONSUMER_KEY": "ck-do-not-print",
    "MPESA_CONSUMER_SECRET": "cs-do-not-print",
    "MPESA_PASSKEY": "pk-do-not-print",
    "DATABASE_URL": "postgresql://apg:db-password-do-not-print@db/apg",
    "REDIS_URL": "redis://:redis-password-do-not-print@cache:6379/0",
}


def test_settings_reprs_hide_secrets_and_show_the_rest(tmp_path: Path) -> None:
    env = {**SECRETS, "MPESA_SHORTCODE": "600100"}
    settings = load_settings(environ=env, path=write(tmp_path, ""))
    parts = (settings, settings.app, settings.security, settings.default_tenant)
    shown = " ".join(show(part) for part in parts for show in (repr, str))
    for secret in SECRETS.values():
        assert secret not in shown
    for visible in ("shortcode='600100'", "name='Demo Merchant'", "trusted_proxy_hops=0"):
        assert visible in shown


@pytest.mark.parametrize(
    "keys",
    [
        "not-a-fernet-key",
        "x" * 44,  # base64, but 33 bytes
        f"{A_FERNET_KEY},not-a-fernet-key",
        " , ",
    ],
    ids=["not-base64", "33-bytes", "second-of-two", "no-key"],
)
def test_an_invalid_encryption_key_is_one_line_that_hides_the_key(
    tmp_path: Path, keys: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(environ={"APG_ENCRYPTION_KEY": keys}, path=write(tmp_path, ""))
    message = str(info.value)
    assert message.startswith("security.encryption_key (APG_ENCRYPTION_KEY): ")
    assert info.value.problems == [message]
    for key in keys.split(","):
        assert not key.strip() or key.strip() not in message


def test_a_proxy_in_front_is_set_by_environment(tmp_path: Path) -> None:
    settings = load_settings(environ={"APG_TRUSTED_PROXY_HOPS": "1"}, path=tmp_path / "none.yaml")
    assert settings.security.trusted_proxy_hops == 1


@pytest.mark.parametrize(
    "key",
    ["circuit_breaker.failure_threshold", "retry.attempts", "reconciliation.after_seconds"],
)
def test_counts_and_intervals_must_be_positive(tmp_path: Path, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({key: 0}, environ={}, path=tmp_path / "none.yaml")
    assert f"{key}: must be positive" in info.value.problems
