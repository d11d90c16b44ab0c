"""Small type checks for config values; each raises EmulatorConfigError naming the key path."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Mapping
from typing import Any

SHORTCODE = re.compile(r"[0-9]{5,7}")
MSISDN = re.compile(r"254[17][0-9]{8}")


class EmulatorConfigError(ValueError):
    """A config value is missing, unknown or of the wrong type; the message names its path."""


def fail(path: str, problem: str) -> EmulatorConfigError:
    return EmulatorConfigError(f"{path}: {problem}")


def mapping(value: Any, path: str) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise fail(path, "must be a mapping")
    return value


def sequence(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise fail(path, "must be a list")
    return list(value)


def known_keys(given: Mapping[Any, Any], allowed: Collection[str], path: str) -> None:
    for key in given:
        if key not in allowed:
            raise fail(f"{path}.{key}", "unknown key")


def field_names(cls: type) -> tuple[str, ...]:
    """The keys a config mapping may use for this dataclass."""
    return tuple(f.name for f in dataclasses.fields(cls))


def required(fields: Mapping[Any, Any], key: str, path: str) -> Any:
    if fields.get(key) is None:
        raise fail(f"{path}.{key}", "is required")
    return fields[key]


def string(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise fail(path, "must be a non-empty string")
    return value


def boolean(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise fail(path, "must be a boolean (true or false)")
    return value


def integer(value: Any, path: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise fail(path, f"must be an integer >= {minimum}")
    return value


def seconds(value: Any, path: str, *, positive: bool = False) -> float:
    bound = "> 0" if positive else ">= 0"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail(path, f"must be a number of seconds {bound}")
    if value < 0 or (positive and value == 0):
        raise fail(path, f"must be a number of seconds {bound}")
    return value


def choice(value: Any, path: str, options: Collection[str]) -> str:
    if value not in options:
        raise fail(path, f"must be one of: {', '.join(options)}")
    return value


def result_code(value: Any, path: str) -> int | str:
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        raise fail(path, "must be an integer or string")
    return value


def shortcode(value: Any, path: str) -> str:
    text = _digits(value)
    if text is None or not SHORTCODE.fullmatch(text):
        raise fail(path, "must be a 5-7 digit shortcode")
    return text


def msisdn(value: Any, path: str) -> str:
    text = _digits(value)
    if text is None or not MSISDN.fullmatch(text):
        raise fail(path, "must be a 12-digit MSISDN (2547XXXXXXXX or 2541XXXXXXXX)")
    return text


def party(value: Any, path: str) -> str:
    """A scenario key: a customer's MSISDN or an organisation's shortcode."""
    text = _digits(value)
    if text is None or not (MSISDN.fullmatch(text) or SHORTCODE.fullmatch(text)):
        raise fail(
            path,
            "must be a 12-digit MSISDN (2547XXXXXXXX or 2541XXXXXXXX) or a 5-7 digit shortcode",
        )
    return text


def _digits(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | str):
        return str(value)
    return None
