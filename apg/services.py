"""What varies, built once per app in create_app and reached from the HTTP and CLI layers."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from apg.checkout.service import Checkout
from apg.clock import Clock
from apg.crypto import SecretBox
from apg.payments.registry import ProcessorRegistry
from apg.payments.service import Payments
from apg.settings import Settings
from apg.webhooks.service import Inbox


@dataclass
class Services:
    settings: Settings
    clock: Clock
    secrets: SecretBox
    processors: ProcessorRegistry
    payments: Payments
    inbox: Inbox
    checkout: Checkout


def services() -> Services:
    """For routes and CLI commands only; domain code is handed what it needs."""
    return current_app.extensions["apg"]
