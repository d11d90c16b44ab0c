"""The doctor's table: what each Daraja code means and the fix, and the commands it names."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import click
import pytest

from apg.cli import doctor as doctor_cli
from apg.cli import keys, merchants, mpesa, payments, security
from apg.processors.mpesa.accounts import MpesaAccount
from apg.processors.mpesa.doctor import (
    Inquiry,
    Setup,
    account_context,
    check_callback_urls,
    is_public_host,
    judge_inquiry,
)
from apg.processors.mpesa.doctor_explanations import EXPLANATIONS, UNEXPLAINED, explain, render

COMMANDS = {
    name: command
    for module in (merchants, keys, payments, mpesa, security, doctor_cli)
    for name, command in module.cli.commands.items()
}
NAMED_COMMAND = re.compile(r"flask --app wsgi apg ([a-z-]+)((?: --[a-z-]+(?: \S+)?)*)")


def make_row(**overrides: Any) -> MpesaAccount:
    values: dict[str, Any] = {
        "id": "mpa_1",
        "tenant_id": "ten_1",
        "environment": "sandbox",
        "base_url": None,
        "shortcode": "600100",
        "kind": "paybill",
        "store_number": None,
        "initiator_name": "testapi",
    }
    return MpesaAccount(**(values | overrides))


def make_setup(public_base_url: str = "https://pay.example.com") -> Setup:
    def unused(*args: Any) -> Any:
        raise AssertionError("the doctor's pure parts call nothing")

    return Setup(
        client_for=unused,
        load_credentials=unused,
        now=lambda: datetime(2026, 1, 1, tzinfo=UTC),
        base_urls={"sandbox": "https://sandbox.safaricom.co.ke"},
        public_base_url=public_base_url,
        callback_url=f"{public_base_url}/webhooks/daraja/abc123",
        inquiries=unused,  # type: ignore[arg-type]
        wait_seconds=15,
    )


@pytest.mark.parametrize("row", [make_row(), make_row(kind="till", store_number="600101")])
@pytest.mark.parametrize(("key", "explanation"), list(EXPLANATIONS.items()))
def test_every_explanation_renders_from_an_accounts_context(
    row: MpesaAccount, key: tuple[str, str], explanation: Any
) -> None:
    context = account_context(row, make_setup()) | {"reason": "r", "inquiry": "pay_1", "word": "w"}
    message = render(explanation.meaning, context)
    assert message and "{" not in message
    if explanation.status in ("failed", "warning", "pending"):
        assert explanation.fix, f"{key} says what is wrong but not what to do"
        assert "{" not in render(explanation.fix, context)


@pytest.mark.parametrize("fix", sorted({e.fix for e in EXPLANATIONS.values() if e.fix}))
def test_every_command_a_fix_names_exists_with_its_options(fix: str) -> None:
    for name, options in NAMED_COMMAND.findall(fix):
        command = COMMANDS[name]
        known = {opt for param in command.params for opt in getattr(param, "opts", [])}
        assert set(re.findall(r"--[a-z-]+", options)) <= known, (name, options)
        assert isinstance(command, click.Command)


@pytest.mark.parametrize(
    ("code", "message", "status", "words"),
    [
        ("http_400", "Bad Request: Invalid Credentials", "failed", "--consumer-secret"),
        ("500.001.1001", "Wrong credentials", "failed", "--passkey"),
        ("500.001.1001", "[MerchantValidate] - Wrong credentials", "failed", "--passkey"),
        ("500.001.1001", "Merchant does not exist", "failed", "add-account"),
        ("500.001.1001", "The transaction is being processed", "ok", "did not reject"),
        ("400.002.02", "Bad Request - Invalid CheckoutRequestID", "ok", "did not reject"),
        ("400.002.02", "Bad Request - Invalid BusinessShortCode", "failed", "add-account"),
        ("500.001.1001", "Unable to lock subscriber", "warning", "again"),
        ("404.001.03", "Invalid Access Token", "failed", "product"),
        ("401.002.01", "Invalid API call as no apiproduct match found", "failed", "product"),
        ("500.003.02", "Error Occurred: Spike Arrest Violation", "warning", "in a minute"),
        ("0", "The service request is processed successfully.", "ok", "succeeded"),
        ("2001", "The initiator information is invalid.", "failed", "--initiator-password"),
        ("8006", "The security credential is locked.", "failed", "unlock"),
        ("21", "Initiator to Primary Party Permission Failure", "failed", "role"),
        ("20", "Unresolved Initiator", "failed", "--initiator-name"),
    ],
)
def test_daraja_answers_are_explained(code: str, message: str, status: str, words: str) -> None:
    explanation = explain(code, message)
    assert explanation.status == status
    assert words in f"{explanation.meaning} {explanation.fix}"


def test_an_unknown_code_is_a_warning_not_a_verdict() -> None:
    assert explain("SFC_IC0003", "The operator does not exist.") is UNEXPLAINED
    assert UNEXPLAINED.status == "warning"


@pytest.mark.parametrize(
    ("inquiry", "status", "code"),
    [
        (Inquiry("pay_1", "completed", "0", "ok"), "ok", "0"),
        (
            Inquiry("pay_1", "failed", "2001", "The initiator information is invalid."),
            "failed",
            "2001",
        ),
        (Inquiry("pay_1", "failed", reason="not sent: connection refused"), "failed", None),
        (Inquiry("pay_1", "processing"), "pending", None),
        (Inquiry("pay_1", "timeout", "1", "queue timeout"), "pending", None),
    ],
)
def test_a_balance_inquiry_is_judged_by_its_result(
    inquiry: Inquiry, status: str, code: str | None
) -> None:
    check = judge_inquiry(inquiry, account_context(make_row(), make_setup()))
    assert (check.status, check.daraja_code) == (status, code)
    assert "pay_1" in f"{check.message} {check.fix}" or status == "failed"


@pytest.mark.parametrize(
    ("host", "public"),
    [
        ("pay.example.com", True),
        ("41.90.64.10", True),
        ("localhost", False),
        ("gateway", False),
        ("printer.local", False),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.20.0.5", False),
        ("192.168.1.10", False),
        ("::1", False),
        ("", False),
    ],
)
def test_only_public_hosts_can_take_daraja_callbacks(host: str, public: bool) -> None:
    assert is_public_host(host) is public


@pytest.mark.parametrize(
    ("environment", "base", "status"),
    [
        ("emulator", "http://127.0.0.1:5000", "ok"),
        ("sandbox", "http://127.0.0.1:5000", "failed"),
        ("sandbox", "http://pay.example.com", "warning"),
        ("production", "http://pay.example.com", "failed"),
        ("production", "https://pay.example.com", "ok"),
        ("emulator", "https://mpesa.example.com", "failed"),
    ],
)
def test_callback_urls_follow_darajas_url_rules(environment: str, base: str, status: str) -> None:
    setup = make_setup(base)
    check = check_callback_urls(environment, setup, account_context(make_row(), setup))
    assert check.status == status
    if status != "ok":
        assert check.fix is not None and "MPESA_CALLBACK_BASE_URL" in check.fix
