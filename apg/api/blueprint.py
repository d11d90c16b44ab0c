"""House Api and Blueprint: bearer-key auth and Idempotency-Key handling, documented in OpenAPI."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import flask_smorest
import marshmallow as ma
from flask import Request, Response, current_app, g, request
from webargs.flaskparser import FlaskParser, is_json_request

from apg.api.auth import authenticate_request, refuse_key_mode
from apg.api.docs import (
    ERROR_DESCRIPTIONS,
    IDEMPOTENCY_PARAMETER,
    REPLAYED_HEADER,
    REQUEST_ID_HEADER,
    RETRY_AFTER_HEADER,
)
from apg.api.error_schemas import ErrorSchema
from apg.errors import (
    APGError,
    InvalidRequestError,
    KeyModeMismatchError,
    UnsupportedMediaTypeError,
    error_response,
)
from apg.idempotency import service as idempotency
from apg.services import services

IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
# (tenant_id, key, claimed since) -> (JSON body, status) of what a request that died with
# that key left behind, or None.
Recover = Callable[[str, str, datetime], tuple[str, int] | None]


class Api(flask_smorest.Api):
    """Errors are rendered by apg.errors for the whole app, so the Api registers none; each
    route documents its own errors, so no catch-all `default` response and no page-based
    pagination header (our lists use cursors) are left in the document."""

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self) -> None:
        pass

    def _register_pagination_header(self) -> None:
        pass


class ArgumentsParser(FlaskParser):
    """Invalid input is a 400 here; 422 means an Idempotency-Key reused with another body."""

    DEFAULT_VALIDATION_STATUS = 400

    def load_json(self, req: Request, schema: ma.Schema) -> Any:
        """The body as a JSON object, or an error that names application/json and what was
        wrong: webargs alone reads a non-JSON body as "no fields", so it blamed sent fields."""
        if not is_json_request(req):
            raise UnsupportedMediaTypeError(got=(req.mimetype or "none")[:100])
        raw = req.get_data(cache=True)
        if not raw.strip():
            raise InvalidRequestError(
                "The request body is empty: send a JSON object with"
                " Content-Type: application/json.",
                code="empty_body",
            )
        try:
            body = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise _invalid_json(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
        except UnicodeDecodeError:
            raise _invalid_json("it is not UTF-8") from None
        except RecursionError:
            raise _invalid_json("it nests too deeply") from None
        if _has_nul(body):
            raise _nul_error("the JSON body")
        if not isinstance(body, dict):
            raise InvalidRequestError(
                f"The request body must be a JSON object ({{...}}), not a JSON"
                f" {type(body).__name__}; Content-Type: application/json.",
                code="invalid_json",
            )
        return body


def _invalid_json(why: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"The request body is not valid JSON ({why}); send a JSON object with"
        " Content-Type: application/json.",
        code="invalid_json",
    )


class Blueprint(flask_smorest.Blueprint):
    """Every route requires `Authorization: Bearer <api key>` (api/auth.py), rejects query
    parameters it does not know, and is documented with an operationId and X-Request-ID."""

    ARGUMENTS_PARSER = ArgumentsParser()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.before_request(authenticate_request)
        self.before_request(_reject_unknown_query_parameters)
        self.before_request(_reject_nul_in_the_url)
        self.register_error_handler(KeyModeMismatchError, refuse_key_mode)  # a security event

    def route(self, rule: str, **options: Any) -> Callable[[Callable[..., Any]], Any]:
        """As flask-smorest's, plus operationId = the view's name (generated clients use it)."""
        register = super().route(rule, **options)

        def decorator(view: Callable[..., Any]) -> Any:
            return register(self.doc(operationId=view.__name__)(view))

        return decorator

    def response(self, status_code: int, schema: Any = None, **kwargs: Any) -> Any:
        headers = {**REQUEST_ID_HEADER, **kwargs.pop("headers", {})}
        return super().response(status_code, schema, headers=headers, **kwargs)

    def alt_response(self, status_code: int, **kwargs: Any) -> Any:
        headers = {**REQUEST_ID_HEADER, **kwargs.pop("headers", {})}
        return super().alt_response(status_code, headers=headers, **kwargs)

    def errors(self, *statuses: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Document the error responses a route can give (always 400, 401, 429 (the API key's
        rate limit) and 500)."""

        def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
            for status in sorted({400, 401, 429, 500, *statuses}, reverse=True):
                view = self.alt_response(
                    status,
                    schema=ErrorSchema,
                    description=ERROR_DESCRIPTIONS[status],
                    headers=RETRY_AFTER_HEADER if status in (424, 429, 503) else {},
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
            _document_replay_header(view)

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
    body = request.get_json(silent=True)
    fp = idempotency.fingerprint(request.method, request.path, body, g.key_mode)
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


def _document_replay_header(view: Callable[..., Any]) -> None:
    """Every documented response of an idempotent route may be a replay."""
    responses = view._apidoc.get("response", {}).get("responses", {})  # type: ignore[attr-defined]
    for documented in responses.values():
        for response in documented:
            response["headers"] = {**(response.get("headers") or {}), **REPLAYED_HEADER}


def _reject_nul_in_the_url() -> None:
    """No id, filter or field holds a NUL (and PostgreSQL text cannot): refused up front."""
    if "\x00" in request.path:
        raise _nul_error("the URL path")
    for name, value in request.args.items(multi=True):
        if "\x00" in name or "\x00" in value:
            raise _nul_error(f"query parameter {name[:40]!r}")


def _has_nul(body: Any) -> bool:
    """Whether any string in a parsed JSON body (keys included) holds a NUL; iterative, so
    however deep the body nests."""
    pending = [body]
    while pending:
        value = pending.pop()
        if isinstance(value, str) and "\x00" in value:
            return True
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False


def _nul_error(where: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"{where[0].upper()}{where[1:]} contains a NUL character (\\u0000), which no field"
        " accepts.",
        code="invalid_characters",
    )


def _reject_unknown_query_parameters() -> None:
    """Like unknown body fields: a misspelt filter must not silently widen a list."""
    known = _query_parameter_names(current_app.view_functions.get(request.endpoint or ""))
    for name in request.args:
        if name not in known:
            accepts = ", ".join(sorted(known)) or "no query parameters"
            raise InvalidRequestError(
                f"Unknown query parameter {name[:40]!r}; this endpoint accepts: {accepts}.",
                param=name[:40],
            )


@functools.cache
def _query_parameter_names(view: Callable[..., Any] | None) -> frozenset[str]:
    """The names a view's query-string schemas declare (flask-smorest keeps them in _apidoc)."""
    arguments = getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", [])
    names: set[str] = set()
    for argument in arguments:
        if argument["in"] in ("query", "querystring"):
            schema = argument["schema"]
            schema = schema() if isinstance(schema, type) else schema
            names.update(f.data_key or name for name, f in schema.fields.items())
    return frozenset(names)


def _replay(body: str, status: int) -> Response:
    replay = Response(body, status=status, mimetype="application/json")
    replay.headers["Idempotent-Replayed"] = "true"
    return replay
