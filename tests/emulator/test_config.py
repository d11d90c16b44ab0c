"""load_config: defaults, the documented YAML, and errors that name the offending key."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from daraja_emulator import EmulatorConfig, EmulatorConfigError, load_config
from daraja_emulator.config import Merchant, Scenario
from daraja_emulator.defaults import DEFAULTS
from daraja_emulator.scenarios import Outcome

DOCUMENTED_YAML = """
emulator:
  consumer_key: apg-emulator-key
  consumer_secret: apg-emulator-secret
  token_ttl_seconds: 3599
  revoke_previous_tokens: true
  callback_delay_seconds: 3
  no_answer_timeout_seconds: 60
  callback_timeout_seconds: 10
  auto_deliver: true
  include_balance_item: false
  reject_forbidden_callback_words: true
  max_amount: 250000
  merchants:
    - shortcode: "174379"
      passkey: bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919
      kind: paybill
      till_numbers: []
  scenarios:
    "254708374149": {result_code: 0}
    "254708374150": {result_code: 1}
    "254708374151": {result_code: 1032}
    "254708374152": {result_code: 1037}
    "254708374153": {result_code: 2001}
  default_scenario: {result_code: 0}
  strict_security_credential: false
  initiators:
    - {name: testapi, password: "Safaricom999!*!"}
  opening_balances:
    Working Account: 500000.00
    Utility Account: 1000000.00
  organizations: []
  c2b_register_once: false
  c2b_external_validation: true
  c2b_validation_timeout_seconds: 8
"""


def test_documented_yaml_equals_the_built_in_defaults() -> None:
    section = yaml.safe_load(DOCUMENTED_YAML)["emulator"]
    assert load_config(section) == load_config(None) == load_config({})


def test_yaml_keys_and_dataclass_fields_stay_in_sync() -> None:
    assert set(DEFAULTS) == {f.name for f in dataclasses.fields(EmulatorConfig)}


def test_defaults_behave_like_the_sandbox() -> None:
    config = load_config(None)
    assert config.token_ttl_seconds == 3599
    assert config.merchant("174379") == Merchant(
        "174379", DEFAULTS["merchants"][0]["passkey"], "paybill", ()
    )
    assert config.scenario_for("254708374151") == Scenario(1032, "Request cancelled by user")
    assert config.scenario_for("254700000000").result_code == 0


def test_scenario_descriptions_default_from_the_result_table() -> None:
    config = load_config(None)
    assert config.scenarios["254708374152"].result_desc == "DS timeout user cannot be reached"
    assert config.scenarios["254708374153"].result_desc == "The initiator information is invalid."


def test_given_values_override_defaults_and_scenarios_replace_wholesale() -> None:
    config = load_config(
        {
            "callback_delay_seconds": 0.5,
            "scenarios": {254700000001: {"result_code": "1032", "delay_seconds": 7}},
        }
    )
    assert config.callback_delay_seconds == 0.5
    assert dict(config.scenarios) == {"254700000001": Scenario(1032, None, 7)}
    assert config.scenarios["254700000001"].result_desc == "Request cancelled by user"


def test_alphanumeric_result_code_and_custom_description() -> None:
    config = load_config(
        {"default_scenario": {"result_code": "SFC_IC0003"}, "scenarios": {}},
    )
    assert config.default_scenario == Scenario("SFC_IC0003", "The operator does not exist.")
    custom = load_config({"default_scenario": {"result_code": 4242, "result_desc": "Odd"}})
    assert custom.default_scenario.result_desc == "Odd"


def test_config_is_frozen_and_replace_works() -> None:
    config = load_config(None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.max_amount = 5  # type: ignore[misc]
    tweaked = dataclasses.replace(config, auto_deliver=False, callback_delay_seconds=0)
    assert (tweaked.auto_deliver, tweaked.callback_delay_seconds) == (False, 0)
    assert config.auto_deliver is True


def test_till_merchant() -> None:
    config = load_config(
        {
            "merchants": [
                {"shortcode": 5000001, "passkey": "pk", "kind": "till", "till_numbers": [5000002]}
            ]
        }
    )
    assert config.merchants == (Merchant("5000001", "pk", "till", ("5000002",)),)


def test_every_scenario_field_in_yaml() -> None:
    section = yaml.safe_load(
        """
        scenarios:
          254711000001:
            result_code: 1037
            amount_format: integer
            balance_item: true
            paid_amount: 90
            omit_items: [MpesaReceiptNumber, Balance]
            fault: slow
            answer_delay_seconds: 0.2
            delivery: duplicate
            then: {result_code: 0, delay_seconds: 30}
        default_scenario: {result_code: 0, fault: html_504}
        """
    )
    config = load_config(section)
    assert config.scenarios["254711000001"] == Scenario(
        1037,
        amount_format="integer",
        balance_item=True,
        paid_amount=90,
        omit_items=("MpesaReceiptNumber", "Balance"),
        fault="slow",
        answer_delay_seconds=0.2,
        delivery="duplicate",
        then=Outcome(0, None, 30),
    )
    assert config.default_scenario.fault == "html_504"


def test_new_scenario_fields_default_to_plain_daraja() -> None:
    scenario = load_config(None).default_scenario
    assert (scenario.amount_format, scenario.balance_item, scenario.paid_amount) == (
        "decimal",
        None,
        None,
    )
    assert (scenario.omit_items, scenario.fault, scenario.delivery, scenario.then) == (
        (),
        None,
        "normal",
        None,
    )
    assert scenario.answer_delay_seconds == 5


def test_a_scenario_round_trips_through_its_json_shape() -> None:
    given = {
        "result_code": 1037,
        "omit_items": ["Amount"],
        "answer_delay_seconds": 0,
        "then": {"result_code": 4242, "result_desc": "Odd", "delay_seconds": 0},
    }
    scenario = load_config({"default_scenario": given}).default_scenario
    assert scenario.to_json() == {
        **given,
        "result_desc": "DS timeout user cannot be reached",
    }
    assert load_config({"default_scenario": scenario.to_json()}).default_scenario == scenario


S = "emulator.scenarios.254708374150"


@pytest.mark.parametrize(
    ("scenario", "message"),
    [
        ({"amount_format": "float"}, f"{S}.amount_format: must be one of: decimal, integer"),
        ({"balance_item": "no"}, f"{S}.balance_item: must be a boolean"),
        ({"paid_amount": 1.5}, f"{S}.paid_amount: must be an integer >= 0"),
        ({"paid_amount": -1}, f"{S}.paid_amount: must be an integer >= 0"),
        ({"omit_items": "Amount"}, f"{S}.omit_items: must be a list"),
        ({"omit_items": ["Amount", "Receipt"]}, f"{S}.omit_items[1]: must be one of: Amount,"),
        ({"fault": "timeout"}, f"{S}.fault: must be one of: spike_arrest, quota_violation,"),
        ({"answer_delay_seconds": -1}, f"{S}.answer_delay_seconds: must be a number of seconds"),
        ({"delivery": "late"}, f"{S}.delivery: must be one of: normal, drop, duplicate, early"),
        ({"then": 0}, f"{S}.then: must be a mapping"),
        ({"then": {}}, f"{S}.then.result_code: is required"),
        ({"then": {"result_code": 4242}}, f"{S}.then.result_desc: required for result code"),
        ({"then": {"result_code": 0, "delay": 1}}, f"{S}.then.delay: unknown key"),
        ({"then": {"result_code": 0, "then": {}}}, f"{S}.then.then: unknown key"),
        (
            {"then": {"result_code": 0, "delay_seconds": "1"}},
            f"{S}.then.delay_seconds: must be a number",
        ),
    ],
)
def test_bad_new_scenario_fields_name_the_key_path(
    scenario: dict[str, object], message: str
) -> None:
    with pytest.raises(EmulatorConfigError) as caught:
        load_config({"scenarios": {"254708374150": {"result_code": 1, **scenario}}})
    assert str(caught.value).startswith(message)


def test_default_scenario_errors_name_default_scenario() -> None:
    with pytest.raises(EmulatorConfigError, match=r"^emulator\.default_scenario\.delivery: "):
        load_config({"default_scenario": {"result_code": 0, "delivery": "never"}})


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"callback_delayy": 3}, "emulator.callback_delayy: unknown key"),
        (
            {"scenarios": {"254708374150": {"result_code": 1.5}}},
            "emulator.scenarios.254708374150.result_code: must be an integer or string",
        ),
        (
            {"scenarios": {"254708374150": {"result_code": True}}},
            "emulator.scenarios.254708374150.result_code: must be an integer or string",
        ),
        (
            {"scenarios": {"254708374150": {"result_code": 1, "delay": 2}}},
            "emulator.scenarios.254708374150.delay: unknown key",
        ),
        (
            {"scenarios": {"254708374150": {}}},
            "emulator.scenarios.254708374150.result_code: is required",
        ),
        (
            {"scenarios": {"0712345678": {"result_code": 0}}},
            "emulator.scenarios.0712345678: must be a 12-digit MSISDN",
        ),
        (
            {"scenarios": {"254708374150": {"result_code": 4242}}},
            "emulator.scenarios.254708374150.result_desc: required for result code 4242",
        ),
        (
            {"scenarios": {"254708374150": {"result_code": 1, "delay_seconds": -1}}},
            "emulator.scenarios.254708374150.delay_seconds: must be a number of seconds >= 0",
        ),
        ({"token_ttl_seconds": "3599"}, "emulator.token_ttl_seconds: must be an integer >= 1"),
        ({"max_amount": 0}, "emulator.max_amount: must be an integer >= 1"),
        ({"auto_deliver": "yes"}, "emulator.auto_deliver: must be a boolean"),
        ({"consumer_key": ""}, "emulator.consumer_key: must be a non-empty string"),
        ({"callback_timeout_seconds": 0}, "emulator.callback_timeout_seconds: must be a number"),
        ({"merchants": {"shortcode": "174379"}}, "emulator.merchants: must be a list"),
        ({"merchants": [{"passkey": "x"}]}, "emulator.merchants[0].shortcode: is required"),
        (
            {"merchants": [{"shortcode": "17", "passkey": "x"}]},
            "emulator.merchants[0].shortcode: must be a 5-7 digit shortcode",
        ),
        (
            {"merchants": [{"shortcode": "174379", "passkey": "x", "kind": "shop"}]},
            "emulator.merchants[0].kind: must be one of: paybill, till",
        ),
        (
            {"merchants": [{"shortcode": "174379", "passkey": "x", "till_numbers": ["a"]}]},
            "emulator.merchants[0].till_numbers[0]: must be a 5-7 digit shortcode",
        ),
        (
            {
                "merchants": [
                    {"shortcode": 174379, "passkey": "x"},
                    {"shortcode": "174379", "passkey": "y"},
                ]
            },
            "emulator.merchants[1].shortcode: duplicate shortcode",
        ),
        ({"default_scenario": 0}, "emulator.default_scenario: must be a mapping"),
    ],
)
def test_bad_values_name_the_key_path(mapping: dict[str, object], message: str) -> None:
    with pytest.raises(EmulatorConfigError) as caught:
        load_config(mapping)
    assert str(caught.value).startswith(message)


def test_a_non_mapping_section_is_rejected() -> None:
    with pytest.raises(EmulatorConfigError, match=r"^emulator: must be a mapping"):
        load_config(["consumer_key"])  # type: ignore[arg-type]
