"""A tenant's M-Pesa accounts: environment, shortcode and kind, encrypted Daraja secrets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from apg.crypto import KEYGEN_COMMAND, SecretBox
from apg.dbtypes import UTCDateTime, new_id
from apg.extensions import db

ENVIRONMENTS = ("emulator", "sandbox", "production")
# The environments an API key of each mode may use (the core knows only the modes).
MODE_ENVIRONMENTS = {"test": ("emulator", "sandbox"), "live": ("production",)}
MODE_OTHER = {"test": "live", "live": "test"}
MODE_RULE = "test keys use only emulator and sandbox accounts, live keys only production ones"
KINDS = ("paybill", "till", "b2c", "b2b")
# Kinds that can take an STK Push (Lipa na M-Pesa Online): they need a passkey.
STK_KINDS = ("paybill", "till")


class MpesaAccount(db.Model):  # type: ignore[name-defined]
    """One Daraja app + shortcode of a tenant. Secrets are Fernet ciphertext."""

    __tablename__ = "mpesa_accounts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    environment: Mapped[str] = mapped_column(String(16))  # emulator | sandbox | production
    base_url: Mapped[str | None] = mapped_column(String(255), nullable=True)
    shortcode: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(8))  # paybill | till | b2c | b2b
    store_number: Mapped[str | None] = mapped_column(String(10), nullable=True)
    consumer_key_enc: Mapped[str] = mapped_column(String(512))
    consumer_secret_enc: Mapped[str] = mapped_column(String(512))
    passkey_enc: Mapped[str | None] = mapped_column(String(512), nullable=True)
    initiator_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    initiator_password_enc: Mapped[str | None] = mapped_column(String(512), nullable=True)
    b2c_version: Mapped[str | None] = mapped_column(String(4), nullable=True)  # v3 unless "v1"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class Shortcode:
    """How a shortcode appears in an STK Push (derived, never asked of merchants)."""

    business_short_code: str
    party_b: str
    transaction_type: str

    @classmethod
    def for_kind(cls, kind: str, shortcode: str, store_number: str | None) -> Shortcode:
        if kind == "till":
            if not store_number:
                raise ValueError("a till needs its store number")
            return cls(store_number, shortcode, "CustomerBuyGoodsOnline")
        return cls(shortcode, shortcode, "CustomerPayBillOnline")


@dataclass(frozen=True)
class NewAccount:
    environment: str
    shortcode: str
    kind: str
    consumer_key: str
    consumer_secret: str
    passkey: str | None = None
    store_number: str | None = None
    base_url: str | None = None
    initiator_name: str | None = None
    initiator_password: str | None = None
    b2c_version: str | None = None  # B2C payouts: v3 (default, our OriginatorConversationID) or v1

    def __repr__(self) -> str:
        return f"NewAccount({self.environment}, {self.kind} {self.shortcode})"


@dataclass(frozen=True)
class Credentials:
    """Decrypted; lives only in memory, never logged (the repr hides every secret)."""

    account_id: str
    base_url: str
    shortcode: Shortcode
    consumer_key: str
    consumer_secret: str
    passkey: str | None
    initiator_name: str | None = None
    initiator_password: str | None = None
    environment: str = "emulator"  # whose certificate encrypts the initiator password
    number: str = ""  # the shortcode itself (PartyA of B2C, B2B, balance, status, reversal)
    options: Mapping[str, str] = field(default_factory=dict)  # e.g. {"b2c_version": "v1"}

    def __repr__(self) -> str:
        return f"Credentials({self.account_id}, {self.base_url}, {self.shortcode})"


def add_account(tenant_id: str, new: NewAccount, box: SecretBox, now: datetime) -> MpesaAccount:
    """Add an account to the session (the caller commits). Raises ValueError naming the fault."""
    check(new, box)
    account = MpesaAccount(
        id=new_id("mpa"),
        tenant_id=tenant_id,
        environment=new.environment,
        base_url=new.base_url,
        shortcode=new.shortcode,
        kind=new.kind,
        store_number=new.store_number,
        consumer_key_enc=box.encrypt(new.consumer_key),
        consumer_secret_enc=box.encrypt(new.consumer_secret),
        passkey_enc=box.encrypt(new.passkey) if new.passkey else None,
        initiator_name=new.initiator_name,
        initiator_password_enc=(
            box.encrypt(new.initiator_password) if new.initiator_password else None
        ),
        b2c_version=new.b2c_version,
        created_at=now,
    )
    db.session.add(account)
    return account


@dataclass(frozen=True)
class CredentialChanges:
    """New values for an account's credentials; None leaves one as it is."""

    consumer_key: str | None = None
    consumer_secret: str | None = None
    passkey: str | None = None
    initiator_name: str | None = None
    initiator_password: str | None = None

    def __repr__(self) -> str:
        return f"CredentialChanges({', '.join(self.given())})"

    def given(self) -> dict[str, str]:
        return {name: value for name, value in asdict(self).items() if value is not None}


def update_credentials(account_id: str, changes: CredentialChanges, box: SecretBox) -> MpesaAccount:
    """Replace the given credentials, encrypted afresh (the caller commits).

    New consumer keys mint a new OAuth token: tokens are cached by a fingerprint of the base URL,
    key and secret. Raises LookupError for an unknown account, ValueError naming the fault.
    """
    account = db.session.get(MpesaAccount, account_id)
    if account is None:
        raise LookupError(f"no M-Pesa account {account_id}")
    given = changes.given()
    if not given:
        raise ValueError("nothing to change: give at least one credential")
    if empty := [name for name, value in given.items() if not value.strip()]:
        raise ValueError(f"empty {', '.join(empty)}")
    _check_box(account.environment, box)
    for name, value in given.items():
        if name == "initiator_name":
            account.initiator_name = value
        else:
            setattr(account, f"{name}_enc", box.encrypt(value))
    return account


SECRET_COLUMNS = (
    "consumer_key_enc",
    "consumer_secret_enc",
    "passkey_enc",
    "initiator_password_enc",
)


def reencrypt_secrets(box: SecretBox) -> tuple[int, int]:
    """Every account's secrets encrypted under the newest key (the caller commits), so older
    keys can leave APG_ENCRYPTION_KEY. Returns (accounts, secrets) re-encrypted."""
    accounts = secrets = 0
    for account in db.session.execute(select(MpesaAccount).order_by(MpesaAccount.id)).scalars():
        accounts += 1
        for column in SECRET_COLUMNS:
            if (value := getattr(account, column)) is not None:
                setattr(account, column, box.rotate(value))
                secrets += 1
    return accounts, secrets


def check(new: NewAccount, box: SecretBox) -> None:
    if new.environment not in ENVIRONMENTS:
        raise ValueError(f"environment must be one of {', '.join(ENVIRONMENTS)}")
    _check_box(new.environment, box)
    if new.kind not in KINDS:
        raise ValueError(f"shortcode kind must be one of {', '.join(KINDS)}")
    if new.b2c_version not in (None, "v1", "v3"):
        raise ValueError("b2c version must be v1 or v3")
    if not new.shortcode.isdigit() or not 5 <= len(new.shortcode) <= 7:
        raise ValueError("shortcode must be 5-7 digits")
    if new.kind == "till" and not (new.store_number or "").isdigit():
        raise ValueError("a till needs its store number (digits)")
    if not (new.consumer_key and new.consumer_secret):
        raise ValueError("consumer key and consumer secret are required")
    if new.kind in STK_KINDS and not new.passkey:
        raise ValueError(f"a {new.kind} needs its Lipa na M-Pesa passkey")


def _check_box(environment: str, box: SecretBox) -> None:
    if environment != "emulator" and box.is_development_key:
        raise ValueError(
            f"refusing to store {environment} credentials under the public development"
            f" encryption key: set APG_ENCRYPTION_KEY first (make one with: {KEYGEN_COMMAND})"
        )


def accounts_of(tenant_id: str) -> list[MpesaAccount]:
    """Oldest first."""
    return list(
        db.session.execute(
            select(MpesaAccount)
            .where(MpesaAccount.tenant_id == tenant_id)
            .order_by(MpesaAccount.created_at, MpesaAccount.id)
        ).scalars()
    )


def stk_account_id(tenant_id: str) -> str | None:
    """The tenant's oldest account that can take an STK Push."""
    return db.session.execute(
        select(MpesaAccount.id)
        .where(MpesaAccount.tenant_id == tenant_id, MpesaAccount.kind.in_(STK_KINDS))
        .order_by(MpesaAccount.created_at, MpesaAccount.id)
        .limit(1)
    ).scalar_one_or_none()


def environments_for(mode: str | None) -> tuple[str, ...]:
    """The environments an API key of `mode` may use; None (an operator, no key): all."""
    return ENVIRONMENTS if mode is None else MODE_ENVIRONMENTS[mode]


def wrong_mode(account_id: str, mode: str) -> str:
    """Why a key of `mode` may not use this account (of the other mode), and which key may."""
    query = select(MpesaAccount.environment).where(MpesaAccount.id == account_id)
    environment, other = db.session.execute(query).scalar_one(), MODE_OTHER[mode]
    return (
        f"Account {account_id} ({environment}) is not for a {mode} key: {MODE_RULE}. Use a"
        f" {other} key (apg_{other}_…), or one of your {' or '.join(MODE_ENVIRONMENTS[mode])}"
        " accounts."
    )


def choose_account(
    tenant_id: str,
    kinds: tuple[str, ...],
    preferred: str | None,
    initiator: bool,
    environments: tuple[str, ...] = ENVIRONMENTS,
) -> str | None:
    """The tenant's `preferred` account if it fits, else its oldest that does: of one of
    `kinds` and `environments`, with an initiator when the product needs one."""
    query = select(MpesaAccount.id).where(
        MpesaAccount.tenant_id == tenant_id,
        MpesaAccount.kind.in_(kinds),
        MpesaAccount.environment.in_(environments),
    )
    if initiator:
        query = query.where(
            MpesaAccount.initiator_name.is_not(None),
            MpesaAccount.initiator_password_enc.is_not(None),
        )
    if preferred is not None:
        query = query.where(MpesaAccount.id == preferred)
    order = (MpesaAccount.created_at, MpesaAccount.id)
    return db.session.execute(query.order_by(*order).limit(1)).scalar_one_or_none()


def load_credentials(account_id: str, box: SecretBox, base_url_for: dict[str, str]) -> Credentials:
    """Decrypted credentials, read in a short session of their own so that a processor calling
    Daraja next holds no transaction (nor pooled connection) of the caller's open."""
    with Session(db.engine) as session:
        row = session.get(MpesaAccount, account_id)
        if row is None:
            raise LookupError(f"no M-Pesa account {account_id}")
        session.expunge(row)

    def secret(value: str | None) -> str | None:
        return box.decrypt(value) if value else None

    return Credentials(
        account_id=row.id,
        base_url=row.base_url or base_url_for[row.environment],
        shortcode=Shortcode.for_kind(row.kind, row.shortcode, row.store_number),
        consumer_key=box.decrypt(row.consumer_key_enc),
        consumer_secret=box.decrypt(row.consumer_secret_enc),
        passkey=secret(row.passkey_enc),
        initiator_name=row.initiator_name,
        initiator_password=secret(row.initiator_password_enc),
        environment=row.environment,
        number=row.shortcode,
        options={"b2c_version": row.b2c_version} if row.b2c_version else {},
    )
