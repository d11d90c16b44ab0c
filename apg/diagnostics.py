"""Diagnose a tenant's M-Pesa accounts: the credential doctor (apg.processors.mpesa.doctor)
wired to its Daraja clients and to the payments domain, which carries the balance inquiry
that tests an initiator."""

from __future__ import annotations

import time
from collections.abc import Callable

from apg.errors import APGError, KeyModeMismatchError, NotFoundError
from apg.extensions import db
from apg.payments import queries
from apg.payments.models import PaymentTransaction
from apg.payments.service import NewPayment
from apg.processors.mpesa import accounts
from apg.processors.mpesa.doctor import AccountDiagnosis, Inquiry, Setup, diagnose_account
from apg.processors.mpesa.processor import MpesaProcessor
from apg.services import Services
from apg.tenants.service import callback_token_for, get_tenant
from apg.webhooks.urls import callback_url_base

DEFAULT_WAIT_SECONDS = 15.0
POLL_SECONDS = 0.25
BALANCE = ("balance_inquiry",)
DECIDED = ("completed", "failed")  # a queue timeout is not: a late Result may still come


def diagnose(
    services: Services,
    tenant_id: str,
    account_id: str | None = None,
    *,
    wait_seconds: float = DEFAULT_WAIT_SECONDS,
    balance_inquiry: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    key_mode: str | None = None,
) -> list[AccountDiagnosis]:
    """Each of the tenant's M-Pesa accounts (or only `account_id`), checked step by step.

    An account with an initiator gets a new Account Balance inquiry (a real, harmless Daraja
    call) whose Result is awaited up to `wait_seconds`; `balance_inquiry` (with `account_id`)
    judges an earlier one instead. `key_mode`: the asking API key's (test | live), whose
    accounts alone are diagnosed (None, the CLI: all). Raises LookupError for an unknown tenant,
    NotFoundError for an account or inquiry that is not the tenant's, KeyModeMismatchError for
    `account_id` of the other mode.
    """
    tenant = get_tenant(tenant_id)
    if tenant is None:
        raise LookupError(f"no tenant {tenant_id}")
    rows = [a for a in accounts.accounts_of(tenant_id) if account_id in (None, a.id)]
    if account_id is not None and not rows:
        raise NotFoundError(f"No such M-Pesa account: {account_id!r}.", param="account_id")
    if key_mode is not None:
        usable = accounts.environments_for(key_mode)
        if account_id is not None and rows[0].environment not in usable:
            message = accounts.wrong_mode(account_id, key_mode)
            raise KeyModeMismatchError(message, param="account_id", account_id=account_id)
        rows = [row for row in rows if row.environment in usable]
    if balance_inquiry is not None:
        _require_inquiry(tenant_id, account_id, balance_inquiry)
    inquiries = RecordedInquiries(services, tenant_id, wait_seconds, sleep, key_mode)
    setup = _setup(services, tenant_id, inquiries)
    for row in rows:
        db.session.expunge(row)  # a snapshot: no read transaction held while Daraja answers
    db.session.commit()
    return [diagnose_account(row, setup, balance_inquiry) for row in rows]


def _require_inquiry(tenant_id: str, account_id: str | None, inquiry_id: str) -> None:
    """An earlier balance inquiry is judged for the one account that made it."""
    if account_id is None:
        raise ValueError("name the account whose balance inquiry is to be judged")
    found = db.session.get(PaymentTransaction, inquiry_id)
    if (
        found is None
        or (found.tenant_id, found.account_id) != (tenant_id, account_id)
        or found.transaction_type not in BALANCE
    ):
        raise NotFoundError(
            f"No balance inquiry {inquiry_id!r} of account {account_id}.", param="balance_inquiry"
        )


def _setup(services: Services, tenant_id: str, inquiries: RecordedInquiries) -> Setup:
    processor = services.processors.get("mpesa")
    if not isinstance(processor, MpesaProcessor):
        raise TypeError("the mpesa processor is not an MpesaProcessor")
    settings = services.settings
    base_urls = {env: settings.base_url_for(env) for env in accounts.ENVIRONMENTS}
    public = settings.callbacks.public_base_url
    return Setup(
        client_for=processor.client_for,
        load_credentials=lambda account_id: accounts.load_credentials(
            account_id, services.secrets, base_urls
        ),
        now=services.clock.now,
        base_urls=base_urls,
        public_base_url=public,
        callback_url=callback_url_base(public, callback_token_for(tenant_id)),
        inquiries=inquiries,
        wait_seconds=inquiries.wait_seconds,
    )


class RecordedInquiries:
    """Balance inquiries the way the API makes them (payments.initiate), read back from the
    database, where the callback handler (in any process) records their Result."""

    def __init__(
        self,
        services: Services,
        tenant_id: str,
        wait_seconds: float,
        sleep: Callable[[float], None] = time.sleep,
        key_mode: str | None = None,
    ) -> None:
        self._services, self._tenant_id, self._key_mode = services, tenant_id, key_mode
        self.wait_seconds, self._sleep = wait_seconds, sleep

    def start(self, account_id: str) -> Inquiry:
        new = NewPayment(
            amount=None,
            currency="KES",
            phone_number=None,
            reference="",
            metadata={"created_by": "apg doctor"},
            payment_method_type="mpesa_balance",
            details={"remarks": "APG doctor"},
            account_id=account_id,
        )
        try:
            txn = self._services.payments.initiate(self._tenant_id, new, key_mode=self._key_mode)
            return inquiry_of(txn)
        except APGError as exc:  # refused or not sent: the failed inquiry says why
            recorded = exc.extra.get("payment")
            if isinstance(recorded, PaymentTransaction):
                return inquiry_of(recorded)
            return Inquiry(None, "failed", reason=exc.message)

    def wait(self, inquiry_id: str) -> Inquiry:
        """Polls the database until the Result is recorded or the wait is over."""
        deadline = time.monotonic() + self.wait_seconds
        while True:
            inquiry = self._read(inquiry_id)
            left = deadline - time.monotonic()
            if inquiry.status in DECIDED or left <= 0:
                return inquiry
            self._sleep(min(POLL_SECONDS, left))

    def _read(self, inquiry_id: str) -> Inquiry:
        """A fresh read (the Result is another request's commit), left in no transaction."""
        db.session.commit()
        inquiry = inquiry_of(
            queries.get_payment(self._tenant_id, inquiry_id, BALANCE, noun="balance inquiry")
        )
        db.session.commit()
        return inquiry


def inquiry_of(txn: PaymentTransaction) -> Inquiry:
    return Inquiry(txn.id, txn.status, txn.result_code, txn.result_desc, txn.status_reason)
