"""Built-in emulator settings, mirroring the public Daraja sandbox (keys match the YAML)."""

from __future__ import annotations

from typing import Any

SANDBOX_SHORTCODE = "174379"
SANDBOX_PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"
# API.md §15.3: the sandbox's API operator; its password rotates (this is the 2023-24 one).
SANDBOX_INITIATOR = "testapi"
SANDBOX_INITIATOR_PASSWORD = "Safaricom999!*!"

DEFAULTS: dict[str, Any] = {
    "consumer_key": "apg-emulator-key",
    "consumer_secret": "apg-emulator-secret",
    "token_ttl_seconds": 3599,
    "revoke_previous_tokens": True,
    "callback_delay_seconds": 3,
    "no_answer_timeout_seconds": 60,
    "callback_timeout_seconds": 10,
    "auto_deliver": True,
    "include_balance_item": False,
    "reject_forbidden_callback_words": True,
    "max_amount": 250000,
    "merchants": [
        {
            "shortcode": SANDBOX_SHORTCODE,
            "passkey": SANDBOX_PASSKEY,
            "kind": "paybill",
            "till_numbers": [],
        }
    ],
    "scenarios": {
        "254708374149": {"result_code": 0},
        "254708374150": {"result_code": 1},
        "254708374151": {"result_code": 1032},
        "254708374152": {"result_code": 1037},
        "254708374153": {"result_code": 2001},
    },
    "default_scenario": {"result_code": 0},
    "strict_security_credential": False,
    "initiators": [{"name": SANDBOX_INITIATOR, "password": SANDBOX_INITIATOR_PASSWORD}],
    "opening_balances": {"Working Account": "500000.00", "Utility Account": "1000000.00"},
    "organizations": [],
    "c2b_register_once": False,
    "c2b_external_validation": True,
    "c2b_validation_timeout_seconds": 8,
    # Real seconds each Daraja API answer waits (NOTES.md "Answer latency"); 0: at once.
    "answer_latency_seconds": 0,
    "answer_latency_jitter_seconds": 0,
    "answer_latency_oauth": False,
}
