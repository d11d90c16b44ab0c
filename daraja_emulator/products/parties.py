"""Public names of the parties in results: customers by MSISDN, organisations by shortcode."""

from __future__ import annotations

from daraja_emulator.config import EmulatorConfig
from daraja_emulator.ledger import Party

DEFAULT_CUSTOMER = "John Doe"  # the 2017-2019 sandbox results' name for every test MSISDN
# API.md §15.3: newer sandbox results name this test identity.
KNOWN_CUSTOMERS = {"254705912645": "NICHOLAS JOHN SONGOK"}


def customer(msisdn: str) -> Party:
    return Party(msisdn, KNOWN_CUSTOMERS.get(msisdn, DEFAULT_CUSTOMER))


def organization(config: EmulatorConfig, shortcode: str) -> Party:
    return Party(shortcode, config.organization_name(shortcode))
