"""Another app on the session app's database, encryption key and emulator, with some settings
changed: for tests of settings the shared app cannot change (limits, log modes, a dead DB)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from apg import create_app
from apg.clock import Clock
from tests.support.openapi import CheckedClient


def sibling_app(app: Flask, clock: Clock | None = None, **overrides: Any) -> Flask:
    settings = app.extensions["apg"].settings
    other = create_app(
        {
            "app.database_url": settings.app.database_url,
            "environments.emulator": settings.environments.emulator,
            "callbacks.public_base_url": settings.callbacks.public_base_url,
            "security.encryption_key": settings.security.encryption_key,
            "security.secret_key": "test-secret",
            "monitoring.log_level": "WARNING",
            **overrides,
        },
        clock=clock,
    )
    other.config["TESTING"] = True
    other.test_client_class = CheckedClient  # every API response checked against the document
    return other
