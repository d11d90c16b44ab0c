"""The OpenAPI document: its settings, the headers and errors every route documents, and
/api/docs, Swagger UI served from the pinned swagger-ui-bundle package (never a CDN), so the
docs work with no network."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from swagger_ui_bundle import swagger_ui_path

ASSETS = "/api/docs/assets"

# Parameters, headers and error descriptions the house Blueprint adds to every route's docs.
IDEMPOTENCY_PARAMETER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
    "description": (
        "1-255 printable ASCII characters, e.g. your order id. The first response (success or"
        " error) is stored for 24 h and replayed, with `Idempotent-Replayed: true`, to any retry"
        " with the same key and body. Same key, other body: 422. First request still running: 409."
    ),
    "example": "order-42",
}
REQUEST_ID_HEADER = {
    "X-Request-ID": {
        "description": "This request's id (also in every error body): quote it to support.",
        "schema": {"type": "string", "example": "req_4f1c2a9b8e7d6c5b"},
    }
}
REPLAYED_HEADER = {
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored answer to an earlier request with the"
        " same Idempotency-Key (the view did not run again).",
        "schema": {"type": "string", "enum": ["true"]},
    }
}
RETRY_AFTER_HEADER = {  # errors that say when to try again; replays keep retry_after_seconds
    "Retry-After": {"description": "Seconds until it may succeed", "schema": {"type": "integer"}}
}
ERROR_DESCRIPTIONS = {
    400: "Invalid request: `param` names the field or query parameter, `message` how to fix it",
    401: "Missing or invalid API key",
    403: "key_mode_mismatch: test keys use only emulator and sandbox accounts (and test keys),"
    " live keys only production accounts (and live keys)",
    404: "Not found (or owned by another tenant)",
    409: "A request with this Idempotency-Key is still in flight",
    422: "Idempotency-Key reused with a different request",
    424: "M-Pesa refused the request; the failed payment is included",
    429: (
        "Too many requests: this API key's rate limit (too_many_requests), or M-Pesa's"
        " (rate_limited); nothing happened; retry after Retry-After seconds"
    ),
    502: "Outcome unknown (the payment is `unknown` and included), or M-Pesa refused a query",
    415: "The body is not declared JSON: send Content-Type: application/json",
    500: "A fault of ours: quote the request_id to support",
    503: "Never sent: M-Pesa unreachable or its circuit breaker open (`processor_unavailable`,"
    " Retry-After), or credentials rejected (`configuration_error`); any failed payment included",
    504: "M-Pesa did not answer in time: outcome unknown, the payment is `unknown`",
}

DESCRIPTION = """\
Collect money by M-Pesa for your customers, with your own Daraja credentials.

- **Authentication**: `Authorization: Bearer <API key>` (`apg_test_…` or `apg_live_…`).
  HTTP Basic (`curl -u`) is refused.
- **Money** is an integer number of cents: `10000` is KES 100.00. M-Pesa takes whole
  shillings, so amounts are multiples of 100.
- **Idempotency**: send `Idempotency-Key` on POST; a retry with the same key and body gets the
  first answer again, marked `Idempotent-Replayed: true`.
- **Errors** are `{"error": {"type", "code", "message", "param"?, "request_id", …}}`;
  `message` says how to fix it. Every response carries `X-Request-ID`.
- **Outcomes** arrive asynchronously: a created payment is `processing`; fetch it (or
  `?refresh=true`) until it is `completed`, `failed`, `cancelled` or `timeout`. `unknown` and
  `review` mean an operator is involved: never retry those with a new key.
"""


def settings() -> dict[str, Any]:
    """flask-smorest's configuration for the merchant API."""
    return {
        "API_TITLE": "APG — M-Pesa payment gateway",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "/docs",
        "OPENAPI_SWAGGER_UI_URL": f"{ASSETS}/",
        "API_SPEC_OPTIONS": {
            "security": [{"bearerAuth": []}],
            "info": {"description": DESCRIPTION},
            "servers": [{"url": "/", "description": "This gateway"}],
        },
    }


# Only the files the Swagger UI page loads are served from the package's folder.
assets = Blueprint(
    "docs_assets", __name__, static_folder=str(swagger_ui_path), static_url_path=ASSETS
)
