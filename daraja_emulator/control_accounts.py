"""Control API for the books: GET/PUT /_emulator/accounts/<shortcode> (not Daraja's)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, jsonify, request

from daraja_emulator import config_orgs
from daraja_emulator.config_readers import EmulatorConfigError
from daraja_emulator.errors import DarajaError
from daraja_emulator.money import shillings
from daraja_emulator.products import clearing
from daraja_emulator.runtime import Emulator, current_emulator

blueprint = Blueprint("control_accounts", __name__, url_prefix="/_emulator/accounts")


@blueprint.get("")
def list_accounts() -> Response:
    """The ledgers used since start or reset (a shortcode's opens on first use)."""
    emulator = current_emulator()
    clearing.catch_up(emulator, emulator.clock())
    return jsonify([account_view(emulator, code) for code in emulator.books.opened()])


@blueprint.get("/<shortcode>")
def show_accounts(shortcode: str) -> dict[str, Any]:
    """Balances as they stand by the emulator clock (decisions due by now applied)."""
    emulator = current_emulator()
    _require_organization(emulator, shortcode)
    clearing.catch_up(emulator, emulator.clock())
    return account_view(emulator, shortcode)


@blueprint.put("/<shortcode>")
def set_accounts(shortcode: str) -> dict[str, Any]:
    """Set balances, e.g. {"Utility Account": "5.00"}; accounts not named keep theirs."""
    emulator = current_emulator()
    _require_organization(emulator, shortcode)
    balances = _balances_from_body()
    now = emulator.clock()
    clearing.catch_up(emulator, now)
    emulator.books.set_balances(now, shortcode, balances)
    return account_view(emulator, shortcode)


def account_view(emulator: Emulator, shortcode: str) -> dict[str, Any]:
    balances = emulator.books.balances(shortcode)
    return {
        "shortcode": shortcode,
        "name": emulator.config.organization_name(shortcode),
        "currency": "KES",
        "accounts": {name: shillings(cents) for name, cents in balances.items()},
        "movements": [m.to_json() for m in emulator.books.movements(shortcode)],
    }


def _require_organization(emulator: Emulator, shortcode: str) -> None:
    if emulator.config.organization(shortcode) is None:
        message = (
            f"No organisation with shortcode {shortcode}: use an STK merchant, 600000-600999 "
            "or one under emulator.organizations"
        )
        raise DarajaError(404, "emulator.not_found", message)


def _balances_from_body() -> Mapping[str, int]:
    try:
        body = json.loads(request.get_data())
        return config_orgs.opening_balances(body, "accounts")
    except ValueError as exc:  # EmulatorConfigError is a ValueError
        problem = str(exc) if isinstance(exc, EmulatorConfigError) else "not JSON"
        raise DarajaError(400, "emulator.bad_request", problem) from None
