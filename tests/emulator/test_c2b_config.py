"""C2B config keys: sandbox-like defaults, the repository YAML, errors naming the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from daraja_emulator import EmulatorConfigError, load_config

REPOSITORY_YAML = Path(__file__).resolve().parents[2] / "config" / "mpesa.yaml"


def test_defaults_behave_like_the_sandbox() -> None:
    config = load_config(None)
    assert config.c2b_register_once is False  # the sandbox lets you register again (§4.1)
    assert config.c2b_external_validation is True
    assert config.c2b_validation_timeout_seconds == 8  # §16: under ~8 s


def test_the_repository_yaml_documents_the_defaults() -> None:
    section = yaml.safe_load(REPOSITORY_YAML.read_text(encoding="utf-8"))["emulator"]
    config, defaults = load_config(section), load_config(None)
    for key in ("c2b_register_once", "c2b_external_validation", "c2b_validation_timeout_seconds"):
        assert getattr(config, key) == getattr(defaults, key)


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"c2b_register_once": "yes"}, "emulator.c2b_register_once: must be a boolean"),
        ({"c2b_external_validation": 1}, "emulator.c2b_external_validation: must be a boolean"),
        (
            {"c2b_validation_timeout_seconds": 0},
            "emulator.c2b_validation_timeout_seconds: must be a number of seconds > 0",
        ),
        (
            {"c2b_validation_timeout_seconds": "8"},
            "emulator.c2b_validation_timeout_seconds: must be a number of seconds > 0",
        ),
    ],
)
def test_bad_values_name_the_key(mapping: dict[str, Any], message: str) -> None:
    with pytest.raises(EmulatorConfigError, match=message):
        load_config(mapping)
