"""Daraja traffic in the log, only when monitoring.log_daraja_traffic says so: each request's
JSON body and each answer, with every credential replaced and phone numbers masked."""

from __future__ import annotations

import json
import logging
from typing import Any

import requests

from apg.logs import REDACTED, mask_private

log = logging.getLogger("apg.daraja.traffic")

# Fields that carry a credential in Daraja's bodies (API.md): the STK Password (passkey
# derived), the encrypted initiator password, OAuth tokens.
SECRET_FIELDS = frozenset({"password", "securitycredential", "access_token", "passkey"})
MAX_LOGGED = 2000  # characters of a body


def redact(value: Any) -> Any:
    """A JSON value with every credential field's value replaced, at any depth."""
    if isinstance(value, dict):
        return {
            key: REDACTED if str(key).lower() in SECRET_FIELDS else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def log_request(method: str, path: str, body: Any) -> None:
    log.info("daraja %s %s sends %s", method, path, _text(body))


def log_answer(method: str, path: str, response: requests.Response) -> None:
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    log.info("daraja %s %s answers %s: %s", method, path, response.status_code, _text(body))


def _text(body: Any) -> str:
    shown = json.dumps(redact(body), ensure_ascii=False) if not isinstance(body, str) else body
    return mask_private(shown[:MAX_LOGGED])
