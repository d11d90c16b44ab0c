"""STK callbacks over real loopback HTTP: exact shapes, types and the raw `10.00` (API.md §2.1)."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
import requests

from daraja_emulator import EmulatorConfig, EmulatorServer

from .support import CallbackReceiver, Daraja, FakeClock, sample, serve

RECEIPT = re.compile(r"[A-Z][A-L][1-9A-V][0-9A-Z]{7}")


def test_scheduler_posts_the_success_callback_when_due(
    daraja: Daraja, live_emulator: EmulatorServer, receiver: CallbackReceiver, fake_clock: FakeClock
) -> None:
    checkout_id = daraja.push(Amount="10")
    fake_clock.advance(3)
    live_emulator.scheduler.wake()
    record = live_emulator.wait_for_delivery(checkout_id, timeout=10)
    assert record is not None and record["status_code"] == 200
    assert json.loads(record["response_body"]) == {"ResultCode": 0, "ResultDesc": "Accepted"}
    [received] = receiver.received
    assert received["text"] == record["body"]
    assert '{"Name":"Amount","Value":10.00}' in received["text"]
    callback = json.loads(received["text"])["Body"]["stkCallback"]
    assert callback["CheckoutRequestID"] == checkout_id
    assert (callback["ResultCode"], callback["ResultDesc"]) == (
        0,
        "The service request is processed successfully.",
    )
    items = callback["CallbackMetadata"]["Item"]
    assert [item["Name"] for item in items] == [
        "Amount",
        "MpesaReceiptNumber",
        "TransactionDate",
        "PhoneNumber",
    ]
    values = {item["Name"]: item["Value"] for item in items}
    assert RECEIPT.fullmatch(values["MpesaReceiptNumber"])
    assert values["MpesaReceiptNumber"].startswith("SGA")  # 2024, July, 10th
    assert values["TransactionDate"] == 20240710091529  # accepted 09:15:26 EAT + 3 s
    assert values["PhoneNumber"] == 254708374149


def test_success_callback_has_the_docs_sample_structure(
    daraja: Daraja, receiver: CallbackReceiver
) -> None:
    daraja.control(daraja.push(), "settle")
    docs = sample("stk_callback_success_daraja-docs.json")
    sent = json.loads(receiver.received[0]["text"])
    assert list(sent) == list(docs) == ["Body"]
    assert list(sent["Body"]["stkCallback"]) == list(docs["Body"]["stkCallback"])
    for ours, theirs in zip(
        sent["Body"]["stkCallback"]["CallbackMetadata"]["Item"],
        docs["Body"]["stkCallback"]["CallbackMetadata"]["Item"],
        strict=True,
    ):
        assert (ours["Name"], type(ours["Value"])) == (theirs["Name"], type(theirs["Value"]))


def test_callback_is_plain_json_without_auth_headers(
    daraja: Daraja, receiver: CallbackReceiver
) -> None:
    daraja.control(daraja.push(), "settle")
    [received] = receiver.received
    assert (received["method"], received["path"]) == ("POST", "/callbacks/stk")
    assert received["headers"]["Content-Type"] == "application/json"
    assert "Authorization" not in received["headers"]


def test_failure_callback_has_no_metadata(daraja: Daraja, receiver: CallbackReceiver) -> None:
    checkout_id = daraja.push("254708374151")
    record = daraja.control(checkout_id, "settle")
    docs = sample("stk_callback_failure_1032_daraja-docs.json")
    sent = json.loads(receiver.received[0]["text"])
    assert list(sent["Body"]["stkCallback"]) == list(docs["Body"]["stkCallback"])
    assert sent["Body"]["stkCallback"]["ResultCode"] == 1032
    assert sent["Body"]["stkCallback"]["ResultDesc"] == "Request cancelled by user"
    assert "CallbackMetadata" not in record["body"]


@pytest.mark.parametrize(
    ("phone", "code"),
    [
        ("254708374149", 0),
        ("254708374150", 1),
        ("254708374151", 1032),
        ("254708374152", 1037),
        ("254708374153", 2001),
        ("254799999999", 0),
    ],
)
def test_every_default_scenario_reaches_the_receiver(
    daraja: Daraja, receiver: CallbackReceiver, phone: str, code: int
) -> None:
    checkout_id = daraja.push(phone)
    daraja.control(checkout_id, "settle")
    [text] = receiver.texts_for(checkout_id)
    assert json.loads(text)["Body"]["stkCallback"]["ResultCode"] == code
    assert ("CallbackMetadata" in text) is (code == 0)


def test_balance_item_is_value_less_when_enabled(
    emulator_config: EmulatorConfig,
    fake_clock: FakeClock,
    http: requests.Session,
    receiver: CallbackReceiver,
) -> None:
    config = dataclasses.replace(emulator_config, include_balance_item=True)
    with serve(config, fake_clock) as server:
        daraja = Daraja(http, server, receiver.url)
        daraja.control(daraja.push(), "settle")
    items = json.loads(receiver.received[0]["text"])["Body"]["stkCallback"]["CallbackMetadata"]
    assert items["Item"][2] == {"Name": "Balance"}


def settled_items(daraja: Daraja, phone: str = "254711000001", **scenario: object) -> list[dict]:
    """CallbackMetadata items of a success callback shaped by `scenario`, as received."""
    daraja.script(phone, result_code=0, **scenario)
    record = daraja.control(daraja.push(phone, Amount=250), "settle")
    items: list[dict] = json.loads(record["body"])["Body"]["stkCallback"]["CallbackMetadata"][
        "Item"
    ]
    return items


@pytest.mark.parametrize(
    ("amount_format", "raw"),
    [("decimal", '{"Name":"Amount","Value":250.00}'), ("integer", '{"Name":"Amount","Value":250}')],
)
def test_amount_format_prints_the_amount_like_that_era(
    daraja: Daraja, receiver: CallbackReceiver, amount_format: str, raw: str
) -> None:
    settled_items(daraja, amount_format=amount_format)
    assert raw in receiver.received[0]["text"]


def test_paid_amount_replaces_the_requested_amount(daraja: Daraja) -> None:
    items = settled_items(daraja, paid_amount=200)
    assert items[0] == {"Name": "Amount", "Value": 200}


@pytest.mark.parametrize("omitted", [["MpesaReceiptNumber"], ["Amount"], ["Amount", "PhoneNumber"]])
def test_omit_items_leaves_metadata_items_out(daraja: Daraja, omitted: list[str]) -> None:
    names = [item["Name"] for item in settled_items(daraja, omit_items=omitted)]
    expected = ["Amount", "MpesaReceiptNumber", "TransactionDate", "PhoneNumber"]
    assert names == [name for name in expected if name not in omitted]


def test_scenario_balance_item_overrides_the_global_setting(
    emulator_config: EmulatorConfig,
    fake_clock: FakeClock,
    http: requests.Session,
    receiver: CallbackReceiver,
) -> None:
    config = dataclasses.replace(emulator_config, include_balance_item=True)
    with serve(config, fake_clock) as server:
        daraja = Daraja(http, server, receiver.url)
        without = settled_items(daraja, "254711000001", balance_item=False)
        with_it = settled_items(daraja, "254711000002")
    assert {"Name": "Balance"} not in without
    assert with_it[2] == {"Name": "Balance"}


def test_balance_item_can_be_asked_for_by_one_scenario(daraja: Daraja) -> None:
    assert settled_items(daraja, balance_item=True)[2] == {"Name": "Balance"}


def test_failure_callbacks_ignore_the_callback_style(daraja: Daraja) -> None:
    daraja.script("254711000001", result_code=1, paid_amount=5, amount_format="integer")
    record = daraja.control(daraja.push("254711000001"), "settle")
    assert "CallbackMetadata" not in record["body"]
