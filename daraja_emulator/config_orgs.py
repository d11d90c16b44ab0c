"""Organisations for the initiator APIs: API operators (initiators) and opening balances."""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from daraja_emulator import config_readers as read
from daraja_emulator.config_readers import EmulatorConfigError
from daraja_emulator.ledger import ACCOUNTS
from daraja_emulator.money import cents_of

# API.md §15.3: the public sandbox hands out 600000-600999 to developers.
SANDBOX_RANGE = range(600000, 601000)


@dataclass(frozen=True)
class Initiator:
    """An API operator: the InitiatorName/Initiator and the password SecurityCredential hides."""

    name: str
    password: str


@dataclass(frozen=True)
class Organization:
    """A shortcode with M-Pesa accounts. Empty `initiators` / None `opening_balances` mean
    the global ones."""

    shortcode: str
    name: str | None = None
    initiators: tuple[Initiator, ...] = ()
    opening_balances: Mapping[str, int] | None = None


def sandbox_name(shortcode: str) -> str:
    """ "Safaricom Daraja 992" for 600992, like the sandbox's public names."""
    return f"Safaricom Daraja {shortcode[-3:]}"


def in_sandbox_range(shortcode: str) -> bool:
    return len(shortcode) == 6 and int(shortcode) in SANDBOX_RANGE


def initiators(value: Any, path: str) -> tuple[Initiator, ...]:
    items = read.sequence(value, path)
    return tuple(_initiator(item, f"{path}[{i}]") for i, item in enumerate(items))


def opening_balances(value: Any, path: str) -> Mapping[str, int]:
    """Account name -> KES (number or decimal string, 2 decimals at most), kept in cents."""
    balances = {}
    for account, amount in read.mapping(value, path).items():
        read.choice(account, f"{path}.{account}", ACCOUNTS)
        cents = cents_of(amount)
        if cents is None:
            raise read.fail(f"{path}.{account}", "must be an amount in KES (at most 2 decimals)")
        balances[account] = cents
    return types.MappingProxyType(balances)


def organizations(value: Any, path: str) -> tuple[Organization, ...]:
    items = read.sequence(value, path)
    orgs = [_organization(item, f"{path}[{i}]") for i, item in enumerate(items)]
    seen: set[str] = set()
    for i, org in enumerate(orgs):
        if org.shortcode in seen:
            raise EmulatorConfigError(f"{path}[{i}].shortcode: duplicate shortcode")
        seen.add(org.shortcode)
    return tuple(orgs)


def _initiator(value: Any, path: str) -> Initiator:
    fields = read.mapping(value, path)
    read.known_keys(fields, read.field_names(Initiator), path)
    return Initiator(
        name=read.string(read.required(fields, "name", path), f"{path}.name"),
        password=read.string(read.required(fields, "password", path), f"{path}.password"),
    )


def _organization(value: Any, path: str) -> Organization:
    fields = read.mapping(value, path)
    read.known_keys(fields, read.field_names(Organization), path)
    name = fields.get("name")
    balances = fields.get("opening_balances")
    return Organization(
        shortcode=read.shortcode(read.required(fields, "shortcode", path), f"{path}.shortcode"),
        name=None if name is None else read.string(name, f"{path}.name"),
        initiators=initiators(fields.get("initiators", []), f"{path}.initiators"),
        opening_balances=(
            None if balances is None else opening_balances(balances, f"{path}.opening_balances")
        ),
    )
