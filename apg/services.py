"""What varies, injected once per app: settings, clock, secret box, processors."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from apg.clock import Clock
from apg.crypto import SecretBox
from apg.processors.registry import ProcessorRegistry
from apg.settings import Settings


@dataclass
class Services:
    settings: Settings
    clock: Clock
    secrets: SecretBox
    processors: ProcessorRegistry


def services() -> Services:
    return current_app.extensions["apg"]
