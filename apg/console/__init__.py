"""The ops console at /ops/: server-rendered pages for operators (health, activity, callbacks,
operations held for review or in conflict and their resolution, breakers, merchant webhooks,
reconciliation). Signed in with the ops token; its own assets only (offline, strict page CSP).
A blueprint apart from the JSON ops endpoints: neither one's guard applies to the other."""

from __future__ import annotations

from flask import Blueprint, Flask

pages = Blueprint(
    "console",
    __name__,
    url_prefix="/ops",
    template_folder="templates",
    static_folder="assets",
    static_url_path="/assets",
)


def init_app(app: Flask) -> None:
    """Register the pages, and the session cookie they sign operators in with."""
    from apg.console import auth, routes  # noqa: F401  (the routes register on `pages`)

    auth.configure_session(app, production=app.extensions["apg"].settings.is_production)
    app.register_blueprint(pages)
