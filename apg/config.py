"""Build Settings once: built-in defaults <- config/mpesa.yaml <- environment <- overrides."""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from apg.crypto import DEV_ENCRYPTION_KEY, parse_keys
from apg.processors.mpesa.mapping import forbidden_callback_word
from apg.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_PATH = PROJECT_ROOT / "config" / "mpesa.yaml"

# Environment variable -> dotted settings key. The MPESA_* names configure the default tenant.
ENV_VARS = {
    "APG_ENV": "app.env",
    "DATABASE_URL": "app.database_url",
    "REDIS_URL": "app.redis_url",
    "APG_SECRET_KEY": "security.secret_key",
    "APG_ENCRYPTION_KEY": "security.encryption_key",
    "APG_LOG_LEVEL": "monitoring.log_level",
    "MPESA_ENVIRONMENT": "default_tenant.environment",
    "MPESA_CONSUMER_KEY": "default_tenant.consumer_key",
    "MPESA_CONSUMER_SECRET": "default_tenant.consumer_secret",
    "MPESA_SHORTCODE": "default_tenant.shortcode",
    "MPESA_BUSINESS_SHORT_CODE": "default_tenant.shortcode",  # wins over the alias above
    "MPESA_PASSKEY": "default_tenant.passkey",
    "MPESA_BASE_URL": "default_tenant.base_url",
    "MPESA_CALLBACK_BASE_URL": "callbacks.public_base_url",
}

# Development-only fallbacks, refused in production (DEV_ENCRYPTION_KEY is in apg.crypto).
DEV_SECRET_KEY = "apg-development-secret-key-not-for-production"

CHOICES = {
    "app.env": {"development", "production"},
    "default_tenant.environment": {"emulator", "sandbox", "production"},
    "default_tenant.shortcode_kind": {"paybill", "till"},
    "monitoring.log_level": {"DEBUG", "INFO", "WARNING", "ERROR"},
}


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the key in one line."""


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    path: Path | None = None,
) -> Settings:
    """Return validated Settings; raise ConfigError naming the first bad key."""
    environ = os.environ if environ is None else environ
    path = path or Path(environ.get("APG_CONFIG", DEFAULT_CONFIG_PATH))
    tree: dict[str, Any] = {}
    _merge(tree, _read_yaml(path))
    for var, key in ENV_VARS.items():
        if environ.get(var):
            _merge(tree, _nest({key: environ[var]}))
    _merge(tree, _nest(dict(overrides or {})))
    emulator = _load_emulator(tree.pop("emulator", None))
    settings = _build(Settings, tree, "")
    settings = dataclasses.replace(settings, emulator=emulator)
    _validate(settings)
    return _with_dev_fallbacks(settings)


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}:{where} is not valid YAML") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    return data


def _nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """{"a.b": 1, "c": {"d": 2}} -> {"a": {"b": 1}, "c": {"d": 2}}."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        *parents, leaf = key.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = dict(value) if isinstance(value, Mapping) else value


def _load_emulator(section: Any) -> Any:
    from daraja_emulator import EmulatorConfigError, load_config

    try:
        return load_config(section)
    except EmulatorConfigError as exc:
        raise ConfigError(str(exc)) from exc


def _build(cls: type, data: Any, prefix: str) -> Any:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: must be a mapping")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in names:
            raise ConfigError(f"{prefix}{key}: unknown key")
    values = {}
    for name in names & set(data):
        hint = hints[name]
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            values[name] = _build(hint, data[name], f"{prefix}{name}.")
        else:
            values[name] = _coerce(data[name], hint, f"{prefix}{name}")
    return cls(**values)


def _coerce(value: Any, hint: Any, key: str) -> Any:
    optional = isinstance(hint, types.UnionType) and type(None) in hint.__args__
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{key}: must be set")
    base = next(a for a in hint.__args__ if a is not type(None)) if optional else hint
    if base is bool:
        if isinstance(value, bool):
            return value
        if str(value).lower() in {"true", "1", "yes", "false", "0", "no"}:
            return str(value).lower() in {"true", "1", "yes"}
    elif base is int and not isinstance(value, bool | float):
        try:
            return int(value)
        except ValueError:
            pass
    elif base is float and not isinstance(value, bool):
        try:
            return float(value)
        except ValueError:
            pass
    elif base is str and isinstance(value, str | int):
        return str(value)
    raise ConfigError(f"{key}: expected {base.__name__}, got {value!r}")


def _validate(s: Settings) -> None:
    for key, allowed in CHOICES.items():
        section, name = key.split(".")
        if getattr(getattr(s, section), name) not in allowed:
            raise ConfigError(f"{key}: must be one of {', '.join(sorted(allowed))}")
    for key in ("environments.emulator", "environments.sandbox", "environments.production"):
        _require_url(key, getattr(s.environments, key.split(".")[1]))
    _require_url("callbacks.public_base_url", s.callbacks.public_base_url)
    word = forbidden_callback_word(s.callbacks.public_base_url)
    if word:
        raise ConfigError(f"callbacks.public_base_url: Daraja rejects URLs containing {word!r}")
    if s.default_tenant.shortcode_kind == "till" and not s.default_tenant.store_number:
        raise ConfigError("default_tenant.store_number: required for a till")
    if s.payments.currency != "KES":
        raise ConfigError("payments.currency: only KES is supported")
    if not 0 < s.payments.min_amount <= s.payments.max_amount:
        raise ConfigError("payments.min_amount: must be positive and <= payments.max_amount")
    if s.security.encryption_key:
        _validate_encryption_key(s.security.encryption_key)
    if s.is_production:
        _validate_production(s)


def _validate_production(s: Settings) -> None:
    if not s.security.secret_key:
        raise ConfigError("security.secret_key (APG_SECRET_KEY): required in production")
    if not s.security.encryption_key:
        raise ConfigError("security.encryption_key (APG_ENCRYPTION_KEY): required in production")
    if s.app.database_url.startswith("sqlite"):
        raise ConfigError("app.database_url (DATABASE_URL): production needs PostgreSQL")
    if not s.callbacks.public_base_url.startswith("https://"):
        raise ConfigError("callbacks.public_base_url (MPESA_CALLBACK_BASE_URL): must be https")


def _validate_encryption_key(keys: str) -> None:
    try:
        parse_keys(keys)
    except ValueError as exc:  # its message names the key by position, never by value
        raise ConfigError(f"security.encryption_key (APG_ENCRYPTION_KEY): {exc}") from None


def _require_url(key: str, value: str) -> None:
    if not value.startswith(("http://", "https://")) or any(c.isspace() for c in value):
        raise ConfigError(f"{key}: must be an http(s) URL without spaces")


def _with_dev_fallbacks(s: Settings) -> Settings:
    security = dataclasses.replace(
        s.security,
        secret_key=s.security.secret_key or DEV_SECRET_KEY,
        encryption_key=s.security.encryption_key or DEV_ENCRYPTION_KEY,
    )
    return dataclasses.replace(s, security=security)
