"""One exception tree and the one place that turns exceptions into the JSON error shape."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, g, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

# How domain objects carried in an error (e.g. the failed payment) become JSON.
_SERIALIZERS: dict[type, Callable[[Any], Any]] = {}


def register_serializer(cls: type, serialize: Callable[[Any], Any]) -> None:
    _SERIALIZERS[cls] = serialize


class APGError(Exception):
    """Root of every error a client may see. Subclasses set status, type and code.

    `headers` go on every response of the class; `retry_after` (seconds) says when the same
    request may succeed: the `Retry-After` header, and `retry_after_seconds` in the body (which
    an idempotent replay keeps).
    """

    status = 500
    type = "api_error"
    code = "internal_error"
    message = "An unexpected error occurred."
    headers: dict[str, str] = {}

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        param: str | None = None,
        status: int | None = None,
        retry_after: int | None = None,
        **extra: Any,
    ) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.status = status or self.status
        self.param = param
        self.retry_after = retry_after
        if retry_after is not None:
            extra["retry_after_seconds"] = retry_after
        self.extra = {k: v for k, v in extra.items() if v is not None}
        super().__init__(self.message)

    def response_headers(self) -> dict[str, str]:
        if self.retry_after is None:
            return dict(self.headers)
        return {**self.headers, "Retry-After": str(self.retry_after)}

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "code": self.code, "message": self.message}
        if self.param:
            body["param"] = self.param
        for key, value in self.extra.items():
            serialize = _SERIALIZERS.get(type(value))
            body[key] = serialize(value) if serialize else value
        body["request_id"] = getattr(g, "request_id", None)
        return {"error": body}


class InvalidRequestError(APGError):
    status, type, code = 400, "invalid_request_error", "invalid_request"


class UnsupportedMediaTypeError(InvalidRequestError):
    status, code = 415, "unsupported_media_type"
    message = "Send the request body as a JSON object with Content-Type: application/json."


class KeyModeMismatchError(InvalidRequestError):
    """A test key on a live thing (a production account, a live key) or the reverse: 403,
    refused before it had any effect (so an Idempotency-Key stays free)."""

    status, code = 403, "key_mode_mismatch"


class AuthenticationError(APGError):
    status, type, code = 401, "authentication_error", "invalid_api_key"
    message = "A valid API key is required: Authorization: Bearer <key>."
    headers = {"WWW-Authenticate": 'Bearer realm="apg"'}  # RFC 6750: the scheme to use


class OpsAuthenticationError(AuthenticationError):
    """The ops endpoints take the operator's token (APG_OPS_TOKEN), never a merchant key."""

    code = "invalid_ops_token"
    message = "A valid ops token is required: Authorization: Bearer <APG_OPS_TOKEN>."
    headers = {"WWW-Authenticate": 'Bearer realm="apg-ops"'}


class NotFoundError(APGError):
    status, type, code = 404, "invalid_request_error", "resource_missing"
    message = "No such resource."


class IdempotencyError(APGError):
    type = "idempotency_error"


class UpstreamError(APGError):
    """Daraja answered badly or not at all. Carries daraja_code/daraja_message when known."""

    status, type, code = 502, "upstream_error", "upstream_bad_response"
    message = "M-Pesa returned an unexpected response."


class UpstreamRejectedError(UpstreamError):
    """Daraja answered with its error envelope (requestId, errorCode, errorMessage)."""

    code = "daraja_rejected"
    message = "M-Pesa rejected the request."


class UpstreamUnavailableError(UpstreamError):
    status, code = 503, "upstream_unavailable"
    message = "M-Pesa could not be reached."


class ProcessorUnavailableError(UpstreamError):
    """M-Pesa kept failing, so its circuit breaker is open: nothing was sent (503)."""

    status, code = 503, "processor_unavailable"
    message = "M-Pesa is failing for this account; nothing was sent."


class RateLimitedError(UpstreamError):
    """M-Pesa's rate limit refused the request (throttling): nothing happened (429)."""

    status, code = 429, "rate_limited"
    message = "M-Pesa is limiting this account's requests; nothing was sent to the customer."


class UpstreamTimeoutError(UpstreamError):
    status, code = 504, "upstream_timeout"
    message = "M-Pesa did not answer in time; the outcome is not known yet."


class OutcomeUnknownError(APGError):
    """The request may have reached M-Pesa and we do not know what happened (never `failed`)."""

    status, type, code = 502, "upstream_error", "outcome_unknown"
    message = (
        "M-Pesa may have received this request but its outcome is not known yet; the payment"
        " is `unknown`. Do not retry with a new Idempotency-Key: fetch the payment later."
    )


class PaymentFailedError(APGError):
    """The payment was recorded but M-Pesa refused it synchronously (424)."""

    status, type, code = 424, "payment_error", "payment_failed"
    message = "M-Pesa declined the payment request."


class ConfigurationError(APGError):
    """The upstream rejected the tenant's own credentials (consumer key/secret, passkey,
    shortcode): the gateway's configuration is wrong, not the customer's answer. `setting`
    names what to check; the payment, if one was recorded, failed without reaching anyone."""

    status, type, code = 503, "configuration_error", "credentials_rejected"
    message = "M-Pesa rejected this account's credentials."


def init_app(app: Flask) -> None:
    app.register_error_handler(APGError, handle_apg_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)


def error_response(error: APGError) -> tuple[Any, int]:
    response = jsonify(error.to_dict())
    response.headers.update(error.response_headers())
    return response, error.status


def handle_apg_error(error: APGError) -> tuple[Any, int]:
    return error_response(error)


def handle_http_exception(exc: HTTPException) -> tuple[Any, int]:
    """Werkzeug/webargs errors; webargs validation failures become 400 with the field named."""
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages")
    if exc.code in (400, 422) and messages:
        param, message = _first_validation_message(messages)
        return error_response(InvalidRequestError(message, param=param, errors=messages))
    code = (exc.name or "error").lower().replace(" ", "_")
    kind = "invalid_request_error" if (exc.code or 500) < 500 else "api_error"
    error = APGError(exc.description, code=code, status=exc.code or 500)
    error.type = kind
    return error_response(error)


def handle_unexpected(exc: Exception) -> tuple[Any, int]:
    log.exception("unhandled error (request_id=%s)", getattr(g, "request_id", None))
    return error_response(APGError())


def _first_validation_message(messages: dict[str, Any]) -> tuple[str | None, str]:
    """webargs nests by location: {"json": {"amount": ["..."]}} -> ("amount", "amount: ...")."""
    node: Any = messages
    path: list[str] = []
    while isinstance(node, dict) and node:
        key = next(iter(node))
        if key not in {"json", "query", "headers", "form", "view_args", "_schema"}:
            path.append(str(key))
        node = node[key]
    text = node[0] if isinstance(node, list) and node else str(node)
    param = ".".join(path) or None
    return param, f"{param}: {text}" if param else str(text)
