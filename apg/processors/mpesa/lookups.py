"""The tenant's M-Pesa accounts as the processor looks them up: by key mode, by the number a
payment was sent to, and by what a report may name them (the cross-check's side of it)."""

from __future__ import annotations

import dataclasses

from sqlalchemy import Select, case, or_, select

from apg.extensions import db
from apg.payments import ports
from apg.processors.mpesa import accounts
from apg.processors.mpesa.catalog import ACCOUNT_KINDS, BY_TYPE
from apg.processors.mpesa.products import checks

Account = accounts.MpesaAccount


def account_for(
    tenant_id: str, transaction_type: str, preferred: str | None, mode: str | None
) -> str:
    """The account to carry `transaction_type`: `preferred` if the tenant's and fit, else the
    tenant's oldest fit one, among those a key of `mode` may use (None: any). Raises NoAccount,
    or WrongMode for the tenant's own fit account of the other mode."""
    kinds = ACCOUNT_KINDS[transaction_type]
    initiator = transaction_type in BY_TYPE
    environments = accounts.environments_for(mode)
    account_id = accounts.choose_account(tenant_id, kinds, preferred, initiator, environments)
    if account_id is not None:
        return account_id
    # The tenant's own account, fit for it but not for this key: say so (another tenant's,
    # or an unfit one, is answered as no account, exactly as an unknown id).
    if mode and preferred and accounts.choose_account(tenant_id, kinds, preferred, initiator):
        raise ports.WrongMode(accounts.wrong_mode(preferred, mode))
    which = f"account {preferred}" if preferred else "no account"
    needs = " with an initiator name and password" if initiator else ""
    keyed = f" usable by a {mode} key ({' or '.join(environments)})" if mode else ""
    raise ports.NoAccount(
        f"This tenant has {which} of kind {' or '.join(kinds)}{needs} for"
        f" {transaction_type}{keyed} (add one: flask --app wsgi apg add-account)."
    )


def accounts_of_mode(tenant_id: str, mode: str) -> frozenset[str]:
    """The tenant's accounts an API key of `mode` may use (test: emulator and sandbox)."""
    return frozenset(db.session.execute(accounts_of_mode_query(tenant_id, mode)).scalars())


def accounts_of_mode_query(tenant_id: str, mode: str) -> Select[str]:
    return select(Account.id).where(
        Account.tenant_id == tenant_id,
        Account.environment.in_(accounts.environments_for(mode)),
    )


def account_by_number(tenant_id: str, number: str) -> str | None:
    """The tenant's paybill or till with this shortcode (else a till with this store number):
    where a C2B payment to `number` belongs."""
    by_shortcode = Account.shortcode == number
    return db.session.execute(
        select(Account.id)
        .where(Account.tenant_id == tenant_id, Account.kind.in_(accounts.STK_KINDS))
        .where(or_(by_shortcode, Account.store_number == number))
        .order_by(case((by_shortcode, 0), else_=1), Account.created_at, Account.id)
        .limit(1)
    ).scalar_one_or_none()


def cross_check(operation: ports.Operation, outcome: ports.Outcome) -> tuple[str, ...]:
    """products.checks with the numbers M-Pesa may name the operation's account by (its
    shortcode, a till's store number). The sandbox names a test identity
    (254705912645 - NICHOLAS JOHN SONGOK) for whichever customer was paid (API.md §4.4, §15.3),
    so there the customer's phone is not compared; every other check is."""
    row = db.session.execute(
        select(Account.shortcode, Account.store_number, Account.environment).where(
            Account.id == operation.account_id
        )
    ).one_or_none()
    shortcode, store_number, environment = row or (None, None, None)
    if environment == "sandbox":
        operation = dataclasses.replace(operation, phone_number=None)
    numbers = frozenset(number for number in (shortcode, store_number) if number)
    return checks.mismatches(operation, outcome, numbers)
