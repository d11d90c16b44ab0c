"""The OpenAPI document's settings and /api/docs: Swagger UI served from the pinned
swagger-ui-bundle package, never a CDN, so the docs work with no network."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from swagger_ui_bundle import swagger_ui_path

ASSETS = "/api/docs/assets"

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
