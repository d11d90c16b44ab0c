"""Daraja's gateway error envelope (API.md §13) and the one place errors become responses."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

log = logging.getLogger(__name__)


class DarajaError(Exception):
    """A synchronous Daraja error: HTTP status, errorCode and errorMessage.

    `request_id` overrides the generated requestId (STK Query echoes the CheckoutRequestID).
    """

    def __init__(self, status: int, code: str, message: str, *, request_id: str | None = None):
        super().__init__(f"{code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id


class BareStatusError(Exception):
    """An error Daraja answers with only a status line and an empty body (OAuth credentials)."""

    def __init__(self, status_line: str):
        super().__init__(status_line)
        self.status_line = status_line


def invalid_field(name: str) -> DarajaError:
    return DarajaError(400, "400.002.02", f"Bad Request - Invalid {name}")


def invalid_payload() -> DarajaError:
    return DarajaError(400, "400.002.05", "Invalid Request Payload")


def invalid_access_token(token: str = "") -> DarajaError:
    """STK, Reversal, B2B and most products (API.md §13, §17)."""
    return DarajaError(404, "404.001.03", "Invalid Access Token")


def invalid_access_token_401(token: str) -> DarajaError:
    """B2C and Account Balance: the message ends with the token presented (API.md §13)."""
    return DarajaError(401, "401.002.01", f"Error Occurred - Invalid Access Token - {token}")


def invalid_access_token_400(token: str = "") -> DarajaError:
    """C2B and Transaction Status (API.md §13, §18.6)."""
    return DarajaError(400, "400.003.01", "Invalid Access Token")


def duplicate_originator_conversation_id() -> DarajaError:
    """B2C v3: an OriginatorConversationID seen before (samples/b2c_error_500_duplicate_*)."""
    return DarajaError(500, "500.002.1001", "Duplicate OriginatorConversationID.")


def invalid_authentication_header() -> DarajaError:
    return DarajaError(404, "404.001.04", "Invalid Authentication Header")


def merchant_validation(message: str, *, request_id: str | None = None) -> DarajaError:
    """500.001.1001: wrong credentials, unknown merchant, subscriber locked, still processing."""
    return DarajaError(500, "500.001.1001", message, request_id=request_id)


def envelope(request_id: str, code: str, message: str) -> dict[str, str]:
    return {"requestId": request_id, "errorCode": code, "errorMessage": message}


def register_error_handlers(app: Flask, new_request_id: Callable[[], str]) -> None:
    """Answer every error, including routing errors and crashes, in Daraja's envelope."""

    def respond(error: DarajaError) -> tuple[Response, int]:
        body = envelope(error.request_id or new_request_id(), error.code, error.message)
        return jsonify(body), error.status

    def on_bare_status(error: BareStatusError) -> Response:
        response = Response(b"", status=error.status_line)
        del response.headers["Content-Type"]
        return response

    def on_http_error(error: HTTPException) -> tuple[Response, int]:
        if isinstance(error, NotFound):
            return respond(DarajaError(404, "404.001.01", "Resource not found"))
        if isinstance(error, MethodNotAllowed):
            return respond(DarajaError(405, "405.001", f"{request.method} Method Not Allowed"))
        status = error.code or 500
        return respond(DarajaError(status, f"{status}.000", error.name))

    def on_crash(error: Exception) -> tuple[Response, int]:
        log.exception("emulator crashed on %s %s", request.method, request.path)
        return respond(DarajaError(500, "500.003.1001", "Internal Server Error"))

    app.register_error_handler(DarajaError, respond)
    app.register_error_handler(BareStatusError, on_bare_status)
    app.register_error_handler(HTTPException, on_http_error)
    app.register_error_handler(Exception, on_crash)
