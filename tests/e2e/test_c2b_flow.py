"""C2B end to end: register through APG, simulate through APG, the emulator's validation and
confirmation come back over real HTTP and become exactly one C2B payment."""

from __future__ import annotations

from typing import Any

import requests

from tests.support.factories import EmulatorControl, Merchant


def call(merchant: Merchant, method: str, path: str, body: Any = None) -> requests.Response:
    return merchant.session.request(method, f"{merchant.base_url}{path}", json=body, timeout=30)


def settle_c2b(control: EmulatorControl, simulation: dict[str, Any]) -> dict[str, Any]:
    """The emulator posts the validation, reads the verdict, then confirms (or not)."""
    url = f"{control.base_url}/_emulator/c2b/payments/{simulation['originator_conversation_id']}"
    response = requests.post(f"{url}/settle", timeout=30)
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def simulate(merchant: Merchant, bill_ref: str, amount: int = 10000) -> dict[str, Any]:
    body = {"amount": amount, "phone_number": "0708374149", "bill_ref_number": bill_ref}
    response = call(merchant, "POST", "/api/v1/c2b/simulate", body)
    assert response.status_code == 202, response.text
    return response.json()  # type: ignore[no-any-return]


def c2b_payments(merchant: Merchant) -> list[dict[str, Any]]:
    return call(merchant, "GET", "/api/v1/c2b/payments").json()["data"]  # type: ignore[no-any-return]


def test_a_simulated_c2b_payment_arrives_once_and_replays_change_nothing(
    merchant: Merchant, emulator_control: EmulatorControl
) -> None:
    registered = call(merchant, "POST", "/api/v1/c2b/register-urls", {"version": "v2"})
    assert registered.status_code == 200, registered.text
    assert registered.json()["confirmation_url"].endswith("/c2b-confirmation")

    seen = settle_c2b(emulator_control, simulate(merchant, "INV-1001"))
    assert seen["state"] == "completed"
    [payment] = c2b_payments(merchant)
    assert (payment["status"], payment["amount"], payment["reference"]) == (
        "completed",
        10000,
        "INV-1001",
    )
    assert (payment["msisdn_format"], payment["phone_number"]) == ("masked", None)

    redelivered = requests.post(
        f"{emulator_control.base_url}/_emulator/c2b/payments/{seen['trans_id']}/redeliver",
        timeout=30,
    )
    assert redelivered.status_code == 200, redelivered.text
    assert [p["id"] for p in c2b_payments(merchant)] == [payment["id"]]


def test_a_validation_rule_rejects_a_bad_account_number_with_c2b00012(
    merchant: Merchant, emulator_control: EmulatorControl
) -> None:
    assert call(merchant, "POST", "/api/v1/c2b/register-urls", {}).status_code == 200
    rules = {"account_number_pattern": "INV-[0-9]{4}"}
    assert call(merchant, "PUT", "/api/v1/c2b/validation-rules", rules).status_code == 200

    seen = settle_c2b(emulator_control, simulate(merchant, "WRONG-REF"))
    assert seen["state"] == "cancelled"
    assert seen["verdict"]["result_code"] == "C2B00012"
    assert c2b_payments(merchant) == []

    accepted = settle_c2b(emulator_control, simulate(merchant, "INV-2024"))
    assert accepted["state"] == "completed"
    assert [p["reference"] for p in c2b_payments(merchant)] == ["INV-2024"]
