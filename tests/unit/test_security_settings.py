"""Security settings: the callback allowlist, rate limits, and the seed's variables mapped onto
them (or refused, with the reason, when they ask for a check that cannot exist)."""

from __future__ import annotations

from pathlib import Path

import pytest

from apg.config import ConfigError, load_settings
from apg.settings import SAFARICOM_CALLBACK_IPS

# Built-in defaults only: the file load_settings is pointed at does not exist.
NO_FILE = Path(__file__).parent / "no-such-config.yaml"


def settings(**environ: str):  # type: ignore[no-untyped-def]
    assert not NO_FILE.exists()
    return load_settings(environ=environ, path=NO_FILE)


def problems(**environ: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        settings(**environ)
    return caught.value.problems


def test_the_defaults_are_safaricoms_addresses_and_the_seeds_callback_rate() -> None:
    security = settings().security
    assert security.callback_allowlist == SAFARICOM_CALLBACK_IPS
    assert security.enforce_callback_allowlist is None  # production only
    assert security.callback_rate_limit == "100/minute"


def test_the_allowlist_and_limits_come_from_the_environment() -> None:
    security = settings(
        APG_CALLBACK_ALLOWLIST="196.201.214.0/24, 10.1.2.3",
        APG_ENFORCE_CALLBACK_ALLOWLIST="true",
        APG_API_RATE_LIMIT="50/second",
        APG_CALLBACK_RATE_LIMIT="",
    ).security
    assert security.callback_allowlist == ("196.201.214.0/24", "10.1.2.3")
    assert security.enforce_callback_allowlist is True
    assert security.api_rate_limit == "50/second"
    assert security.callback_rate_limit == "100/minute"  # an empty variable sets nothing


@pytest.mark.parametrize(
    ("environ", "problem"),
    [
        ({"APG_CALLBACK_ALLOWLIST": "196.201.214.x"}, "security.callback_allowlist: '196.201"),
        ({"APG_API_RATE_LIMIT": "lots"}, "security.api_rate_limit: 'lots' is not a rate"),
        ({"APG_CALLBACK_RATE_LIMIT": "5 a day"}, "security.callback_rate_limit: '5 a day'"),
    ],
)
def test_a_bad_allowlist_or_rate_stops_start_up(environ: dict[str, str], problem: str) -> None:
    assert any(line.startswith(problem) for line in problems(**environ))


def test_the_seeds_rate_and_timeout_map_onto_apgs_settings() -> None:
    loaded = settings(MAX_CALLBACK_RATE="250", CALLBACK_TIMEOUT="120")
    assert loaded.security.callback_rate_limit == "250/minute"
    assert loaded.reconciliation.after_seconds == 120
    assert settings(MAX_CALLBACK_RATE="10/second").security.callback_rate_limit == "10/second"
    both = settings(MAX_CALLBACK_RATE="250", APG_CALLBACK_RATE_LIMIT="300/minute")
    assert both.security.callback_rate_limit == "300/minute"  # APG's own name wins


def test_asking_for_validation_apg_always_does_is_accepted() -> None:
    settings(ENABLE_HMAC_VALIDATION="true", ENABLE_STRUCTURE_VALIDATION="1")


@pytest.mark.parametrize(
    ("var", "value", "reason"),
    [
        ("ENABLE_HMAC_VALIDATION", "false", "URL token, which cannot be turned off"),
        ("ENABLE_STRUCTURE_VALIDATION", "0", "shape is always checked"),
        ("HMAC_SECRET_KEY", "s3cr3t-value", "Safaricom signs no callback"),
        ("ENABLE_HMAC_VALIDATION", "maybe", "expected true or false"),
    ],
)
def test_the_seeds_switches_that_cannot_work_stop_start_up_with_why(
    var: str, value: str, reason: str
) -> None:
    [problem] = problems(**{var: value})
    assert problem.startswith(var) and reason in problem
    assert "s3cr3t-value" not in problem  # a secret is never echoed
