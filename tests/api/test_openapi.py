"""The OpenAPI document is true: valid, complete, constrained like the API, checkable against
real responses, and its docs page loads with no network."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from tests.support.openapi import DocumentCheck, ResponseBreaksTheDocument

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def spec(client: FlaskClient) -> dict[str, Any]:
    return client.get("/api/openapi.json").json


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_the_document_is_valid_openapi_3(spec: dict[str, Any]) -> None:
    validate(spec)
    assert spec["openapi"].startswith("3.0")


def test_every_operation_has_a_unique_operation_id_and_a_summary(spec: dict[str, Any]) -> None:
    ids = [op.get("operationId") for _, _, op in operations(spec)]
    assert all(ids) and len(ids) == len(set(ids))
    assert {"create_payment", "list_payments", "get_payment", "list_payment_events"} <= set(ids)
    assert all(op.get("summary") for _, _, op in operations(spec))


def test_every_response_documents_x_request_id_and_401(spec: dict[str, Any]) -> None:
    for path, method, operation in operations(spec):
        assert "401" in operation["responses"], (method, path)
        assert "default" not in operation["responses"]
        for status, response in operation["responses"].items():
            assert "X-Request-ID" in response.get("headers", {}), (method, path, status)


def test_idempotency_headers_and_security_are_documented(spec: dict[str, Any]) -> None:
    post = spec["paths"]["/api/v1/payments"]["post"]
    [key] = [p for p in post["parameters"] if p["name"] == "Idempotency-Key"]
    assert (key["in"], key["schema"]["maxLength"]) == ("header", 255)
    for status in ("200", "201", "409", "422", "424"):
        assert "Idempotent-Replayed" in post["responses"][status]["headers"]
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    assert spec["security"] == [{"bearerAuth": []}]


def test_constraints_say_what_the_api_enforces(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    create = schemas["PaymentCreate"]["properties"]
    assert (create["amount"]["minimum"], create["amount"]["multipleOf"]) == (100, 100)
    assert create["metadata"]["maxProperties"] == 20 and "maxLength" not in create["metadata"]
    listing = {
        p["name"]: p["schema"] for p in spec["paths"]["/api/v1/payments"]["get"]["parameters"]
    }
    assert listing["reference"]["maxLength"] == create["reference"]["maxLength"] == 12
    assert (listing["limit"]["minimum"], listing["limit"]["maximum"]) == (1, 100)


def test_no_leftovers_from_flask_smorest_defaults(spec: dict[str, Any]) -> None:
    text = json.dumps(spec)
    assert "PaginationMetadata" not in text and "DEFAULT_ERROR" not in text
    assert "#/components/responses/" not in text  # every route documents its own errors


def test_the_error_schema_declares_every_field_the_api_sends(spec: dict[str, Any]) -> None:
    body = spec["components"]["schemas"]["ErrorBody"]
    assert body["additionalProperties"] is False
    sent = {"type", "code", "message", "param", "errors", "request_id", "payment", "got"}
    sent |= {"daraja_code", "daraja_message", "setting", "account_id", "retry_after_seconds"}
    assert sent <= set(body["properties"])
    assert set(body["required"]) == {"type", "code", "message", "request_id"}


def test_examples_are_documented(spec: dict[str, Any]) -> None:
    create = spec["components"]["schemas"]["PaymentCreate"]["properties"]
    assert all("example" in create[f] for f in ("amount", "phone_number", "reference"))


def test_the_check_catches_a_response_that_breaks_the_document(
    app: Flask, spec: dict[str, Any]
) -> None:
    """The suite-wide check (tests/support/openapi.py) would not pass on a stub."""
    check = DocumentCheck(spec)
    good = {"error": {"type": "authentication_error", "code": "x", "message": "m"}}
    good["error"]["request_id"] = "req_1"
    headers = {"Content-Type": "application/json", "X-Request-ID": "req_1"}
    check.check("GET", "/api/v1/payments", 401, headers, json.dumps(good).encode())
    for broken in (
        {"error": {**good["error"], "surprise": 1}},  # undeclared field
        {"error": {"type": "x", "code": "x", "message": "m"}},  # request_id missing
        {"object": "list", "has_more": "no", "data": []},  # wrong type, on a 200
    ):
        status = 200 if "object" in broken else 401
        with pytest.raises(ResponseBreaksTheDocument):
            check.check("GET", "/api/v1/payments", status, headers, json.dumps(broken).encode())
    with pytest.raises(ResponseBreaksTheDocument):  # an undocumented status
        check.check("GET", "/api/v1/payments", 418, headers, json.dumps(good).encode())


def test_the_docs_page_loads_only_local_assets(client: FlaskClient) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(urls) >= 3
    assert not re.search(r"https?://", html), "a remote URL: the docs would need a network"
    for url in urls:
        with client.get(url) as asset:  # a file response: close it
            assert asset.status_code == 200 and len(asset.data) > 1000, url
    assert "/api/openapi.json" in html
