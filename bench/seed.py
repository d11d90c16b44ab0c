"""Seed a PostgreSQL database with many realistic transactions, fast (issue 11, scale).

    .venv/bin/python bench/seed.py --database-url postgresql://postgres@127.0.0.1/apg_seed1m \
        --rows 1000000 --tenants 4 --output /tmp/apg_seed1m.json

Migrates the database (flask db upgrade), then creates the tenants through the app's own
services (apg.onboarding: an emulator paybill, an emulator B2C account, a test API key, and a
webhook endpoint for every event), then streams every row a real payment leaves behind with
PostgreSQL COPY (psycopg 3), one connection per table so the server parses and indexes the
tables in parallel while Python generates them:

- payment_transactions: STK Pushes (85 %), C2B payments (10 %) and B2C payouts (5 %), created
  over the last `--days` (90) in time order, tenants weighted 1, 1/2, 1/3…; STK mostly
  completed, some failed (a declined PIN, insufficient funds, the customer busy), cancelled,
  timed out, a few held for review or of unknown outcome; the last minutes still pending or
  processing; integer minor units, Kenyan MSISDNs from each tenant's customer base.
- payment_methods (one per tenant and phone, as apg.payments.methods records them),
  processor_references (CheckoutRequestID + MerchantRequestID, TransID, ConversationID +
  OriginatorConversationID), payment_events (created, each transition, conflicts),
  inbound_callbacks (the raw Daraja body of every callback, C2B validation and confirmation,
  a few duplicates), and, for the last retention.events_days (30) only, as housekeeping would
  have purged the rest: outbox_events, webhook_deliveries and webhook_attempts.

Then VACUUM ANALYZE. Prints the tenants (id, API key, account ids) and the timings; `seed()`
returns them for other scripts (bench/explain.py). Use a database of its own: rows are
appended, never deleted. The Fernet key (`--encryption-key`, else APG_ENCRYPTION_KEY, else a new
one, printed) must be the gateway's when it serves this database.
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import itertools
import json
import multiprocessing
import os
import random
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy.engine import make_url

# Run as a file: `apg` is importable from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SANDBOX_PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"
INITIATOR = {"initiator_name": "testapi", "initiator_password": "Safaricom999!*!"}
DARAJA_IPS = ("196.201.214.200", "196.201.214.206", "196.201.213.114", "196.201.214.207")
EVENTS_DAYS = 30  # RetentionSettings.events_days: older merchant events are purged
US = 1_000_000  # microseconds in a second
DAY_US = 86_400 * US


@dataclass(frozen=True)
class SeededTenant:
    id: str
    name: str
    api_key: str  # a test key: it reads both accounts (emulator)
    account_id: str  # the emulator paybill 174379: STK Push and C2B
    payout_account_id: str  # the emulator B2C shortcode 600000


@dataclass
class SeedReport:
    tenants: list[SeededTenant]
    encryption_key: str
    rows: dict[str, int]
    seconds: dict[str, float]


# --- the app's own services: migrations, tenants, accounts, keys, webhook endpoints ---------


def bench_app(database_url: str, encryption_key: str) -> Flask:
    """The gateway's app on `database_url` (no default tenant; quiet logs)."""
    from apg import create_app

    return create_app(
        {
            "app.database_url": database_url,
            "security.encryption_key": encryption_key,
            "security.secret_key": "bench-seed",
            "monitoring.log_level": "WARNING",
            "default_tenant.enabled": False,
        }
    )


def migrate(app: Flask) -> None:
    import flask_migrate

    with app.app_context():
        flask_migrate.upgrade()


def make_tenants(app: Flask, count: int, tag: str | None = None) -> list[SeededTenant]:
    """`count` emulator tenants as an operator onboards them: a paybill with a passkey, a B2C
    account, a test API key and a webhook endpoint for every event. Committed."""
    from apg import onboarding
    from apg.notifications import endpoints
    from apg.processors.mpesa.accounts import NewAccount

    tag = tag or secrets.token_hex(3)
    made = []
    with app.app_context():
        services = app.extensions["apg"]
        for number in range(1, count + 1):
            name = f"Bench merchant {number:03d} ({tag})"
            paybill = NewAccount(
                environment="emulator",
                shortcode="174379",
                kind="paybill",
                consumer_key="apg-emulator-key",
                consumer_secret="apg-emulator-secret",
                passkey=SANDBOX_PASSKEY,
                **INITIATOR,
            )
            tenant, account, api_key = onboarding.create_merchant(services, name, paybill)
            payouts = NewAccount(
                environment="emulator",
                shortcode="600000",
                kind="b2c",
                consumer_key="apg-emulator-key",
                consumer_secret="apg-emulator-secret",
                **INITIATOR,
            )
            payout = onboarding.add_merchant_account(services, tenant.id, payouts)
            endpoints.create(
                endpoints.Owner(tenant.id, "test"),
                {"url": f"https://hooks.merchant{number:03d}.example/apg", "event_types": ["*"]},
                services.secrets,
                services.clock.now(),
                production=False,
            )
            made.append(SeededTenant(tenant.id, name, api_key, account.id, payout.id))
    return made


def endpoint_ids(conninfo: str, tenant_ids: list[str]) -> dict[str, str]:
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT tenant_id, id FROM webhook_endpoints WHERE tenant_id = ANY(%s)", [tenant_ids]
        ).fetchall()
    return {tenant_id: endpoint_id for tenant_id, endpoint_id in rows}


# --- row generation -----------------------------------------------------------------------


EPOCH = datetime(1970, 1, 1)


class Clock:
    """Microseconds since the epoch as PostgreSQL text (naive UTC, as UTCDateTime stores).
    A transaction's moments share a few seconds: each second is formatted once."""

    def __init__(self) -> None:
        self._seconds: dict[int, str] = {}

    def sql(self, us: int) -> str:
        second, micro = divmod(us, US)
        found = self._seconds.get(second)
        if found is None:
            if len(self._seconds) > 20_000:
                self._seconds.clear()
            found = self._seconds[second] = str(EPOCH + timedelta(seconds=second))
        return f"{found}.{micro:06d}"

    def iso(self, us: int) -> str:
        """As the API and webhook payloads show it (isoformat of an aware UTC datetime)."""
        text = self.sql(us)
        return f"{text[:10]}T{text[11:]}+00:00"

    def daraja(self, us: int) -> str:
        """YYYYMMDDHHMMSS in Nairobi time (UTC+3), as Daraja writes TransactionDate."""
        text = self.sql(us + 3 * 3600 * US)
        return f"{text[0:4]}{text[5:7]}{text[8:10]}{text[11:13]}{text[14:16]}{text[17:19]}"


RECEIPT_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def receipt(number: int) -> str:
    """A unique 10-character M-Pesa receipt (UKQ…-like), scrambled from a counter."""
    scrambled = (number * 2_654_435_761 + 97_531) % (36**9)
    chars = []
    for _ in range(9):
        scrambled, digit = divmod(scrambled, 36)
        chars.append(RECEIPT_LETTERS[digit])
    return "U" + "".join(chars)


STK_OUTCOMES = (  # status, weight
    ("completed", 80.0),
    ("failed", 9.0),
    ("cancelled", 6.5),
    ("timeout", 4.0),
    ("busy", 0.3),  # refused at submit: failed, no prompt, no callback
    ("review", 0.1),
    ("unknown", 0.1),
)
STK_FAILURES = (
    ("1", "The balance is insufficient for the transaction."),
    ("2001", "The initiator information is invalid."),
)
STK_RESULTS = {
    "completed": ("0", "The service request is processed successfully."),
    "cancelled": ("1032", "Request cancelled by user"),
    "timeout": ("1037", "DS timeout user cannot be reached"),
    "review": ("0", "The service request is processed successfully."),
}
BUSY = (
    "500.001.1001",
    "Unable to lock subscriber, a transaction is already in process for the current subscriber",
)
B2C_OUTCOMES = (("completed", 92.0), ("failed", 7.5), ("timeout", 0.5))
B2C_FAILURE = ("2001", "The initiator information is invalid.")
ANNOUNCED = frozenset({"completed", "failed", "cancelled", "timeout", "review"})
RECENT_US = 180 * US  # younger than this, an STK Push may still be pending or processing
CONFLICT_SHARE = 0.0005  # completed STK payments a later report contradicted (counted, kept)
DUPLICATE_SHARE = 0.01  # callbacks Daraja sent twice


class Streams:
    """One COPY per table, each on its own connection, buffered."""

    COLUMNS = {
        "payment_transactions": (
            "id, tenant_id, transaction_type, processor, account_id, payment_method_id,"
            " payment_method_type, customer_id, amount, currency, description, reference,"
            " phone_number, status, status_reason, receipt, paid_amount, result_code,"
            " result_desc, transaction_date, processor_data, conflicts, idempotency_key,"
            " metadata, created_at, updated_at, finalized_at, reconcile_after,"
            " reconcile_attempts"
        ),
        "processor_references": "id, transaction_id, tenant_id, processor, kind, value, created_at",
        "payment_events": (
            "id, payment_id, tenant_id, kind, from_status, to_status, source, detail, created_at"
        ),
        "inbound_callbacks": (
            "id, kind, processor, tenant_id, raw_body, body_size, content_type, source_ip,"
            " received_at, ref_kind, ref_value, outcome, processed_at, error, payment_id"
        ),
        "outbox_events": "id, tenant_id, payment_id, type, payload, created_at, delivered_at",
        "webhook_deliveries": (
            "id, tenant_id, event_id, endpoint_id, status, attempts, next_attempt_at,"
            " last_status_code, delivered_at, created_at, updated_at"
        ),
        "webhook_attempts": "id, delivery_id, status_code, latency_ms, response, at",
    }

    def __init__(self, stack: ExitStack, conninfo: str, columns: dict[str, str]) -> None:
        self.copies: dict[str, Any] = {}
        self.counts: dict[str, int] = {}
        for table, names in columns.items():
            conn = stack.enter_context(psycopg.connect(conninfo))
            types = _column_types(conn, table, [n.strip() for n in names.split(",")])
            _fast_load_session(conn)
            cursor = stack.enter_context(conn.cursor())
            copy = stack.enter_context(
                cursor.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)")
            )
            copy.set_types(types)
            self.copies[table] = copy
            self.counts[table] = 0

    def row(self, table: str, values: tuple[Any, ...]) -> None:
        self.copies[table].write_row(values)
        self.counts[table] += 1


def _column_types(conn: psycopg.Connection[Any], table: str, names: list[str]) -> list[str]:
    """Each column's type for binary COPY; json as text (its binary form is its text)."""
    found = dict(
        conn.execute(
            "SELECT column_name, udt_name FROM information_schema.columns WHERE table_name = %s",
            [table],
        ).fetchall()
    )
    conn.rollback()
    return ["text" if found[n] in ("json", "varchar") else found[n] for n in names]


def _fast_load_session(conn: psycopg.Connection[Any]) -> None:
    """No foreign-key triggers while loading rows generated consistent (superuser only), and no
    waiting for the WAL flush at commit."""
    conn.execute("SET synchronous_commit = off")
    try:
        conn.execute("SET session_replication_role = replica")
    except psycopg.errors.InsufficientPrivilege:
        conn.rollback()
        conn.execute("SET synchronous_commit = off")


N = None  # NULL


def _json(value: Any) -> str:
    return json.dumps(value, separators=(", ", ": "))


def at_(us: int) -> datetime:
    """Naive UTC, as UTCDateTime stores (a float's microsecond at most: the fastest way)."""
    return datetime.utcfromtimestamp(us / US)


def _v(value: str | int | None) -> str:
    """A JSON value, for the hot paths' f-string documents (no string here needs escaping)."""
    if value is None:
        return "null"
    return f'"{value}"' if isinstance(value, str) else str(value)


def _draw(rng: random.Random, choices: tuple[str, ...], cumulative: list[float]) -> str:
    return choices[bisect.bisect(cumulative, rng.random() * cumulative[-1])]


def _customers(rng: random.Random, count: int) -> list[str]:
    """A tenant's customers: Safaricom (2547…) and newer (2541…) MSISDNs."""
    found: set[str] = set()
    while len(found) < count:
        found.add(f"254{rng.choice('711111117')}{rng.randrange(10**8):08d}")
    return sorted(found)


def method_id(tenant_id: str, phone: str) -> str:
    """The tenant's payment method for `phone`: the same id in every chunk."""
    return "pm_" + hashlib.sha256(f"{tenant_id}:{phone}".encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Plan:
    rows: int
    chunks: int
    start_us: int
    now_us: int
    random_seed: int
    first_ids: dict[str, int]  # the largest id of each serial table before the load
    id_stride: int  # ids a chunk may use per table


class Generator:
    """Writes `rows` transactions and what each leaves behind into `streams`."""

    def __init__(
        self,
        streams: Streams,
        tenants: list[SeededTenant],
        endpoints: dict[str, str],
        plan: Plan,
        chunk: int,
    ) -> None:
        self.out, self.tenants, self.endpoints = streams, tenants, endpoints
        self.rng, self.clock = random.Random(plan.random_seed * 1009 + chunk), Clock()
        self.now_us = plan.now_us
        span = (plan.now_us - 5 * US - plan.start_us) // plan.chunks
        self.start_us = plan.start_us + chunk * span
        self.end_us = self.start_us + span
        self.rows = plan.rows // plan.chunks + (chunk < plan.rows % plan.chunks)
        self.events_from_us = self.now_us - EVENTS_DAYS * DAY_US
        # Each chunk its own id ranges, later chunks' higher (ids grow with time).
        self.ids = {t: first + chunk * plan.id_stride for t, first in plan.first_ids.items()}
        self.first_use: dict[tuple[int, str], int] = {}
        self.checkouts: set[str] = set()
        self.receipts = self.rng.randrange(36**6) + chunk * 10**10
        self.references = [chunk * plan.rows] * len(tenants)
        self.weights = [1 / (i + 1) for i in range(len(tenants))]
        share = [w / sum(self.weights) for w in self.weights]
        customers = random.Random(plan.random_seed)  # the same customers in every chunk
        self.phones = [_customers(customers, max(50, int(plan.rows * s / 6))) for s in share]
        self.stk_statuses = tuple(status for status, _ in STK_OUTCOMES)
        self.stk_weights = list(itertools.accumulate(weight for _, weight in STK_OUTCOMES))
        self.b2c_statuses = tuple(status for status, _ in B2C_OUTCOMES)
        self.b2c_weights = list(itertools.accumulate(weight for _, weight in B2C_OUTCOMES))

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def run(self, progress: Callable[[int], None]) -> None:
        rng = self.rng
        span = self.end_us - self.start_us
        times = sorted(self.start_us + int(rng.random() * span) for _ in range(self.rows))
        owners = rng.choices(range(len(self.tenants)), self.weights, k=self.rows)
        kinds = rng.choices(("stk_push", "c2b_payment", "b2c_payment"), (85, 10, 5), k=self.rows)
        for number, (created, owner, kind) in enumerate(zip(times, owners, kinds, strict=True)):
            if kind == "stk_push":
                self.stk(owner, created)
            elif kind == "c2b_payment":
                self.c2b(owner, created)
            else:
                self.b2c(owner, created)
            if number % 100_000 == 99_999:
                progress(number + 1)

    # --- shared pieces ---

    def amount(self, low: int, high: int) -> int:
        """Whole shillings, log-uniform, in cents."""
        return int(low * (high / low) ** self.rng.random()) * 100

    def method(self, owner: int, phone: str, at: int) -> str:
        """The payment method's id; its row is written once every chunk is done (created at
        the phone's first payment)."""
        key = (owner, phone)
        if key not in self.first_use:
            self.first_use[key] = at
        return method_id(self.tenants[owner].id, phone)

    def ref(self, pay_id: str, tenant: str, kind: str, value: str, at: int) -> None:
        number = self.next_id("processor_references")
        self.out.row(
            "processor_references", (number, pay_id, tenant, "mpesa", kind, value, at_(at))
        )

    def event(
        self,
        pay_id: str,
        tenant: str,
        kind: str,
        before: str | None,
        after: str,
        source: str,
        at: int,
        detail: str | None = None,
    ) -> None:
        number = self.next_id("payment_events")
        row = (number, pay_id, tenant, kind, before, after, source, detail, at_(at))
        self.out.row("payment_events", row)

    def callback(
        self,
        owner: int,
        kind: str,
        body: str,
        at: int,
        ref: tuple[str, str],
        outcome: str,
        pay_id: str | None,
    ) -> None:
        raw = body.encode()
        row = (self.next_id("inbound_callbacks"), kind, "mpesa", self.tenants[owner].id, raw)
        row += (len(raw), "application/json", self.rng.choice(DARAJA_IPS), at_(at), *ref)
        row += (outcome, at_(at + 15_000), None, pay_id)
        self.out.row("inbound_callbacks", row)

    def announce(self, txn: dict[str, Any], what: str, previous: str | None, at: int) -> None:
        """The outbox row, its delivery to the tenant's endpoint and the attempts, for the
        events housekeeping has not purged yet."""
        if at < self.events_from_us:
            return
        rng, sql, iso = self.rng, at_, self.clock.iso
        resource = {"stk_push": "payment", "c2b_payment": "c2b_payment", "b2c_payment": "payout"}
        noun = resource[txn["transaction_type"]]
        payload = (  # announcements.payload(), as json.dumps writes it
            f'{{"id": "{txn["id"]}", "object": "{noun}", "transaction_type":'
            f' "{txn["transaction_type"]}", "status": "{txn["status"]}", "amount":'
            f' {txn["amount"]}, "currency": "KES", "reference": "{txn["reference"]}", "receipt":'
            f' {_v(txn["receipt"])}, "result_code": {_v(txn["result_code"])}, "result_desc":'
            f' {_v(txn["result_desc"])}, "created_at": "{iso(txn["created"])}", "updated_at":'
            f' "{iso(txn["updated"])}", "previous_status": {_v(previous)}}}'
        )
        event_id = self.next_id("outbox_events")
        tenant = txn["tenant_id"]
        fanned = at + rng.randrange(200_000, 1_500_000)
        row = (event_id, tenant, txn["id"], f"{noun}.{what}", payload, sql(at))
        self.out.row("outbox_events", (*row, sql(fanned)))
        delivery = self.next_id("webhook_deliveries")
        tries = 1 if rng.random() > 0.004 else 2
        sent = fanned + rng.randrange(20_000, 400_000)
        for attempt in range(tries):
            ok = attempt == tries - 1
            latency = rng.randrange(40, 600)
            self.out.row(
                "webhook_attempts",
                (
                    self.next_id("webhook_attempts"),
                    delivery,
                    200 if ok else 503,
                    latency,
                    '{"received": true}' if ok else "Service Unavailable",
                    sql(sent + latency * 1000),
                ),
            )
            if not ok:
                sent += rng.randrange(50, 70) * US
        done = sql(sent + 600_000)
        row = (delivery, tenant, event_id, self.endpoints[tenant], "delivered", tries)
        self.out.row("webhook_deliveries", (*row, None, 200, done, sql(fanned), done))

    def transaction(self, txn: dict[str, Any]) -> None:
        date, finalized = txn["transaction_date"], txn["finalized"]
        self.out.row(
            "payment_transactions",
            (
                txn["id"],
                txn["tenant_id"],
                txn["transaction_type"],
                "mpesa",
                txn["account_id"],
                txn["payment_method_id"],
                txn["payment_method_type"],
                None,
                txn["amount"],
                "KES",
                txn["description"],
                txn["reference"],
                txn["phone_number"],
                txn["status"],
                txn["status_reason"],
                txn["receipt"],
                txn["paid_amount"],
                txn["result_code"],
                txn["result_desc"],
                None if date is None else at_(date),
                txn["processor_data"],
                txn["conflicts"],
                txn["idempotency_key"],
                txn["metadata"],
                at_(txn["created"]),
                at_(txn["updated"]),
                None if finalized is None else at_(finalized),
                None,
                0,
            ),
        )

    def checkout_id(self, stamp: str, at: int, phone: str) -> str:
        """ws_CO_<DDMMYYYYHHMMSS><ms><phone without 254>, unique (the next ms if taken)."""
        day = f"{stamp[6:8]}{stamp[4:6]}{stamp[0:4]}{stamp[8:]}"
        ms = at // 1000 % 1000
        while (found := f"ws_CO_{day}{ms:03d}{phone[3:]}") in self.checkouts:
            ms = (ms + 1) % 1000
        self.checkouts.add(found)
        return found

    def new_receipt(self) -> str:
        self.receipts += 1
        return receipt(self.receipts)

    # --- the three kinds ---

    def stk(self, owner: int, created: int) -> None:
        rng, tenant = self.rng, self.tenants[owner]
        phone = rng.choice(self.phones[owner])
        pay_id = f"pay_{rng.getrandbits(96):024x}"
        self.references[owner] += 1
        if rng.random() < 0.03:  # a retry of the previous order after a failure
            self.references[owner] -= 1
        order = self.references[owner]
        status = _draw(rng, self.stk_statuses, self.stk_weights)
        if self.now_us - created < RECENT_US:
            status = "pending" if rng.random() < 0.1 else "processing"
        txn: dict[str, Any] = {
            "id": pay_id,
            "tenant_id": tenant.id,
            "transaction_type": "stk_push",
            "account_id": tenant.account_id,
            "payment_method_id": self.method(owner, phone, created),
            "payment_method_type": "mpesa_stk",
            "amount": self.amount(10, 20_000),
            "description": f"Order {order}",
            "reference": f"INV-{order:07d}",
            "phone_number": phone,
            "status": "pending",
            "status_reason": None,
            "receipt": None,
            "paid_amount": None,
            "result_code": None,
            "result_desc": None,
            "transaction_date": None,
            "processor_data": None,
            "conflicts": 0,
            "idempotency_key": f"order-{order}-{rng.getrandbits(32):08x}"
            if rng.random() < 0.6
            else None,
            "metadata": f'{{"order_id": "{order}"}}' if rng.random() < 0.3 else None,
            "created": created,
            "updated": created,
            "finalized": None,
        }
        t = self.tenants[owner].id
        self.event(pay_id, t, "created", None, "pending", "api", created)
        if status == "pending":
            self.transaction(txn)
            return
        if status == "busy":
            done = created + rng.randrange(300_000, 1_500_000)
            code, desc = BUSY
            txn.update(
                status="failed",
                status_reason="refused: the customer is busy",
                result_code=code,
                result_desc=desc,
                updated=done,
                finalized=done,
            )
            self.event(pay_id, t, "transition", "pending", "failed", "api", done)
            self.announce(txn, "failed", "pending", done)
            self.transaction(txn)
            return
        if status == "unknown":
            done = created + rng.randrange(10, 32) * US
            reason = "outcome unknown: no answer from M-Pesa in time"
            txn.update(status="unknown", status_reason=reason, updated=done)
            self.event(pay_id, t, "transition", "pending", "unknown", "api", done)
            self.transaction(txn)
            return
        accepted = created + rng.randrange(300_000, 1_800_000)
        stamp = self.clock.daraja(accepted)
        checkout = self.checkout_id(stamp, accepted, phone)
        merchant = f"{rng.getrandbits(64):016x}-{self.ids['processor_references']}"
        self.ref(pay_id, t, "checkout_request_id", checkout, accepted)
        self.ref(pay_id, t, "merchant_request_id", merchant, accepted)
        self.event(pay_id, t, "transition", "pending", "processing", "api", accepted)
        txn.update(status="processing", updated=accepted)
        if status == "processing":
            self.transaction(txn)
            return
        wait = 60 if status == "timeout" else rng.randrange(6, 45)
        done = accepted + wait * US + rng.randrange(US)
        if status == "failed":
            code, desc = rng.choice(STK_FAILURES)
        else:
            code, desc = STK_RESULTS[status]
        # Daraja's stkCallback, compact as it sends it.
        head = f'{{"MerchantRequestID":"{merchant}","CheckoutRequestID":"{checkout}"'
        inner = f'{head},"ResultCode":{int(code)},"ResultDesc":"{desc}"'
        txn.update(status=status, result_code=code, result_desc=desc, updated=done)
        outcome, detail = "applied", N
        if status in ("completed", "review"):
            paid = txn["amount"] if status == "completed" else txn["amount"] // 100
            number = self.new_receipt()
            inner += (
                f',"CallbackMetadata":{{"Item":[{{"Name":"Amount","Value":{paid // 100}}},'
                f'{{"Name":"MpesaReceiptNumber","Value":"{number}"}},{{"Name":"TransactionDate",'
                f'"Value":{self.clock.daraja(done)}}},{{"Name":"PhoneNumber","Value":{phone}}}]}}'
            )
            txn.update(
                receipt=number,
                paid_amount=paid,
                transaction_date=done // US * US,
                processor_data=f'{{"result": {{"phone_number": "{phone}"}}}}',
            )
            if status == "review":
                problem = f"amount {paid} does not match the {txn['amount']} requested"
                txn["status_reason"] = problem
                detail, outcome = _json({"problems": [problem]}), "review"
        txn["finalized"] = done
        body = f'{{"Body":{{"stkCallback":{inner}}}}}}}'
        self.callback(
            owner, "stk", body, done - 20_000, ("checkout_request_id", checkout), outcome, pay_id
        )
        self.event(pay_id, t, "transition", "processing", status, "callback", done, detail)
        self.announce(txn, status, "processing", done)
        if rng.random() < DUPLICATE_SHARE:
            again = done + rng.randrange(5, 120) * US
            self.callback(
                owner, "stk", body, again, ("checkout_request_id", checkout), "duplicate", pay_id
            )
        if status == "completed" and rng.random() < CONFLICT_SHARE:
            later = done + rng.randrange(60, 3600) * US
            txn.update(conflicts=1, updated=later)
            failed = f'{head},"ResultCode":1032,"ResultDesc":"Request cancelled by user"}}'
            late = f'{{"Body":{{"stkCallback":{failed}}}}}'
            self.callback(
                owner, "stk", late, later, ("checkout_request_id", checkout), "conflict", pay_id
            )
            self.event(
                pay_id,
                t,
                "conflict",
                "completed",
                "cancelled",
                "callback",
                later,
                _json({"result_code": "1032"}),
            )
            self.announce(txn, "conflict", None, later)
        self.transaction(txn)

    def c2b(self, owner: int, created: int) -> None:
        rng, tenant = self.rng, self.tenants[owner]
        pay_id = f"pay_{rng.getrandbits(96):024x}"
        phone = rng.choice(self.phones[owner])
        account_number = f"ACC{phone[-7:]}"  # the customer's account with the merchant
        amount = self.amount(10, 50_000)
        number = self.new_receipt()
        masked = f"{phone[:4]} ***** {phone[-3:]}"
        stamp = self.clock.daraja(created)
        base = (  # Daraja's C2B body, compact as it sends it
            f'{{"TransactionType":"Pay Bill","TransID":"{number}","TransTime":"{stamp}",'
            f'"TransAmount":"{amount // 100}.00","BusinessShortCode":"174379",'
            f'"BillRefNumber":"{account_number}","InvoiceNumber":"","OrgAccountBalance":"%s",'
            f'"ThirdPartyTransID":"","MSISDN":"{masked}","FirstName":"John","MiddleName":"",'
            '"LastName":""}'
        )
        validation = base % ""
        balance = rng.randrange(10**5, 10**8)
        confirmation = base % f"{balance}.00"
        ref = ("trans_id", number)
        self.callback(owner, "c2b-validation", validation, created - 400_000, ref, "accepted", None)
        self.callback(
            owner, "c2b-confirmation", confirmation, created - 10_000, ref, "created", pay_id
        )
        result = {
            "msisdn": masked,
            "msisdn_format": "masked",
            "first_name": "John",
            "middle_name": None,
            "last_name": None,
            "business_short_code": "174379",
            "mpesa_transaction_type": "Pay Bill",
            "invoice_number": None,
            "org_account_balance": balance * 100,
            "third_party_trans_id": None,
        }
        txn = {
            "id": pay_id,
            "tenant_id": tenant.id,
            "transaction_type": "c2b_payment",
            "account_id": tenant.account_id,
            "payment_method_id": None,
            "payment_method_type": "mpesa_c2b",
            "amount": amount,
            "description": None,
            "reference": account_number,
            "phone_number": None,
            "status": "completed",
            "status_reason": None,
            "receipt": number,
            "paid_amount": amount,
            "result_code": None,
            "result_desc": None,
            "transaction_date": created // US * US,
            "processor_data": _json({"result": result}),
            "conflicts": 0,
            "idempotency_key": None,
            "metadata": None,
            "created": created,
            "updated": created,
            "finalized": created,
        }
        self.ref(pay_id, tenant.id, "trans_id", number, created)
        self.event(pay_id, tenant.id, "created", None, "completed", "callback", created)
        self.announce(txn, "received", None, created)
        self.transaction(txn)

    def b2c(self, owner: int, created: int) -> None:
        rng, tenant = self.rng, self.tenants[owner]
        t = tenant.id
        pay_id = f"pay_{rng.getrandbits(96):024x}"
        phone = rng.choice(self.phones[owner])
        status = _draw(rng, self.b2c_statuses, self.b2c_weights)
        payout = self.references[owner]
        txn: dict[str, Any] = {
            "id": pay_id,
            "tenant_id": t,
            "transaction_type": "b2c_payment",
            "account_id": tenant.payout_account_id,
            "payment_method_id": self.method(owner, phone, created),
            "payment_method_type": "mpesa_b2c",
            "amount": self.amount(100, 70_000),
            "description": None,
            "reference": f"PAYOUT-{payout:07d}",
            "phone_number": phone,
            "status": "pending",
            "status_reason": None,
            "receipt": None,
            "paid_amount": None,
            "result_code": None,
            "result_desc": None,
            "transaction_date": None,
            "processor_data": _json(
                {"request": {"command_id": "BusinessPayment", "remarks": "Salary"}}
            ),
            "conflicts": 0,
            "idempotency_key": f"payout-{payout}-{rng.getrandbits(32):08x}",
            "metadata": None,
            "created": created,
            "updated": created,
            "finalized": None,
        }
        self.event(pay_id, t, "created", None, "pending", "api", created)
        self.ref(pay_id, t, "originator_conversation_id", pay_id, created + 10_000)
        accepted = created + rng.randrange(300_000, 1_500_000)
        stamp = self.clock.daraja(accepted)
        conversation = f"AG_{stamp[:8]}_{rng.getrandbits(80):020x}"
        self.ref(pay_id, t, "conversation_id", conversation, accepted)
        self.event(pay_id, t, "transition", "pending", "processing", "api", accepted)
        done = accepted + rng.randrange(2, 30) * US
        result: dict[str, Any] = {
            "ResultType": 0,
            "OriginatorConversationID": pay_id,
            "ConversationID": conversation,
        }
        if status == "completed":
            number = self.new_receipt()
            code, desc = "0", "The service request is processed successfully."
            result.update(ResultCode=0, ResultDesc=desc, TransactionID=number)
            result["ResultParameters"] = {
                "ResultParameter": [
                    {"Key": "TransactionAmount", "Value": txn["amount"] // 100},
                    {"Key": "TransactionReceipt", "Value": number},
                    {"Key": "ReceiverPartyPublicName", "Value": f"{phone} - John Doe"},
                ]
            }
            details = {
                "request": {"command_id": "BusinessPayment", "remarks": "Salary"},
                "result": {
                    "receiver_public_name": f"{phone} - John Doe",
                    "recipient_is_registered": True,
                },
            }
            txn.update(
                receipt=number,
                paid_amount=txn["amount"],
                transaction_date=done // US * US,
                processor_data=_json(details),
            )
        elif status == "failed":
            code, desc = B2C_FAILURE
            result.update(ResultCode=2001, ResultDesc=desc)
        else:
            code, desc = "1037", "The request timed out in the queue"
            result.update(ResultCode=1037, ResultDesc=desc)
        txn.update(status=status, result_code=code, result_desc=desc, updated=done, finalized=done)
        body = json.dumps({"Result": result}, separators=(",", ":"))
        ref = ("originator_conversation_id", pay_id)
        self.callback(owner, "b2c-result", body, done - 20_000, ref, "applied", pay_id)
        self.event(pay_id, t, "transition", "processing", status, "callback", done)
        self.announce(txn, status, "processing", done)
        self.transaction(txn)


# --- the load -----------------------------------------------------------------------------

SERIAL_TABLES = (
    "processor_references",
    "payment_events",
    "inbound_callbacks",
    "outbox_events",
    "webhook_deliveries",
    "webhook_attempts",
)


def conninfo_of(database_url: str) -> str:
    """A libpq URL from an SQLAlchemy one (postgresql+psycopg://… too)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise SystemExit("bench/seed.py needs a PostgreSQL --database-url")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


METHOD_COLUMNS = {"payment_methods": "id, tenant_id, type, phone_number, customer_id, created_at"}
LOADED = ("payment_methods", *Streams.COLUMNS)


def _chunk(
    conninfo: str,
    tenants: list[SeededTenant],
    hooks: dict[str, str],
    plan: Plan,
    chunk: int,
) -> tuple[dict[str, int], dict[tuple[int, str], int]]:
    """One process's share: a time slice, streamed on connections of its own."""
    started = time.perf_counter()
    with ExitStack() as stack:
        streams = Streams(stack, conninfo, Streams.COLUMNS)
        generator = Generator(streams, tenants, hooks, plan, chunk)

        def progress(done: int) -> None:
            print(
                f"  chunk {chunk}: {done:>9,} ({time.perf_counter() - started:.1f} s)", flush=True
            )

        generator.run(progress)
        stack.close()  # ends every COPY; each connection commits as it closes
    return streams.counts, generator.first_use


def load(
    conninfo: str,
    tenants: list[SeededTenant],
    rows: int,
    days: int,
    now: datetime,
    random_seed: int,
    log: Callable[[str], None],
    chunks: int = 2,
) -> dict[str, int]:
    with psycopg.connect(conninfo) as conn:
        first = {
            table: conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]  # type: ignore[index]
            for table in SERIAL_TABLES
        }
        empty = not any(
            conn.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()[0]  # type: ignore[index]
            for table in LOADED
        )
    hooks = endpoint_ids(conninfo, [t.id for t in tenants])
    now_us = int(now.timestamp() * US)
    plan = Plan(rows, chunks, now_us - days * DAY_US, now_us, random_seed, first, rows * 8)
    # Empty tables: their indexes on randomly ordered keys are dropped and built again after
    # the load (a sort per index instead of millions of random inserts; see RANDOM_KEYS).
    dropped = drop_secondary_indexes(conninfo) if empty else []
    log(f"  {len(dropped)} indexes on random keys dropped for the load" if empty else "  appending")
    try:
        counts: dict[str, int] = dict.fromkeys(Streams.COLUMNS, 0)
        first_use: dict[tuple[int, str], int] = {}
        context = multiprocessing.get_context("spawn")
        with context.Pool(chunks) as pool:
            args = [(conninfo, tenants, hooks, plan, chunk) for chunk in range(chunks)]
            for part, used in pool.starmap(_chunk, args):
                for table, n in part.items():
                    counts[table] += n
                for key, at in used.items():
                    if key not in first_use or at < first_use[key]:
                        first_use[key] = at
        counts = {"payment_methods": write_methods(conninfo, tenants, first_use), **counts}
    finally:
        if dropped:
            started = time.perf_counter()
            build_indexes(conninfo, dropped)
            log(f"  {len(dropped)} indexes built in {time.perf_counter() - started:.1f} s")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for table in SERIAL_TABLES:
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT coalesce(max(id), 1) FROM {table}))"
            )
    return counts


def write_methods(
    conninfo: str, tenants: list[SeededTenant], first_use: dict[tuple[int, str], int]
) -> int:
    """One payment method per tenant and phone, created at the phone's first payment."""
    with ExitStack() as stack:
        streams = Streams(stack, conninfo, METHOD_COLUMNS)
        for (owner, phone), at in sorted(first_use.items(), key=lambda item: item[1]):
            tenant = tenants[owner].id
            streams.row(
                "payment_methods", (method_id(tenant, phone), tenant, "mpesa", phone, None, at_(at))
            )
        stack.close()
    return streams.counts["payment_methods"]


# Columns whose values arrive in no order (ids of other rows, random references): an index
# on one takes each new entry at a random page, so it is dropped for the load and built after
# by a sort. Indexes that grow at one end (a time, an id) or by a few values (a tenant, a
# status) cost little to keep and stay.
RANDOM_KEYS = frozenset(
    {"payment_id", "transaction_id", "value", "ref_value", "idempotency_key", "reference"}
)


def drop_secondary_indexes(conninfo: str) -> list[tuple[str, str]]:
    """Drop the loaded tables' indexes and unique constraints on RANDOM_KEYS (never a primary
    key: foreign keys reference them); returns (table, the statement that makes each again)."""
    dropped = []
    with psycopg.connect(conninfo) as conn:
        found = conn.execute(
            "SELECT i.indrelid::regclass::text, c.relname, pg_get_indexdef(i.indexrelid),"
            " k.conname, pg_get_constraintdef(k.oid),"
            " ARRAY(SELECT a.attname::text FROM pg_attribute a"
            "       WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey))"
            " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " LEFT JOIN pg_constraint k ON k.conindid = i.indexrelid AND k.contype = 'u'"
            " WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisprimary",
            [list(LOADED)],
        ).fetchall()
        for table, name, definition, constraint, constraint_def, columns in found:
            if not RANDOM_KEYS & set(columns):
                continue
            if constraint:
                conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{constraint}"')
                statement = f'ALTER TABLE {table} ADD CONSTRAINT "{constraint}" {constraint_def}'
                dropped.append((table, statement))
            else:
                conn.execute(f'DROP INDEX "{name}"')
                dropped.append((table, definition))
    return dropped


def build_indexes(conninfo: str, statements: list[tuple[str, str]]) -> None:
    """Build the dropped indexes again, two at a time (one connection per core)."""
    halves = [statements[0::2], statements[1::2]]

    def build(part: list[tuple[str, str]]) -> None:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute("SET maintenance_work_mem = '512MB'")
            for _, statement in part:
                conn.execute(statement)

    with ThreadPoolExecutor(2) as pool:
        for done in [pool.submit(build, part) for part in halves]:
            done.result()


def analyze(conninfo: str) -> None:
    """VACUUM ANALYZE what was loaded: statistics for the planner, and the visibility map that
    index-only scans need (autovacuum would get there in production)."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for table in LOADED:
            conn.execute(f"VACUUM (ANALYZE) {table}")


def seed(
    database_url: str,
    rows: int,
    tenants: int,
    *,
    encryption_key: str | None = None,
    days: int = 90,
    random_seed: int = 11,
    now: datetime | None = None,
    log: Callable[[str], None] = print,
) -> SeedReport:
    """Migrate, create `tenants` tenants, load `rows` transactions; see the module docstring."""
    key = encryption_key or os.environ.get("APG_ENCRYPTION_KEY") or Fernet.generate_key().decode()
    conninfo = conninfo_of(database_url)
    sqlalchemy_url = make_url(database_url).set(drivername="postgresql+psycopg")
    app = bench_app(sqlalchemy_url.render_as_string(hide_password=False), key)
    seconds: dict[str, float] = {}
    with _timed(seconds, "migrate"):
        migrate(app)
    with _timed(seconds, "tenants"):
        made = make_tenants(app, tenants)
    log(f"{tenants} tenants in {seconds['tenants']:.1f} s; streaming {rows:,} transactions")
    with _timed(seconds, "copy"):
        counts = load(conninfo, made, rows, days, now or datetime.now(UTC), random_seed, log)
    with _timed(seconds, "vacuum_analyze"):
        analyze(conninfo)
    with app.app_context():
        from apg.extensions import db

        db.engine.dispose()
    return SeedReport(made, key, counts, seconds)


@contextmanager
def _timed(into: dict[str, float], name: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    into[name] = time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="postgresql://… (a bench database)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="transactions (1,000,000)")
    parser.add_argument("--tenants", type=int, default=4, help="tenants (4)")
    parser.add_argument("--days", type=int, default=90, help="created over the last N days (90)")
    parser.add_argument("--seed", type=int, default=11, help="random seed (11)")
    parser.add_argument("--encryption-key", help="Fernet key (default APG_ENCRYPTION_KEY or new)")
    parser.add_argument("--output", type=Path, help="write the tenants and timings as JSON here")
    args = parser.parse_args(argv)
    report = seed(
        args.database_url,
        args.rows,
        args.tenants,
        encryption_key=args.encryption_key,
        days=args.days,
        random_seed=args.seed,
    )
    total = sum(report.seconds.values())
    print(f"APG_ENCRYPTION_KEY={report.encryption_key}")
    for tenant in report.tenants:
        print(json.dumps(asdict(tenant)))
    print("rows: " + ", ".join(f"{table} {n:,}" for table, n in report.rows.items()))
    print(
        "seconds: "
        + ", ".join(f"{name} {s:.1f}" for name, s in report.seconds.items())
        + f", total {total:.1f}"
    )
    if args.output:
        args.output.write_text(
            json.dumps(
                {
                    "encryption_key": report.encryption_key,
                    "tenants": [asdict(t) for t in report.tenants],
                    "rows": report.rows,
                    "seconds": report.seconds,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
