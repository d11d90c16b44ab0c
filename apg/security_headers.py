"""Security headers on every response, set in one place: strict for the JSON API, a strict page
CSP for our own HTML pages (the hosted checkout, the ops console: own files only, no inline
script or style), looser for the Swagger UI page (/api/docs) so its inline initialiser runs."""

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
# Our server-rendered pages (/checkout/…, /ops/…): scripts, styles and images from this origin
# only (images also as data: URLs), fetches to this origin, forms posted to this origin.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PAGES = ("/checkout/", "/ops/")
# Static files: cacheable, not documents (each page package serves its own under `assets`).
STATIC = (ASSETS, "/checkout/assets/", "/ops/assets/")
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
        secure = request.is_secure or production
        html = response.mimetype == "text/html"
        response.headers.update(headers_for(request.path, secure=secure, html=html))
        return response


def headers_for(path: str, *, secure: bool, html: bool = False) -> dict[str, str]:
    """The security headers a response to `path` carries (`html`: it is an HTML document)."""
    headers = dict(COMMON)
    if secure:
        headers["Strict-Transport-Security"] = HSTS
    if path.startswith(STATIC):
        return headers
    if path == DOCS_PAGE:
        headers["Content-Security-Policy"] = DOCS_CSP
    elif html and path.startswith(PAGES):
        headers["Content-Security-Policy"] = PAGE_CSP
    else:
        headers["Content-Security-Policy"] = API_CSP
    headers["Cache-Control"] = "no-store"
    return headers
