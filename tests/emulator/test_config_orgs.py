"""load_config for the initiator APIs: organisations, initiators, balances, scenario keys."""

from __future__ import annotations

import pytest

from daraja_emulator import EmulatorConfigError, load_config
from daraja_emulator.config import Organization


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        (
            {"scenarios": {"1234": {"result_code": 0}}},
            "emulator.scenarios.1234: must be a 12-digit MSISDN (2547XXXXXXXX or 2541XXXXXXXX)"
            " or a 5-7 digit shortcode",
        ),
        ({"strict_security_credential": 1}, "emulator.strict_security_credential: must be a"),
        ({"initiators": [{"name": "testapi"}]}, "emulator.initiators[0].password: is required"),
        (
            {"initiators": [{"name": "testapi", "password": "x", "pin": 1}]},
            "emulator.initiators[0].pin: unknown key",
        ),
        (
            {"opening_balances": {"Savings Account": 1}},
            "emulator.opening_balances.Savings Account: must be one of: Working Account,",
        ),
        (
            {"opening_balances": {"Utility Account": "10.005"}},
            "emulator.opening_balances.Utility Account: must be an amount in KES",
        ),
        (
            {"opening_balances": {"Utility Account": True}},
            "emulator.opening_balances.Utility Account: must be an amount in KES",
        ),
        ({"organizations": [{"name": "x"}]}, "emulator.organizations[0].shortcode: is required"),
        (
            {
                "organizations": [
                    {"shortcode": "603021", "opening_balances": {"Utility Account": []}}
                ]
            },
            "emulator.organizations[0].opening_balances.Utility Account: must be an amount",
        ),
        (
            {"organizations": [{"shortcode": "603021", "initiators": [{"password": "x"}]}]},
            "emulator.organizations[0].initiators[0].name: is required",
        ),
        (
            {"organizations": [{"shortcode": "603021"}, {"shortcode": 603021}]},
            "emulator.organizations[1].shortcode: duplicate shortcode",
        ),
    ],
)
def test_bad_values_name_the_key_path(mapping: dict[str, object], message: str) -> None:
    with pytest.raises(EmulatorConfigError) as caught:
        load_config(mapping)
    assert str(caught.value).startswith(message)


def test_organisations_opening_balances_and_initiators() -> None:
    config = load_config(
        {
            "opening_balances": {"Utility Account": 250.5, "Charges Paid Account": "-10.00"},
            "organizations": [
                {
                    "shortcode": "603021",
                    "name": "Acme Payouts",
                    "opening_balances": {"Working Account": 100},
                }
            ],
        }
    )
    assert dict(config.opening_balances_for("600000")) == {
        "Utility Account": 25050,
        "Charges Paid Account": -1000,
    }
    assert dict(config.opening_balances_for("603021")) == {"Working Account": 10000}
    assert config.organization_name("603021") == "Acme Payouts"
    assert config.organization_name("600992") == "Safaricom Daraja 992"
    assert config.organization_name("174379") == "Safaricom Daraja 379"
    assert config.organization("600999") == Organization("600999")
    assert config.organization("601000") is None  # outside the sandbox range, not configured
    assert config.initiator_password("603021", "testapi") == "Safaricom999!*!"
    assert config.initiator_password("601000", "testapi") is None


def test_scenarios_may_be_keyed_by_shortcode() -> None:
    config = load_config({"scenarios": {600992: {"result_code": 2001}}})
    assert config.scenario_for("600992").result_desc == "The initiator information is invalid."


def test_result_codes_of_the_initiator_apis_need_no_description() -> None:
    config = load_config({"default_scenario": {"result_code": 2040, "queue_timeout": True}})
    assert config.default_scenario.result_desc is not None
    assert config.default_scenario.result_desc.startswith("Credit Party customer type")
    assert config.default_scenario.queue_timeout is True
