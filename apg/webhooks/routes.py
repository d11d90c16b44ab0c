"""One route for every Daraja callback: /webhooks/daraja/<tenant token>/<kind>."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request
from werkzeug.wsgi import get_input_stream

from apg.services import services
from apg.webhooks.service import Delivery

blp = Blueprint("daraja_webhooks", __name__, url_prefix="/webhooks/daraja")

# Drained (and discarded) past the limit so the sender still gets a clean 413.
DRAIN_LIMIT = 16 * 1024 * 1024


@blp.route("/<token>/<kind>", methods=["POST"])
def callback(token: str, kind: str) -> tuple[dict[str, Any], int]:
    body, size, too_large = _read_body(current_app.config["MAX_CONTENT_LENGTH"])
    delivery = Delivery(
        processor="mpesa",
        token=token,
        kind=kind,
        body=body,
        size=size,
        too_large=too_large,
        content_type=request.content_type,
        source_ip=request.remote_addr,
    )
    return services().inbox.receive(delivery), 200


def _read_body(limit: int) -> tuple[bytes, int, bool]:
    """The body, its size, and whether it was over `limit` (then only the head is returned)."""
    # The limit is enforced here, after keeping the head: Flask's would refuse before that.
    stream = get_input_stream(request.environ, max_content_length=None)
    body = stream.read(limit + 1)
    if len(body) <= limit:
        return body, len(body), False
    size = len(body)
    while size < DRAIN_LIMIT and (chunk := stream.read(64 * 1024)):
        size += len(chunk)
    return body, max(size, request.content_length or 0), True
