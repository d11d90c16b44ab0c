"""Customer to Business: POST /mpesa/c2b/v1|v2/registerurl and /simulate (API.md §4)."""

from __future__ import annotations

from flask import request
from flask.typing import ResponseReturnValue

from daraja_emulator import fields
from daraja_emulator.errors import invalid_access_token_400
from daraja_emulator.products import c2b_service
from daraja_emulator.products.result_service import product_blueprint
from daraja_emulator.runtime import current_emulator

blueprint = product_blueprint(
    "c2b",
    {"c2b.register_urls": "c2b_register_requests", "c2b.simulate": "c2b_simulate_requests"},
    invalid_access_token_400,  # API.md §13, §18.6: C2B's own invalid-token answer
    lambda: "ShortCode",  # the first field of both bodies
)


@blueprint.post("/mpesa/c2b/<any(v1, v2):version>/registerurl")
def register_urls(version: str) -> dict[str, str]:
    body = fields.json_object(request.get_data())
    return c2b_service.register_urls(current_emulator(), body, version)


@blueprint.post("/mpesa/c2b/<any(v1, v2):version>/simulate")
def simulate(version: str) -> ResponseReturnValue:
    body = fields.json_object(request.get_data())
    return c2b_service.simulate(current_emulator(), body, version)
