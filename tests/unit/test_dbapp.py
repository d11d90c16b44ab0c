"""`flask --app apg.dbapp db upgrade` migrates with only DATABASE_URL, even in production."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from apg.config import ConfigError, load_database_url, sqlalchemy_url

PROJECT_ROOT = Path(__file__).parents[2]
MIGRATIONS = PROJECT_ROOT / "migrations"


def run_dbapp(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "apg.dbapp", *args],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), **env},
        cwd=PROJECT_ROOT,
        check=False,
    )


def test_db_upgrade_needs_only_the_database_url_in_production(tmp_path: Path) -> None:
    database = tmp_path / "apg.db"
    env = {"DATABASE_URL": f"sqlite:///{database}", "APG_ENV": "production"}
    result = run_dbapp(env, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        [(version,)] = connection.execute("SELECT version_num FROM alembic_version")
    assert version == ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert {"tenants", "api_keys", "mpesa_accounts", "payment_transactions"} <= tables
    assert {"oauth_tokens", "inbound_callbacks", "idempotency_keys", "outbox_events"} <= tables


def test_dbapp_models_cover_every_migrated_table(tmp_path: Path) -> None:
    """Autogenerate compares the models the app imported: a table missing here would be
    proposed for dropping by the next `db migrate`."""
    database = tmp_path / "apg.db"
    env = {"DATABASE_URL": f"sqlite:///{database}"}
    assert run_dbapp(env, "db", "upgrade").returncode == 0
    script = "import apg.dbapp; print(' '.join(apg.dbapp.db.metadata.tables))"
    modelled = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={"PATH": "", **env},
        cwd=PROJECT_ROOT,
        check=True,
    ).stdout.split()
    with sqlite3.connect(database) as connection:
        names = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        migrated = {name for (name,) in names} - {"alembic_version"}
    assert set(modelled) == migrated


def test_dbapp_prints_config_errors_and_exits(tmp_path: Path) -> None:
    absent = tmp_path / "absent.yaml"
    result = run_dbapp({"APG_CONFIG": str(absent)}, "db", "current")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"APG config error: {absent} (APG_CONFIG): no such file"]


def test_the_database_url_comes_through_the_usual_layers(tmp_path: Path) -> None:
    path = tmp_path / "apg.yaml"
    path.write_text("app:\n  database_url: postgresql://yaml@db/apg\n  env: production\n")
    assert load_database_url(environ={}, path=path) == "postgresql://yaml@db/apg"
    env = {"DATABASE_URL": "postgresql://env@db/apg"}
    assert load_database_url(environ=env, path=path) == "postgresql://env@db/apg"
    assert load_database_url(environ={}, path=tmp_path / "absent.yaml") == "sqlite:///apg.db"


def test_the_database_url_ignores_other_settings_but_not_a_bad_config(tmp_path: Path) -> None:
    path = tmp_path / "apg.yaml"
    path.write_text("security:\n  secret_key: short\napp:\n  database_url: [a, list]\n")
    with pytest.raises(ConfigError) as info:
        load_database_url(environ={"APG_ENV": "production"}, path=path)
    assert info.value.problems == ["app.database_url: expected str, got ['a', 'list']"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://apg:pw@db/apg", "postgresql+psycopg://apg:pw@db/apg"),
        ("postgresql://apg@db:5432/apg", "postgresql+psycopg://apg@db:5432/apg"),
        ("postgresql+psycopg://apg@db/apg", "postgresql+psycopg://apg@db/apg"),
        ("sqlite:////var/lib/apg.db", "sqlite:////var/lib/apg.db"),
        ("sqlite:///apg.db", "sqlite:///{instance}/apg.db"),
        ("sqlite:///data/apg.db", "sqlite:///{instance}/data/apg.db"),
    ],
)
def test_sqlalchemy_url(tmp_path: Path, url: str, expected: str) -> None:
    instance = tmp_path / "instance"
    assert sqlalchemy_url(url, str(instance)) == expected.format(instance=instance)
    assert instance.is_dir() == ("{instance}" in expected)  # made only for a relative file
