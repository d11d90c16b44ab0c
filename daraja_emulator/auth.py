"""Daraja's two credentials checks: the Bearer access token and the Lipa na M-Pesa password."""

from __future__ import annotations

import base64
import hmac
from collections.abc import Callable
from typing import Any

from flask import request

from daraja_emulator.config import EmulatorConfig, Merchant
from daraja_emulator.errors import (
    DarajaError,
    invalid_access_token,
    invalid_authentication_header,
    merchant_validation,
)
from daraja_emulator.runtime import current_emulator


def authorization_header() -> tuple[str, str]:
    """(scheme in lower case, credentials) from the Authorization header; blanks when absent."""
    scheme, _, credentials = request.headers.get("Authorization", "").strip().partition(" ")
    return scheme.lower(), credentials.strip()


def require_access_token(
    on_invalid: Callable[[str], DarajaError] = invalid_access_token,
) -> Callable[[], None]:
    """A before_request hook demanding a live Bearer token.

    Products differ in the error: `on_invalid` gets the token presented ("" when none).
    """

    def guard() -> None:
        scheme, token = authorization_header()
        if not scheme:
            raise on_invalid("")
        if scheme != "bearer":
            raise invalid_authentication_header()
        emulator = current_emulator()
        if not emulator.state.token_is_valid(token, emulator.clock()):
            raise on_invalid(token)

    return guard


def lnm_password(shortcode: str, passkey: str, timestamp: str) -> str:
    """base64(BusinessShortCode + Passkey + Timestamp), the STK Password recipe."""
    return base64.b64encode(f"{shortcode}{passkey}{timestamp}".encode()).decode("ascii")


def authenticate_merchant(
    config: EmulatorConfig, shortcode: str, password: Any, timestamp: str
) -> Merchant:
    """The merchant behind `shortcode` if `password` matches its passkey at `timestamp`.

    The request's own Timestamp is trusted: clients build it in UTC or EAT (CLIENTS.md).
    """
    merchant = config.merchant(shortcode)
    if merchant is None:
        raise merchant_validation("Merchant does not exist")
    expected = lnm_password(shortcode, merchant.passkey, timestamp)
    if not isinstance(password, str) or not hmac.compare_digest(
        password.encode(), expected.encode()
    ):
        raise merchant_validation("Wrong credentials")
    return merchant
