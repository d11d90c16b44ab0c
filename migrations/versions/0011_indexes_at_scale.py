"""Indexes for lists and /ops/stats at a million transactions

Lists read one transaction type at a time by (tenant_id, transaction_type[, status],
created_at, id), so a page of a rare type or status is an ordered scan that stops after the
page; a reference by (tenant_id, reference, created_at, id) instead of (reference); events by
(tenant_id[, type], id) instead of (tenant_id). /ops/stats counts its window from indexes
alone: on PostgreSQL (status, created_at) and inbound_callbacks (received_at) INCLUDE the
columns it groups by (SQLite keeps them as they are), and webhook_deliveries gets
(created_at, status).

On PostgreSQL each index is built and dropped CONCURRENTLY, outside a transaction: writes go
on meanwhile. An index that changes columns is built under a temporary name, then the old one
is dropped and the new one takes its name.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 21:00:00
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TENANT_TYPE = ["tenant_id", "transaction_type", "created_at", "id"]
TENANT_TYPE_STATUS = ["tenant_id", "transaction_type", "status", "created_at", "id"]
TENANT_REFERENCE = ["tenant_id", "reference", "created_at", "id"]

# (table, name, before, after): (columns, PostgreSQL INCLUDE columns), or None: no such index.
CHANGES = [
    (
        "payment_transactions",
        "ix_payment_transactions_tenant_type_created",
        None,
        (TENANT_TYPE, []),
    ),
    (
        "payment_transactions",
        "ix_payment_transactions_tenant_type_status_created",
        None,
        (TENANT_TYPE_STATUS, []),
    ),
    (
        "payment_transactions",
        "ix_payment_transactions_tenant_reference",
        None,
        (TENANT_REFERENCE, []),
    ),
    ("payment_transactions", "ix_payment_transactions_reference", (["reference"], []), None),
    (
        "payment_transactions",
        "ix_payment_transactions_status_created",
        (["status", "created_at"], []),
        (["status", "created_at"], ["tenant_id", "transaction_type", "conflicts"]),
    ),
    ("outbox_events", "ix_outbox_events_tenant_id_id", None, (["tenant_id", "id"], [])),
    ("outbox_events", "ix_outbox_events_tenant_type_id", None, (["tenant_id", "type", "id"], [])),
    ("outbox_events", "ix_outbox_events_tenant_id", (["tenant_id"], []), None),
    (
        "inbound_callbacks",
        "ix_inbound_callbacks_received_at",
        (["received_at"], []),
        (["received_at"], ["tenant_id", "outcome", "processed_at"]),
    ),
    (
        "webhook_deliveries",
        "ix_webhook_deliveries_created_at_status",
        None,
        (["created_at", "status"], []),
    ),
]


def upgrade():
    _apply([(table, name, before, after) for table, name, before, after in CHANGES])


def downgrade():
    _apply([(table, name, after, before) for table, name, before, after in reversed(CHANGES)])


def _apply(changes):
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            for table, name, before, after in changes:
                _concurrently(table, name, before, after)
        return
    for table, name, before, after in changes:
        if before is not None and after is not None and before[0] == after[0]:
            continue  # only INCLUDE columns change: SQLite has none
        with op.batch_alter_table(table) as batch:
            if before is not None:
                batch.drop_index(name)
            if after is not None:
                batch.create_index(name, after[0], unique=False)


def _concurrently(table, name, before, after):
    """Build the new index before the old one goes, so that no moment has neither."""
    building = f"{name[:55]}_new" if before is not None and after is not None else name
    if after is not None:
        columns, include = after
        op.drop_index(building, table_name=table, postgresql_concurrently=True, if_exists=True)
        op.create_index(
            building, table, columns, postgresql_concurrently=True, postgresql_include=include
        )
    if before is not None:
        op.drop_index(name, table_name=table, postgresql_concurrently=True, if_exists=True)
    if building != name:
        op.execute(f'ALTER INDEX "{building}" RENAME TO "{name}"')
