"""apg.webhooks.verify_signature: what a merchant copies to check APG-Signature."""

from __future__ import annotations

import pytest

from apg.notifications.signing import sign
from apg.webhooks import verify_signature

BODY = b'{"id": "evt_1", "type": "payment.completed"}'
SECRET = "whsec_test"
T = 1_767_600_000


def test_a_signature_made_with_the_secret_verifies() -> None:
    assert verify_signature(BODY, sign(BODY, SECRET, T), SECRET, now=T + 10)


@pytest.mark.parametrize(
    ("body", "header", "secret", "now"),
    [
        (BODY + b" ", sign(BODY, SECRET, T), SECRET, T),  # the body changed
        (BODY, sign(BODY, SECRET, T), "whsec_other", T),  # another secret
        (BODY, sign(BODY, SECRET, T), SECRET, T + 301),  # stale: a replay
        (BODY, sign(BODY, SECRET, T), SECRET, T - 301),  # from the future
        (BODY, f"t={T}", SECRET, T),  # no signature
        (BODY, sign(BODY, SECRET, T).replace(f"t={T}", f"t={T + 1}"), SECRET, T),  # moved t
        (BODY, "v1=abc", SECRET, T),  # no timestamp
        (BODY, "", SECRET, T),
        (BODY, "t=x,v1=y", SECRET, T),
    ],
)
def test_anything_else_does_not(body: bytes, header: str, secret: str, now: int) -> None:
    assert not verify_signature(body, header, secret, now=now)


def test_any_of_several_v1_signatures_may_match() -> None:
    header = sign(BODY, SECRET, T) + ",v1=" + "0" * 64
    assert verify_signature(BODY, header, SECRET, now=T)
    other = sign(BODY, "whsec_old", T).replace(f"t={T},", "")
    assert verify_signature(BODY, f"{sign(BODY, SECRET, T)},{other}", "whsec_old", now=T)
