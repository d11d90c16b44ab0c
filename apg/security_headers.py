"""Security headers on every response, set in one place: strict for the JSON API, looser for
the Swagger UI page (/api/docs) so its local scripts and styles run."""

from __future__ import annotations

from flask import Flask, Response, request

from apg.api.docs import ASSETS

DOCS_PAGE = "/api/docs"
HSTS = "max-age=31536000; includeSubDomains"

COMMON = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
# JSON is never rendered as a document: nothing may load, nobody may frame it.
API_CSP = "default-src 'none'; frame-ancestors 'none'"
# Swagger UI's page runs an inline initialiser and inline styles, loads only our own assets
# (icons as data: URLs) and fetches the OpenAPI document from this origin.
DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
)


def init_app(app: Flask, *, production: bool) -> None:
    """Register the headers; `production` also sends HSTS on plain-http requests (behind TLS
    termination) and keeps debug off whatever FLASK_DEBUG says."""
    if production:
        app.debug = False  # the debugger and propagated tracebacks are never for production

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        response.headers.update(headers_for(request.path, secure=request.is_secure or production))
        return response


def headers_for(path: str, *, secure: bool) -> dict[str, str]:
    """The security headers a response to `path` carries."""
    headers = dict(COMMON)
    if secure:
        headers["Strict-Transport-Security"] = HSTS
    if path.startswith(ASSETS):  # static Swagger UI files: cacheable, not documents
        return headers
    headers["Content-Security-Policy"] = DOCS_CSP if path == DOCS_PAGE else API_CSP
    headers["Cache-Control"] = "no-store"
    return headers
