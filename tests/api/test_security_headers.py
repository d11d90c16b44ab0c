"""Every response carries the security headers; JSON gets a locked-down CSP, the docs page a
CSP its local Swagger UI runs under; production never runs with debug on."""

from __future__ import annotations

import re

import pytest
from cryptography.fernet import Fernet
from flask.testing import FlaskClient
from werkzeug.datastructures import Headers

from apg import create_app

COMMON = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
API_CSP = "default-src 'none'; frame-ancestors 'none'"


def assert_api_headers(headers: Headers) -> None:
    for name, value in COMMON.items():
        assert headers.get(name) == value, name
    assert headers.get("Content-Security-Policy") == API_CSP
    assert headers.get("Cache-Control") == "no-store"


def test_a_json_api_response_carries_them(client: FlaskClient, api_headers: dict[str, str]) -> None:
    response = client.get("/api/v1/payments", headers=api_headers)
    assert response.status_code == 200
    assert_api_headers(response.headers)


@pytest.mark.parametrize("path", ["/api/v1/payments", "/no-such-page"])
def test_an_error_response_carries_them(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code in (401, 404)
    assert_api_headers(response.headers)


def test_health_carries_them(client: FlaskClient) -> None:
    assert_api_headers(client.get("/health").headers)


def test_hsts_only_over_https_outside_production(client: FlaskClient) -> None:
    assert "Strict-Transport-Security" not in client.get("/health").headers
    secure = client.get("/health", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def test_the_docs_page_csp_allows_its_own_assets(client: FlaskClient) -> None:
    page = client.get("/api/docs")
    directives = page.headers["Content-Security-Policy"].split("; ")
    csp = {name: sources for name, _, sources in (d.partition(" ") for d in directives)}
    assert "'self'" in csp["script-src"] and "'unsafe-inline'" in csp["script-src"]
    assert "'self'" in csp["style-src"] and "'self'" in csp["connect-src"]
    assert "data:" in csp["img-src"] and csp["frame-ancestors"] == "'none'"
    for url in re.findall(r'(?:src|href)="([^"]+)"', page.get_data(as_text=True)):
        assert url.startswith("/"), url  # same origin: 'self' covers it
        with client.get(url) as asset:
            assert asset.status_code == 200
            assert asset.headers["X-Content-Type-Options"] == "nosniff"
            assert "no-store" not in asset.headers.get("Cache-Control", "")


def test_production_never_runs_with_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLASK_DEBUG", "1")
    app = create_app(
        {
            "app.env": "production",
            "app.database_url": "postgresql://apg@db.invalid/apg",  # never connected to
            "security.secret_key": "k" + Fernet.generate_key().decode(),
            "security.encryption_key": Fernet.generate_key().decode(),
            "security.ops_token": "o" * 32,
            "callbacks.public_base_url": "https://pay.example.com",
            "default_tenant.enabled": False,
        }
    )
    assert app.debug is False
    response = app.test_client().get("/api/docs/assets/nothing.js")  # no database needed
    assert "Strict-Transport-Security" in response.headers  # behind TLS termination
