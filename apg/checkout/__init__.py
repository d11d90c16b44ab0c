"""Hosted checkout: sessions a merchant creates (POST /api/v1/checkout-sessions) and the page at
/checkout/<token> its customer pays on: STK Push, or Paybill / Dynamic QR when no prompt can be
sent. The page is server-rendered with its own assets (no CDN: offline and strict CSP)."""

from __future__ import annotations

from flask import Blueprint, Flask

pages = Blueprint(
    "checkout",
    __name__,
    url_prefix="/checkout",
    template_folder="templates",
    static_folder="assets",
    static_url_path="/assets",
)


def init_app(app: Flask) -> None:
    from apg.checkout import routes  # noqa: F401  (the page's routes register on `pages`)

    app.register_blueprint(pages)
