"""Onboard and administer merchants: tenants, their M-Pesa accounts and API keys, each change
in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import timedelta
from typing import Any, TypeVar

from apg.extensions import db
from apg.processors.mpesa import accounts
from apg.processors.mpesa.accounts import CredentialChanges, MpesaAccount, NewAccount
from apg.services import Services
from apg.tenants import service as tenants
from apg.tenants.models import ApiKey, Tenant
from apg.webhooks.urls import callback_url_base

T = TypeVar("T")


@dataclass(frozen=True)
class MerchantOverview:
    """A tenant as its operator or its own API key may see it: no secret but its callback
    URL token, which is the tenant's own."""

    tenant: Tenant
    callback_url_base: str  # + "/<kind>" is where Daraja posts that kind of callback
    mpesa_accounts: list[MpesaAccount]
    api_keys: list[ApiKey]
    api_key: ApiKey | None = None  # the key asking, when a key asks


def create_merchant(
    services: Services, name: str, account: NewAccount
) -> tuple[Tenant, MpesaAccount, str]:
    """Create a tenant with one M-Pesa account and a first API key (returned once).

    Raises ValueError naming what is wrong (a blank or taken name too); nothing is stored then.
    """
    now = services.clock.now()

    def create() -> tuple[Tenant, MpesaAccount, str]:
        tenant = tenants.add_tenant(name, now)
        row = accounts.add_account(tenant.id, account, services.secrets, now)
        mode = "live" if account.environment == "production" else "test"
        return tenant, row, tenants.add_api_key(tenant.id, mode, now)

    return _committed(create)


def add_merchant_account(services: Services, tenant_id: str, account: NewAccount) -> MpesaAccount:
    _require_tenant(tenant_id)
    now = services.clock.now()
    return _committed(lambda: accounts.add_account(tenant_id, account, services.secrets, now))


def update_account_credentials(
    services: Services, account_id: str, changes: CredentialChanges
) -> MpesaAccount:
    """Replace the given credentials of an M-Pesa account; see accounts.update_credentials."""
    return _committed(lambda: accounts.update_credentials(account_id, changes, services.secrets))


def rename_merchant(tenant_id: str, name: str) -> Tenant:
    return _committed(lambda: tenants.rename_tenant(tenant_id, name))


def issue_api_key(services: Services, tenant_id: str, mode: str | None = None) -> str:
    """A new key of `mode` (default: live if the tenant ever had a live key, else test)."""
    _require_tenant(tenant_id)
    now = services.clock.now()
    mode = mode or tenants.key_mode_for(tenant_id)
    return _committed(lambda: tenants.add_api_key(tenant_id, mode, now))


def revoke_api_key(services: Services, key_id: str) -> tuple[ApiKey, bool]:
    """The key, and True if this call revoked it (False: it was already revoked)."""
    now = services.clock.now()
    return _committed(lambda: tenants.revoke_api_key(key_id, now))


def rotate_api_key(services: Services, key_id: str, grace: timedelta) -> tenants.Rotation:
    now = services.clock.now()
    return _committed(lambda: tenants.rotate_api_key(key_id, now, grace))


def describe_merchant(
    services: Services, tenant_id: str, api_key: str | None = None
) -> MerchantOverview:
    """A tenant, its M-Pesa accounts (no secrets) and keys; `api_key`: the key asking.

    Raises LookupError for an unknown tenant.
    """
    tenant = _require_tenant(tenant_id)
    # The URL of a callback kind minus the kind: the base every kind's URL starts with.
    base = callback_url_base(services.settings.callbacks.public_base_url, tenant.callback_token)
    return MerchantOverview(
        tenant=tenant,
        callback_url_base=base,
        mpesa_accounts=accounts.accounts_of(tenant_id),
        api_keys=tenants.api_keys_of(tenant_id),
        api_key=tenants.key_by_secret(api_key) if api_key else None,
    )


def ensure_default_merchant(services: Services) -> tuple[Tenant, str]:
    """The configured default tenant (created if missing) and a fresh API key for it."""
    d = services.settings.default_tenant
    tenant = tenants.find_tenant_by_name(d.name)
    if tenant is not None:
        return tenant, issue_api_key(services, tenant.id)
    values: dict[str, Any] = {f.name: getattr(d, f.name, None) for f in fields(NewAccount)}
    values["kind"] = d.shortcode_kind
    demo = _emulator_initiator(services) if d.environment == "emulator" else {}
    tenant, _, api_key = create_merchant(services, d.name, NewAccount(**{**values, **demo}))
    if demo:  # the emulator's demo merchant also pays out, from sandbox-like B2C 600000
        payouts = NewAccount(**{**values, **demo, "kind": "b2c", "shortcode": "600000"})
        add_merchant_account(services, tenant.id, replace(payouts, passkey=None))
    return tenant, api_key


def _emulator_initiator(services: Services) -> dict[str, str]:
    """The emulator's (public) API operator, so the demo tenant can use every product."""
    operators = getattr(services.settings.emulator, "initiators", ())
    if not operators:
        return {}
    return {"initiator_name": operators[0].name, "initiator_password": operators[0].password}


def _require_tenant(tenant_id: str) -> Tenant:
    tenant = tenants.get_tenant(tenant_id)
    if tenant is None:
        raise LookupError(f"no tenant {tenant_id}")
    return tenant


def _committed(change: Callable[[], T]) -> T:
    """Run `change` and commit it, or roll everything back if it raises."""
    try:
        result = change()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return result


def reencrypt_secrets(services: Services) -> dict[str, int]:
    """After a new key is put first in APG_ENCRYPTION_KEY: move every stored secret to it."""
    moved = _committed(lambda: accounts.reencrypt_secrets(services.secrets))
    return {"accounts": moved[0], "secrets": moved[1]}
