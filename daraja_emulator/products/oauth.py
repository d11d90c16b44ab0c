"""OAuth: GET /oauth/v1/generate mints 28-character client-credentials tokens (API.md §1)."""

from __future__ import annotations

import base64
import binascii
import hmac

from flask import Blueprint, request

from daraja_emulator.auth import authorization_header
from daraja_emulator.errors import BareStatusError, DarajaError
from daraja_emulator.runtime import Emulator, current_emulator

blueprint = Blueprint("oauth", __name__)

INVALID_CREDENTIALS = "400 Bad Request: Invalid Credentials"


@blueprint.get("/oauth/v1/generate")
def generate_token() -> dict[str, str]:
    emulator = current_emulator()
    scheme, credentials = authorization_header()
    if scheme != "basic":
        raise DarajaError(400, "400.008.01", "Invalid authentication type passed")
    if request.args.get("grant_type") != "client_credentials":
        raise DarajaError(400, "400.008.02", "Invalid grant type passed")
    if not _credentials_match(emulator, credentials):
        raise BareStatusError(INVALID_CREDENTIALS)
    return issue_token(emulator)


def issue_token(emulator: Emulator) -> dict[str, str]:
    """Mint a token valid for token_ttl_seconds; `expires_in` is a string, as on the wire."""
    config = emulator.config
    token = emulator.ids.access_token()
    now = emulator.clock()
    emulator.state.add_token(
        token,
        now + config.token_ttl_seconds,
        revoke_others=config.revoke_previous_tokens,
        now=now,
    )
    emulator.state.count("oauth_tokens_issued")
    return {"access_token": token, "expires_in": str(config.token_ttl_seconds)}


def _credentials_match(emulator: Emulator, credentials: str) -> bool:
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    key, colon, secret = decoded.partition(":")
    expected = f"{emulator.config.consumer_key}:{emulator.config.consumer_secret}"
    return bool(colon) and hmac.compare_digest(f"{key}:{secret}".encode(), expected.encode())
