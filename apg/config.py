"""Build Settings once: built-in defaults <- config/mpesa.yaml <- environment <- overrides."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import types
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from apg import config_checks
from apg.config_checks import DEV_SECRET_KEY
from apg.config_seed import seed_settings
from apg.crypto import DEV_ENCRYPTION_KEY
from apg.settings import AppSettings, Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_PATH = PROJECT_ROOT / "config" / "mpesa.yaml"

# Environment variable -> dotted settings key. MPESA_* and APG_DEFAULT_TENANT_* configure the
# default tenant.
ENV_VARS = {
    "APG_ENV": "app.env",
    "DATABASE_URL": "app.database_url",
    "REDIS_URL": "app.redis_url",
    "APG_SECRET_KEY": "security.secret_key",
    "APG_ENCRYPTION_KEY": "security.encryption_key",
    "APG_OPS_TOKEN": "security.ops_token",
    "APG_LOG_LEVEL": "monitoring.log_level",
    "APG_LOG_FORMAT": "monitoring.log_format",
    "APG_LOG_DARAJA_TRAFFIC": "monitoring.log_daraja_traffic",
    "APG_TRUSTED_PROXY_HOPS": "security.trusted_proxy_hops",
    "APG_CALLBACK_ALLOWLIST": "security.callback_allowlist",  # comma-separated
    "APG_ENFORCE_CALLBACK_ALLOWLIST": "security.enforce_callback_allowlist",
    "APG_API_RATE_LIMIT": "security.api_rate_limit",
    "APG_CALLBACK_RATE_LIMIT": "security.callback_rate_limit",  # wins over MAX_CALLBACK_RATE
    "APG_AUTH_FAILURE_RATE_LIMIT": "security.auth_failure_rate_limit",
    "APG_CONFIRM_CALLBACKS_BY_QUERY": "security.confirm_callbacks_by_query",
    "APG_DEFAULT_TENANT_ENABLED": "default_tenant.enabled",
    "APG_DEFAULT_TENANT_NAME": "default_tenant.name",
    "MPESA_ENVIRONMENT": "default_tenant.environment",
    "MPESA_CONSUMER_KEY": "default_tenant.consumer_key",
    "MPESA_CONSUMER_SECRET": "default_tenant.consumer_secret",
    "MPESA_SHORTCODE": "default_tenant.shortcode",
    "MPESA_BUSINESS_SHORT_CODE": "default_tenant.shortcode",  # wins over the alias above
    "MPESA_PASSKEY": "default_tenant.passkey",
    "MPESA_BASE_URL": "default_tenant.base_url",
    "MPESA_CALLBACK_BASE_URL": "callbacks.public_base_url",
}


class ConfigError(Exception):
    """Settings are wrong: `problems` holds one line per problem, each naming its key."""

    def __init__(self, problems: str | list[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


@contextlib.contextmanager
def exit_on_config_error() -> Iterator[None]:
    """Turn a ConfigError into `APG config error: <problem>` lines on stderr and exit status 2."""
    try:
        yield
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"APG config error: {problem}", file=sys.stderr)
        raise SystemExit(2) from None


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    path: Path | None = None,
) -> Settings:
    """Return validated Settings; raise ConfigError listing every problem found.

    `path` replaces APG_CONFIG and may be absent (built-in defaults); a file APG_CONFIG
    names must exist, and only the default config/mpesa.yaml may be absent silently.
    """
    problems: list[str] = []
    tree = _layers(overrides, environ, path, problems)
    emulator = _load_emulator(tree.pop("emulator", None), problems)
    settings = dataclasses.replace(_build(Settings, tree, "", problems), emulator=emulator)
    problems += config_checks.problems(settings)
    if problems:
        raise ConfigError(problems)
    return _with_dev_fallbacks(settings)


def load_database_url(*, environ: Mapping[str, str] | None = None, path: Path | None = None) -> str:
    """app.database_url (DATABASE_URL) through the same layers, without the other settings'
    checks: migrations need nothing else. Raises ConfigError for an unreadable config."""
    problems: list[str] = []
    tree = _layers(None, environ, path, problems)
    url = _build(AppSettings, tree.get("app", {}), "app.", problems).database_url
    if problems:
        raise ConfigError(problems)
    return str(url)


def sqlalchemy_url(database_url: str, instance_path: str) -> str:
    """The SQLAlchemy URL for DATABASE_URL: postgres[ql]:// drives psycopg 3, and a relative
    SQLite file lives in instance_path (created if missing)."""
    if database_url.startswith(("postgres://", "postgresql://")):
        return "postgresql+psycopg://" + database_url.split("://", 1)[1]
    if database_url.startswith("sqlite:///") and not database_url.startswith("sqlite:////"):
        os.makedirs(instance_path, exist_ok=True)
        return f"sqlite:///{instance_path}/{database_url.removeprefix('sqlite:///')}"
    return database_url


def _layers(
    overrides: Mapping[str, Any] | None,
    environ: Mapping[str, str] | None,
    path: Path | None,
    problems: list[str],
) -> dict[str, Any]:
    """The YAML file <- environment <- overrides, merged (the dataclasses hold the defaults)."""
    environ = os.environ if environ is None else environ
    named = environ.get("APG_CONFIG") if path is None else None
    source = path or (Path(named) if named else DEFAULT_CONFIG_PATH)
    tree: dict[str, Any] = {}
    _merge(tree, _read_yaml(source, bool(named), problems))
    _merge(tree, _nest(seed_settings(environ, problems)))  # the seed's names, then APG's
    for var, key in ENV_VARS.items():
        if environ.get(var):
            _merge(tree, _nest({key: environ[var]}))
    _merge(tree, _nest(dict(overrides or {})))
    return tree


def _read_yaml(path: Path, named: bool, problems: list[str]) -> dict[str, Any]:
    """The file's sections; a missing file reads as empty unless APG_CONFIG named it."""
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        if named:
            problems.append(f"{path} (APG_CONFIG): no such file")
        return {}
    except OSError as exc:
        problems.append(f"{path}: cannot read it: {exc.strerror}")
        return {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problems.append(f"{path}:{where} is not valid YAML")
        return {}
    if not isinstance(data, dict):
        problems.append(f"{path}: the top level must be a mapping of sections")
        return {}
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


def _load_emulator(section: Any, problems: list[str]) -> Any:
    from daraja_emulator import EmulatorConfigError, load_config

    try:
        return load_config(section)
    except EmulatorConfigError as exc:  # the emulator stops at its first problem
        problems.append(str(exc))
        return load_config(None)


def _build(cls: type, data: Any, prefix: str, problems: list[str]) -> Any:
    """cls from a mapping; an unknown or mistyped key is a problem and keeps its default."""
    if not isinstance(data, Mapping):
        problems.append(f"{prefix.rstrip('.') or 'config'}: must be a mapping")
        return cls()
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    problems += [f"{prefix}{key}: unknown key" for key in data if key not in names]
    values = {}
    for name in (key for key in data if key in names):  # in file order, so output is stable
        hint = hints[name]
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            values[name] = _build(hint, data[name], f"{prefix}{name}.", problems)
            continue
        try:
            values[name] = _coerce(data[name], hint, f"{prefix}{name}")
        except ConfigError as exc:
            problems += exc.problems
    return cls(**values)


def _coerce(value: Any, hint: Any, key: str) -> Any:
    optional = isinstance(hint, types.UnionType) and type(None) in hint.__args__
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{key}: must be set")
    base = next(a for a in hint.__args__ if a is not type(None)) if optional else hint
    if typing.get_origin(base) is tuple:  # tuple[str, ...]: a YAML list or "a, b" from env
        items = value.split(",") if isinstance(value, str) else value
        if isinstance(items, list | tuple) and all(isinstance(i, str | int) for i in items):
            found = tuple(str(i).strip() for i in items if str(i).strip())
            return tuple(int(i) for i in found) if typing.get_args(base)[0] is int else found
        raise ConfigError(f"{key}: expected a list of strings, got {value!r}")
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


def _with_dev_fallbacks(s: Settings) -> Settings:
    security = dataclasses.replace(
        s.security,
        secret_key=s.security.secret_key or DEV_SECRET_KEY,
        encryption_key=s.security.encryption_key or DEV_ENCRYPTION_KEY,
    )
    return dataclasses.replace(s, security=security)
