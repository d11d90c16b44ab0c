"""House Api and Blueprint: bearer-key auth and Idempotency-Key handling, documented in OpenAPI."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import flask_smorest
from flask import Response, g, request
from webargs.flaskparser import FlaskParser

from apg.api.schemas import ErrorSchema
from apg.errors import APGError, AuthenticationError, InvalidRequestError, error_response
from apg.idempotency import service as idempotency
from apg.services import services
from apg.tenants.service import authenticate

IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
IDEMPOTENCY_PARAMETER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "maxLength": 255},
    "description": "Replays the first response for 24 h; another body: 422; in flight: 409.",
}
# (tenant_id, key, claimed since) -> (JSON body, status) of what a request that died with
# that key left behind, or None.
Recover = Callable[[str, str, datetime], tuple[str, int] | None]
ERROR_DESCRIPTIONS = {
    400: "Invalid request",
    401: "Missing or invalid API key",
    404: "Not found (or owned by another tenant)",
    409: "A request with this Idempotency-Key is still in flight",
    422: "Idempotency-Key reused with a different request",
    424: "M-Pesa refused the request; the failed payment is included",
    502: "Outcome unknown (the payment is `unknown` and included), or M-Pesa refused a query",
    503: "Never sent: M-Pesa unreachable or no OAuth token; the failed payment is included",
    504: "M-Pesa did not answer in time: outcome unknown, the payment is `unknown`",
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

    def idempotent(
        self, recover: Recover
    ) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
        """Same key + same request -> the stored response, without running the view again.

        `recover(tenant_id, key, since)` answers for a key whose request died after it had an effect
        (the resource it created), or None when it left nothing behind.
        """

        def decorator(view: Callable[..., Response]) -> Callable[..., Response]:
            view = self.doc(parameters=[IDEMPOTENCY_PARAMETER])(view)

            @functools.wraps(view)
            def wrapper(*args: Any, **kwargs: Any) -> Response:
                key = request.headers.get("Idempotency-Key")
                if key is None:
                    return view(*args, **kwargs)
                return _run_idempotently(key, recover, view, args, kwargs)

            return wrapper

        return decorator


def _run_idempotently(
    key: str, recover: Recover, view: Callable[..., Response], args: Any, kwargs: Any
) -> Response:
    if not IDEMPOTENCY_KEY.match(key):
        raise InvalidRequestError(
            "Idempotency-Key must be 1-255 printable ASCII characters.", param="Idempotency-Key"
        )
    tenant_id, svc = g.tenant.id, services()
    policy = idempotency.Policy(
        ttl=timedelta(hours=svc.settings.payments.idempotency_ttl_hours),
        lease=timedelta(seconds=svc.settings.payments.idempotency_lease_seconds),
    )
    fp = idempotency.fingerprint(request.method, request.path, request.get_json(silent=True))
    started = svc.clock.now()
    claimed = idempotency.claim(tenant_id, key, fp, policy, started)
    if isinstance(claimed, idempotency.StoredResponse):
        g.request_id = claimed.request_id or g.request_id  # the replay is the first answer
        return _replay(claimed.body, claimed.status)
    since = claimed.claimed_at if claimed else started
    if isinstance(claimed, idempotency.TakenOver) and (found := recover(tenant_id, key, since)):
        body, status = found
        idempotency.complete(tenant_id, key, status, body, g.request_id)
        return _replay(body, status)
    g.idempotency_key = key
    try:
        response = view(*args, **kwargs)
    except InvalidRequestError:
        # Refused before it had any effect: nothing to replay, the key stays usable.
        idempotency.release(tenant_id, key)
        raise
    except APGError as exc:  # it had an effect (e.g. a failed payment): replay this answer
        body_json, status = error_response(exc)
        idempotency.complete(tenant_id, key, status, body_json.get_data(as_text=True), g.request_id)
        raise
    except BaseException:
        # Unexpected: if the request left something behind, the key stays bound to it and
        # the next retry resolves to it; otherwise nothing happened and the key is released.
        if recover(tenant_id, key, since) is None:
            idempotency.release(tenant_id, key)
        else:
            idempotency.end_lease(tenant_id, key, svc.clock.now())
        raise
    idempotency.complete(
        tenant_id, key, response.status_code, response.get_data(as_text=True), g.request_id
    )
    return response


def _replay(body: str, status: int) -> Response:
    replay = Response(body, status=status, mimetype="application/json")
    replay.headers["Idempotent-Replayed"] = "true"
    return replay


def _authenticate() -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, api_key = header.partition(" ")
    if scheme.lower() != "bearer" or not api_key.strip():
        raise AuthenticationError()
    tenant = authenticate(api_key.strip())
    if tenant is None:
        raise AuthenticationError("Invalid API key.")
    g.tenant = tenant
