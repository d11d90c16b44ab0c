"""Create tenants and keys, authenticate API keys, hand out decrypted credentials."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, fields

from sqlalchemy import select
from sqlalchemy.orm import Session

from apg.crypto import digest
from apg.dbtypes import new_id
from apg.extensions import db
from apg.processors.mpesa.mapping import Shortcode
from apg.services import services
from apg.tenants.models import ApiKey, MpesaCredential, Tenant

ENVIRONMENTS = ("emulator", "sandbox", "production")
SHORTCODE_KINDS = ("paybill", "till")


@dataclass(frozen=True)
class MpesaCredentials:
    """Decrypted credentials; lives only in memory, never logged (repr hides secrets)."""

    credential_id: str
    base_url: str
    shortcode: Shortcode
    consumer_key: str
    consumer_secret: str
    passkey: str

    def __repr__(self) -> str:
        return f"MpesaCredentials({self.credential_id}, {self.base_url}, {self.shortcode})"


@dataclass(frozen=True)
class NewCredentials:
    environment: str
    shortcode: str
    shortcode_kind: str
    consumer_key: str
    consumer_secret: str
    passkey: str
    store_number: str | None = None
    base_url: str | None = None

    def __repr__(self) -> str:
        return f"NewCredentials({self.environment}, {self.shortcode_kind} {self.shortcode})"


def create_tenant(name: str, credentials: NewCredentials) -> tuple[Tenant, str]:
    """Create a tenant with its M-Pesa credentials and a first API key (returned once)."""
    _check_credentials(credentials)
    box, now = services().secrets, services().clock.now()
    tenant = Tenant(
        id=new_id("ten"), name=name, callback_token=secrets.token_hex(20), created_at=now
    )
    db.session.add(tenant)
    db.session.flush()  # parent row first: no relationship() tells the unit of work the order
    db.session.add(
        MpesaCredential(
            id=new_id("mpc"),
            tenant_id=tenant.id,
            environment=credentials.environment,
            base_url=credentials.base_url,
            shortcode=credentials.shortcode,
            shortcode_kind=credentials.shortcode_kind,
            store_number=credentials.store_number,
            consumer_key_enc=box.encrypt(credentials.consumer_key),
            consumer_secret_enc=box.encrypt(credentials.consumer_secret),
            passkey_enc=box.encrypt(credentials.passkey),
            created_at=now,
        )
    )
    db.session.flush()
    api_key = _add_api_key(tenant.id, credentials.environment)
    db.session.commit()
    return tenant, api_key


def ensure_default_tenant() -> tuple[Tenant, str]:
    """The configured default tenant (created if missing) and a fresh API key for it."""
    d = services().settings.default_tenant
    tenant = find_tenant_by_name(d.name)
    if tenant is not None:
        return tenant, create_api_key(tenant.id)
    credentials = NewCredentials(**{f.name: getattr(d, f.name) for f in fields(NewCredentials)})
    return create_tenant(d.name, credentials)


def create_api_key(tenant_id: str) -> str:
    credential = _credential_row(tenant_id)
    if credential is None:
        raise LookupError(f"no tenant {tenant_id}")
    api_key = _add_api_key(tenant_id, credential.environment)
    db.session.commit()
    return api_key


def authenticate(api_key: str) -> Tenant | None:
    """The tenant owning an active key, or None. Looks up by digest, never by plaintext."""
    row = db.session.execute(
        select(Tenant)
        .join(ApiKey, ApiKey.tenant_id == Tenant.id)
        .where(ApiKey.key_hash == digest(api_key), ApiKey.revoked_at.is_(None))
    ).scalar_one_or_none()
    return row


def tenant_by_callback_token(token: str) -> Tenant | None:
    return db.session.execute(
        select(Tenant).where(Tenant.callback_token == token)
    ).scalar_one_or_none()


def callback_token_for(tenant_id: str) -> str:
    with Session(db.engine) as session:  # own short read: see mpesa_credentials
        return session.execute(
            select(Tenant.callback_token).where(Tenant.id == tenant_id)
        ).scalar_one()


def find_tenant_by_name(name: str) -> Tenant | None:
    return (
        db.session.execute(select(Tenant).where(Tenant.name == name).order_by(Tenant.created_at))
        .scalars()
        .first()
    )


def mpesa_credentials(tenant_id: str) -> MpesaCredentials:
    """Decrypted credentials, read in a short session of its own so that a processor calling
    Daraja next holds no transaction (nor pooled connection) of the caller's open."""
    with Session(db.engine) as session:
        row = _credential_row(tenant_id, session)
    if row is None:
        raise LookupError(f"tenant {tenant_id} has no M-Pesa credentials")
    box = services().secrets
    return MpesaCredentials(
        credential_id=row.id,
        base_url=row.base_url or services().settings.base_url_for(row.environment),
        shortcode=Shortcode.for_kind(row.shortcode_kind, row.shortcode, row.store_number),
        consumer_key=box.decrypt(row.consumer_key_enc),
        consumer_secret=box.decrypt(row.consumer_secret_enc),
        passkey=box.decrypt(row.passkey_enc),
    )


def credential_id_for(tenant_id: str) -> str:
    """The id of the tenant's M-Pesa credential (the payment's merchant_id); no decryption."""
    return db.session.execute(
        select(MpesaCredential.id).where(MpesaCredential.tenant_id == tenant_id)
    ).scalar_one()


def _credential_row(tenant_id: str, session: Session | None = None) -> MpesaCredential | None:
    return (
        (session or db.session)
        .execute(select(MpesaCredential).where(MpesaCredential.tenant_id == tenant_id))
        .scalar_one_or_none()
    )


def _add_api_key(tenant_id: str, environment: str) -> str:
    mode = "live" if environment == "production" else "test"
    api_key = f"apg_{mode}_{secrets.token_urlsafe(32)}"
    db.session.add(
        ApiKey(
            id=new_id("key"),
            tenant_id=tenant_id,
            mode=mode,
            prefix=api_key[:13],
            key_hash=digest(api_key),
            created_at=services().clock.now(),
        )
    )
    return api_key


def _check_credentials(c: NewCredentials) -> None:
    if c.environment not in ENVIRONMENTS:
        raise ValueError(f"environment must be one of {', '.join(ENVIRONMENTS)}")
    if c.shortcode_kind not in SHORTCODE_KINDS:
        raise ValueError(f"shortcode kind must be one of {', '.join(SHORTCODE_KINDS)}")
    if not c.shortcode.isdigit() or not 5 <= len(c.shortcode) <= 7:
        raise ValueError("shortcode must be 5-7 digits")
    if c.shortcode_kind == "till" and not (c.store_number or "").isdigit():
        raise ValueError("a till needs its store number (digits)")
    if not (c.consumer_key and c.consumer_secret and c.passkey):
        raise ValueError("consumer key, consumer secret and passkey are required")
