"""Onboard merchants: a tenant, its first M-Pesa account and an API key, in one transaction."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from apg.extensions import db
from apg.processors.mpesa.accounts import MpesaAccount, NewAccount, add_account
from apg.services import Services
from apg.tenants import service as tenants
from apg.tenants.models import Tenant


def create_merchant(
    services: Services, name: str, account: NewAccount
) -> tuple[Tenant, MpesaAccount, str]:
    """Create a tenant with one M-Pesa account and a first API key (returned once).

    Raises ValueError naming what is wrong; nothing is stored then.
    """
    now = services.clock.now()
    try:
        tenant = tenants.add_tenant(name, now)
        row = add_account(tenant.id, account, services.secrets, now)
        mode = "live" if account.environment == "production" else "test"
        api_key = tenants.add_api_key(tenant.id, mode, now)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return tenant, row, api_key


def add_merchant_account(services: Services, tenant_id: str, account: NewAccount) -> MpesaAccount:
    if tenants.get_tenant(tenant_id) is None:
        raise LookupError(f"no tenant {tenant_id}")
    try:
        row = add_account(tenant_id, account, services.secrets, services.clock.now())
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return row


def issue_api_key(services: Services, tenant_id: str) -> str:
    if tenants.get_tenant(tenant_id) is None:
        raise LookupError(f"no tenant {tenant_id}")
    api_key = tenants.add_api_key(tenant_id, tenants.key_mode_for(tenant_id), services.clock.now())
    db.session.commit()
    return api_key


def ensure_default_merchant(services: Services) -> tuple[Tenant, str]:
    """The configured default tenant (created if missing) and a fresh API key for it."""
    d = services.settings.default_tenant
    tenant = tenants.find_tenant_by_name(d.name)
    if tenant is not None:
        return tenant, issue_api_key(services, tenant.id)
    values: dict[str, Any] = {f.name: getattr(d, f.name, None) for f in fields(NewAccount)}
    values["kind"] = d.shortcode_kind
    tenant, _, api_key = create_merchant(services, d.name, NewAccount(**values))
    return tenant, api_key
