"""Every merchant-API response a test sees is checked against /api/openapi.json (openapi-core):
through the Flask test client (`app.test_client_class`) and through `requests` (a session hook).
A response that breaks the document fails the test that made it."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import Flask
from flask.testing import FlaskClient
from openapi_core import OpenAPI
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from openapi_core.testing import MockRequest, MockResponse
from werkzeug.test import TestResponse

API_PREFIX = "/api/v1/"
# (method, path template, status) -> how many real responses were checked; reported at the end.
CHECKED: Counter[tuple[str, str, int]] = Counter()


class ResponseBreaksTheDocument(AssertionError):
    pass


class DocumentCheck:
    """One app's document; checks a response (status, headers, JSON body) against it."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.api = OpenAPI.from_dict(spec)

    def check(self, method: str, path: str, status: int, headers: Any, body: bytes) -> None:
        if not path.startswith(API_PREFIX):
            return
        request = MockRequest("http://localhost", method.lower(), path)
        content_type = headers.get("Content-Type", "").split(";")[0]
        response = MockResponse(body, status, dict(headers), content_type)
        try:
            self.api.validate_response(request, response)
        except (PathNotFound, OperationNotFound):
            if status in (404, 405):  # an undocumented path or method, answered as one
                return
            raise
        except Exception as exc:  # openapi-core's errors nest the field-level cause
            cause = exc.__cause__
            detail = getattr(cause, "schema_errors", None) or cause or exc
            raise ResponseBreaksTheDocument(
                f"{method} {path} -> {status} breaks the OpenAPI document: {detail}"
            ) from exc
        CHECKED[(method, _template(path), status)] += 1


class CheckedClient(FlaskClient):
    """The Flask test client, checking each API response against the app's own document."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        response = super().open(*args, **kwargs)
        request = response.request
        document_of(self.application).check(
            request.method, request.path, response.status_code, response.headers, response.data
        )
        return response


def document_of(app: Flask) -> DocumentCheck:
    check = app.extensions.get("apg_test_openapi")
    if check is None:
        spec = FlaskClient(app).get("/api/openapi.json").get_json()
        check = app.extensions["apg_test_openapi"] = DocumentCheck(spec)
    return check


_by_base_url: dict[str, DocumentCheck] = {}
_lock = threading.Lock()


def check_requests_response(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """A `requests` response hook for sessions that talk to a live gateway."""
    url = urlsplit(response.url)
    if not url.path.startswith(API_PREFIX):
        return
    base = f"{url.scheme}://{url.netloc}"
    with _lock:
        if base not in _by_base_url:
            spec = requests.get(f"{base}/api/openapi.json", timeout=10).json()
            _by_base_url[base] = DocumentCheck(spec)
    _by_base_url[base].check(
        response.request.method or "GET",
        url.path,
        response.status_code,
        response.headers,
        response.content,
    )


def _template(path: str) -> str:
    """/api/v1/payments/pay_123/events -> /api/v1/payments/{id}/events, for the summary."""
    parts = path.split("/")
    return "/".join("{id}" if "_" in part and part[:3].isalpha() else part for part in parts)
