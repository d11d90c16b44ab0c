"""Typed emulator settings; load_config() validates the YAML `emulator:` mapping over DEFAULTS."""

from __future__ import annotations

import functools
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from daraja_emulator import config_orgs
from daraja_emulator import config_readers as read
from daraja_emulator.config_orgs import Initiator, Organization
from daraja_emulator.config_readers import EmulatorConfigError
from daraja_emulator.defaults import DEFAULTS
from daraja_emulator.latency import AnswerLatency, finite_seconds
from daraja_emulator.scenarios import Scenario, parse_scenario

__all__ = [
    "EmulatorConfig",
    "EmulatorConfigError",
    "Initiator",
    "Merchant",
    "Organization",
    "Scenario",
    "load_config",
]

MERCHANT_KINDS = ("paybill", "till")
ROOT = "emulator"


@dataclass(frozen=True)
class Merchant:
    """One Lipa na M-Pesa Online shortcode the emulator knows, with its passkey."""

    shortcode: str
    passkey: str
    kind: str = "paybill"
    till_numbers: tuple[str, ...] = ()


@dataclass(frozen=True)
class EmulatorConfig:
    """Everything the emulator can be told; build it with load_config()."""

    consumer_key: str
    consumer_secret: str
    token_ttl_seconds: int
    revoke_previous_tokens: bool
    callback_delay_seconds: float
    no_answer_timeout_seconds: float
    callback_timeout_seconds: float
    auto_deliver: bool
    include_balance_item: bool
    reject_forbidden_callback_words: bool
    max_amount: int
    merchants: tuple[Merchant, ...]
    scenarios: Mapping[str, Scenario]
    default_scenario: Scenario
    strict_security_credential: bool
    initiators: tuple[Initiator, ...]
    opening_balances: Mapping[str, int]
    organizations: tuple[Organization, ...]
    c2b_register_once: bool
    c2b_external_validation: bool
    c2b_validation_timeout_seconds: float
    answer_latency_seconds: float
    answer_latency_jitter_seconds: float
    answer_latency_oauth: bool

    @property
    def answer_latency(self) -> AnswerLatency:
        """How long each answer waits (NOTES.md "Answer latency")."""
        return AnswerLatency(
            self.answer_latency_seconds,
            self.answer_latency_jitter_seconds,
            self.answer_latency_oauth,
        )

    def merchant(self, shortcode: str) -> Merchant | None:
        """The merchant registered under this BusinessShortCode, if any."""
        return next((m for m in self.merchants if m.shortcode == shortcode), None)

    def scenario_for(self, party: str) -> Scenario:
        """The scripted outcome for a handset (or a shortcode), else the default scenario."""
        return self.scenarios.get(party, self.default_scenario)

    def organization(self, shortcode: str) -> Organization | None:
        """The organisation behind a shortcode: configured, an STK merchant or a sandbox 600xxx."""
        configured = next((o for o in self.organizations if o.shortcode == shortcode), None)
        if configured is not None:
            return configured
        if self.merchant(shortcode) is not None or config_orgs.in_sandbox_range(shortcode):
            return Organization(shortcode)
        return None

    def organization_name(self, shortcode: str) -> str:
        org = self.organization(shortcode)
        return org.name if org is not None and org.name else config_orgs.sandbox_name(shortcode)

    def initiator_password(self, shortcode: str, name: str) -> str | None:
        """The password of API operator `name` of this shortcode (its own list, else the
        global one); None when the shortcode or the operator is unknown."""
        org = self.organization(shortcode)
        if org is None:
            return None
        operators = org.initiators or self.initiators
        return next((i.password for i in operators if i.name == name), None)

    def opening_balances_for(self, shortcode: str) -> Mapping[str, int]:
        """Cents per account a shortcode's ledger opens with."""
        org = self.organization(shortcode)
        if org is not None and org.opening_balances is not None:
            return org.opening_balances
        return self.opening_balances


def load_config(mapping: Mapping[str, Any] | None) -> EmulatorConfig:
    """Validate `mapping` (the YAML `emulator:` section) on top of DEFAULTS.

    Top-level keys replace the default value wholesale (a given `scenarios` mapping or
    `merchants` list replaces the built-in one). Raises EmulatorConfigError naming the key path.
    """
    given = read.mapping({} if mapping is None else mapping, ROOT)
    read.known_keys(given, DEFAULTS, ROOT)
    merged = {**DEFAULTS, **given}

    def field(key: str, reader: Any, *args: Any) -> Any:
        return reader(merged[key], f"{ROOT}.{key}", *args)

    return EmulatorConfig(
        consumer_key=field("consumer_key", read.string),
        consumer_secret=field("consumer_secret", read.string),
        token_ttl_seconds=field("token_ttl_seconds", read.integer, 1),
        revoke_previous_tokens=field("revoke_previous_tokens", read.boolean),
        callback_delay_seconds=field("callback_delay_seconds", read.seconds),
        no_answer_timeout_seconds=field("no_answer_timeout_seconds", read.seconds),
        callback_timeout_seconds=field(
            "callback_timeout_seconds", functools.partial(read.seconds, positive=True)
        ),
        auto_deliver=field("auto_deliver", read.boolean),
        include_balance_item=field("include_balance_item", read.boolean),
        reject_forbidden_callback_words=field("reject_forbidden_callback_words", read.boolean),
        max_amount=field("max_amount", read.integer, 1),
        merchants=field("merchants", _merchants),
        scenarios=field("scenarios", _scenarios),
        default_scenario=field("default_scenario", parse_scenario),
        strict_security_credential=field("strict_security_credential", read.boolean),
        initiators=field("initiators", config_orgs.initiators),
        opening_balances=field("opening_balances", config_orgs.opening_balances),
        organizations=field("organizations", config_orgs.organizations),
        c2b_register_once=field("c2b_register_once", read.boolean),
        c2b_external_validation=field("c2b_external_validation", read.boolean),
        c2b_validation_timeout_seconds=field(
            "c2b_validation_timeout_seconds", functools.partial(read.seconds, positive=True)
        ),
        answer_latency_seconds=field("answer_latency_seconds", finite_seconds),
        answer_latency_jitter_seconds=field("answer_latency_jitter_seconds", finite_seconds),
        answer_latency_oauth=field("answer_latency_oauth", read.boolean),
    )


def _merchants(value: Any, path: str) -> tuple[Merchant, ...]:
    items = read.sequence(value, path)
    merchants = [_merchant(item, f"{path}[{i}]") for i, item in enumerate(items)]
    seen: set[str] = set()
    for i, merchant in enumerate(merchants):
        if merchant.shortcode in seen:
            raise EmulatorConfigError(f"{path}[{i}].shortcode: duplicate shortcode")
        seen.add(merchant.shortcode)
    return tuple(merchants)


def _merchant(value: Any, path: str) -> Merchant:
    fields = read.mapping(value, path)
    read.known_keys(fields, read.field_names(Merchant), path)
    tills = read.sequence(fields.get("till_numbers", []), f"{path}.till_numbers")
    return Merchant(
        shortcode=read.shortcode(read.required(fields, "shortcode", path), f"{path}.shortcode"),
        passkey=read.string(read.required(fields, "passkey", path), f"{path}.passkey"),
        kind=read.choice(fields.get("kind", "paybill"), f"{path}.kind", MERCHANT_KINDS),
        till_numbers=tuple(
            read.shortcode(till, f"{path}.till_numbers[{i}]") for i, till in enumerate(tills)
        ),
    )


def _scenarios(value: Any, path: str) -> Mapping[str, Scenario]:
    scenarios = {}
    for key, item in read.mapping(value, path).items():
        party = read.party(key, f"{path}.{key}")
        scenarios[party] = parse_scenario(item, f"{path}.{key}")
    return types.MappingProxyType(scenarios)
