"""Daraja callback endpoints. The URL token identifies the tenant; no word Daraja forbids."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from apg.webhooks import service

blp = Blueprint("daraja_webhooks", __name__, url_prefix="/webhooks/daraja")


@blp.route("/<token>/stk", methods=["POST"])
def stk_callback(token: str) -> tuple[dict[str, Any], int]:
    body = service.receive_stk_callback(
        token, request.get_data(cache=False), request.content_type, request.remote_addr
    )
    return body, 200
