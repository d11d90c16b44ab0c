"""House Api and Blueprint: bearer-key auth and Idempotency-Key handling, documented in OpenAPI."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import flask_smorest
from flask import Response, g, request
from webargs.flaskparser import FlaskParser

from apg.api.schemas import ErrorSchema
from apg.errors import APGError, AuthenticationError, InvalidRequestError, error_response
from apg.idempotency import service as idempotency
from apg.tenants.service import authenticate

IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
ERROR_DESCRIPTIONS = {
    400: "Invalid request",
    401: "Missing or invalid API key",
    404: "Not found (or owned by another tenant)",
    409: "A request with this Idempotency-Key is still in flight",
    422: "Idempotency-Key reused with a different request",
    424: "M-Pesa declined the request; the failed payment is included",
    502: "M-Pesa answered badly",
    503: "M-Pesa unreachable",
    504: "M-Pesa did not answer in time; outcome unknown",
}


class Api(flask_smorest.Api):
    """Errors are rendered by apg.errors for the whole app, so the Api registers none."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        pass


class ArgumentsParser(FlaskParser):
    """Invalid input is a 400 here; 422 means an Idempotency-Key reused with another body."""

    DEFAULT_VALIDATION_STATUS = 400


class Blueprint(flask_smorest.Blueprint):
    """Every route requires `Authorization: Bearer <api key>`; sets g.tenant."""

    ARGUMENTS_PARSER = ArgumentsParser()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.before_request(_authenticate)

    def errors(self, *statuses: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Document the error responses a route can give (always 401)."""

        def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
            for status in sorted({401, *statuses}, reverse=True):
                view = self.alt_response(
                    status, schema=ErrorSchema, description=ERROR_DESCRIPTIONS[status]
                )(view)
            return view

        return decorator

    def idempotent(self, view: Callable[..., Response]) -> Callable[..., Response]:
        """Same key + same request -> the stored response, without running the view again."""
        view = self.doc(
            parameters=[
                {
                    "in": "header",
                    "name": "Idempotency-Key",
                    "required": False,
                    "schema": {"type": "string", "maxLength": 255},
                    "description": "Replays the first response for 24 h; another body: 422.",
                }
            ]
        )(view)

        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            key = request.headers.get("Idempotency-Key")
            if key is None:
                return view(*args, **kwargs)
            return _run_idempotently(key, view, args, kwargs)

        return wrapper


def _run_idempotently(key: str, view: Callable[..., Response], args: Any, kwargs: Any) -> Response:
    if not IDEMPOTENCY_KEY.match(key):
        raise InvalidRequestError(
            "Idempotency-Key must be 1-255 printable ASCII characters.", param="Idempotency-Key"
        )
    tenant_id = g.tenant.id
    fp = idempotency.fingerprint(request.method, request.path, request.get_json(silent=True))
    stored = idempotency.claim(tenant_id, key, fp)
    if stored is not None:
        replay = Response(stored.body, status=stored.status, mimetype="application/json")
        replay.headers["Idempotent-Replayed"] = "true"
        return replay
    try:
        response = view(*args, **kwargs)
    except InvalidRequestError:
        # Refused before it had any effect: nothing to replay, the key stays usable.
        idempotency.release(tenant_id, key)
        raise
    except APGError as exc:  # it had an effect (e.g. a failed payment): replay this answer
        body, status = error_response(exc)
        idempotency.complete(tenant_id, key, status, body.get_data(as_text=True))
        raise
    except BaseException:
        idempotency.release(tenant_id, key)
        raise
    idempotency.complete(tenant_id, key, response.status_code, response.get_data(as_text=True))
    return response


def _authenticate() -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, api_key = header.partition(" ")
    if scheme.lower() != "bearer" or not api_key.strip():
        raise AuthenticationError()
    tenant = authenticate(api_key.strip())
    if tenant is None:
        raise AuthenticationError("Invalid API key.")
    g.tenant = tenant
