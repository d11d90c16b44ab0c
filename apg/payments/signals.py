"""Domain signals. `payment_accepted` lets the webhook inbox apply callbacks that raced ahead."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# Sent (sender=the PaymentTransaction) after a payment moves to processing and is committed.
payment_accepted = _signals.signal("payment-accepted")
