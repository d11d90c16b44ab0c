"""Payments: reconcile_after and reconcile_attempts (reconciliation's claim and backoff)

An index on (status, created_at) lets reconciliation find open operations by age.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("payment_transactions") as batch:
        batch.add_column(sa.Column("reconcile_after", sa.DateTime(), nullable=True))
        batch.add_column(
            sa.Column("reconcile_attempts", sa.Integer(), server_default="0", nullable=False)
        )
        batch.create_index(
            "ix_payment_transactions_status_created", ["status", "created_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("payment_transactions") as batch:
        batch.drop_index("ix_payment_transactions_status_created")
        batch.drop_column("reconcile_attempts")
        batch.drop_column("reconcile_after")
