"""Index inbound_callbacks.received_at

/ops/stats counts callbacks in a time window, and the worker's housekeeping looks for settled
callbacks past retention: both by arrival time.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 19:30:00
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("inbound_callbacks") as batch:
        batch.create_index("ix_inbound_callbacks_received_at", ["received_at"], unique=False)


def downgrade():
    with op.batch_alter_table("inbound_callbacks") as batch:
        batch.drop_index("ix_inbound_callbacks_received_at")
