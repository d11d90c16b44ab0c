"""Checkout sessions, and outbox events that name their account

- checkout_sessions: the hosted page a customer pays on (apg.checkout), paid at most once.
- outbox_events.account_id: which key mode hears an event, without joining its transaction
  (a checkout session that expired unpaid has none); filled from each event's transaction.
- outbox_events.payment_id becomes nullable for the same reason.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 23:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "checkout_sessions",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("token_ciphertext", sa.Text(), nullable=False),
        sa.Column("account_number", sa.String(12), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("reference", sa.String(12), nullable=False),
        sa.Column("description", sa.String(13), nullable=True),
        sa.Column("phone_number", sa.String(15), nullable=True),
        sa.Column("success_url", sa.String(2048), nullable=False),
        sa.Column("cancel_url", sa.String(2048), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("paying", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("attempt_payment_id", sa.String(40), nullable=True),
        sa.Column("payment_id", sa.String(40), nullable=True),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.Column("expired_at", sa.DateTime(), nullable=True),
    )
    op.create_index(
        "ix_checkout_sessions_tenant_created",
        "checkout_sessions",
        ["tenant_id", "created_at", "id"],
    )
    op.create_index(
        "ix_checkout_sessions_tenant_account_number",
        "checkout_sessions",
        ["tenant_id", "account_number"],
        unique=True,
    )
    op.create_index(
        "ix_checkout_sessions_status_expires", "checkout_sessions", ["status", "expires_at"]
    )
    with op.batch_alter_table("outbox_events") as batch:
        batch.add_column(sa.Column("account_id", sa.String(40), nullable=True))
        batch.alter_column("payment_id", existing_type=sa.String(40), nullable=True)
    op.execute(
        "UPDATE outbox_events SET account_id = (SELECT payment_transactions.account_id"
        " FROM payment_transactions WHERE payment_transactions.id = outbox_events.payment_id)"
    )


def downgrade():
    unpaid = "SELECT id FROM outbox_events WHERE payment_id IS NULL"
    op.execute(f"DELETE FROM webhook_deliveries WHERE event_id IN ({unpaid})")
    op.execute("DELETE FROM outbox_events WHERE payment_id IS NULL")
    with op.batch_alter_table("outbox_events") as batch:
        batch.alter_column("payment_id", existing_type=sa.String(40), nullable=False)
        batch.drop_column("account_id")
    op.drop_table("checkout_sessions")
