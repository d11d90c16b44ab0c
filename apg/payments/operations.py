"""What an operation is asked as (NewPayment), the plain-data view of a transaction for
processors, and the errors a refusal or an unavailable processor becomes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apg.errors import (
    ConfigurationError,
    InvalidRequestError,
    KeyModeMismatchError,
    PaymentFailedError,
    ProcessorUnavailableError,
    RateLimitedError,
)
from apg.payments import ports
from apg.payments.models import PaymentTransaction, ProcessorReference


@dataclass(frozen=True)
class NewPayment:
    """One operation to submit: a collection, a payout, an inquiry. `details` are the product's
    own request fields; `account_id` picks one of the tenant's accounts."""

    amount: int | None  # minor units; None for inquiries
    currency: str
    phone_number: str | None  # normalised 2547…/2541…
    reference: str
    description: str | None = None
    customer_id: str | None = None
    metadata: dict[str, Any] | None = None
    payment_method_type: str = "mpesa_stk"
    details: dict[str, Any] | None = None
    account_id: str | None = None


def operation_of(
    txn: PaymentTransaction, refs: tuple[ports.Ref, ...] | None = None
) -> ports.Operation:
    """The plain-data view of a transaction that crosses into a processor."""
    if refs is None:
        refs = tuple(ports.Ref(r.kind, r.value) for r in txn.refs)
    return ports.Operation(
        id=txn.id,
        tenant_id=txn.tenant_id,
        account_id=txn.account_id,
        transaction_type=txn.transaction_type,
        amount=txn.amount,
        currency=txn.currency,
        reference=txn.reference,
        phone_number=txn.phone_number,
        description=txn.description,
        refs=refs,
        details=(txn.processor_data or {}).get("request") or {},
    )


def reference_row(txn: PaymentTransaction, ref: ports.Ref, now: datetime) -> ProcessorReference:
    return ProcessorReference(
        transaction_id=txn.id,
        tenant_id=txn.tenant_id,
        processor=txn.processor,
        kind=ref.kind,
        value=ref.value,
        created_at=now,
    )


def account_refused(exc: ports.NoAccount, account_id: str | None) -> InvalidRequestError:
    """The error a refused account choice is: a 403 for an account of the other key mode (the
    processor's message says which key works with which accounts), else a 400 no_account."""
    if isinstance(exc, ports.WrongMode):
        return KeyModeMismatchError(str(exc), param="account_id", account_id=account_id)
    return InvalidRequestError(str(exc), code="no_account", param="account_id")


def misconfigured(
    tenant_id: str,
    account_id: str,
    answer: ports.Misconfigured,
    payment: PaymentTransaction | None = None,
) -> ConfigurationError:
    """The error an integrator and an operator can act on: which setting, which account."""
    return ConfigurationError(
        f"M-Pesa rejected the {answer.setting} of account {account_id}. This is the gateway's"
        " configuration, not the customer's decline: nobody was prompted or charged. An"
        f" operator should check the account (flask --app wsgi apg show-tenant --tenant"
        f" {tenant_id}), ask the credential doctor which credential is wrong (flask --app wsgi"
        f" apg doctor --tenant {tenant_id}) and replace the {answer.setting} (flask --app wsgi"
        f" apg update-credentials --account {account_id}); then retry with a new"
        " Idempotency-Key.",
        setting=answer.setting,
        account_id=account_id,
        daraja_code=answer.code,
        daraja_message=answer.message,
        payment=payment,
    )


def customer_busy(wait: int, **extra: Any) -> PaymentFailedError:
    return PaymentFailedError(
        "The customer already has an M-Pesa prompt open (another payment is waiting for"
        " their PIN), so M-Pesa sent no prompt for this payment, which has failed. Retry in"
        f" about {wait} seconds with a new Idempotency-Key.",
        code="customer_busy",
        retry_after=wait,
        **extra,
    )


def rate_limited(
    wait: int, payment: PaymentTransaction | None = None, **extra: Any
) -> RateLimitedError:
    """M-Pesa's throttling refused a request: with `payment`, the one that failed for it."""
    what = (
        "this request, which has failed: nobody was prompted or charged. Retry in about"
        f" {wait} seconds with a new Idempotency-Key."
        if payment is not None
        else f"this query; the payment is unchanged. Ask again in about {wait} seconds."
    )
    return RateLimitedError(
        f"M-Pesa is limiting how fast this account may call it, so it refused {what}",
        retry_after=wait,
        payment=payment,
        **extra,
    )


def processor_unavailable(
    wait: int, payment: PaymentTransaction | None = None
) -> ProcessorUnavailableError:
    """The processor sent nothing, its upstream being down (an open circuit breaker)."""
    what = (
        "this request, which has failed: nobody was prompted or charged. Retry in about"
        f" {wait} seconds with a new Idempotency-Key."
        if payment is not None
        else f"this query; the payment is unchanged. Ask again in about {wait} seconds."
    )
    return ProcessorUnavailableError(
        "M-Pesa has been failing for this account (its circuit breaker is open; GET"
        f" /health/ready shows it), so the gateway did not send {what}",
        retry_after=wait,
        payment=payment,
    )
