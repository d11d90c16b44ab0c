"""M-Pesa accounts: which B2C API version an account's payouts use (v3 unless set to v1)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 16:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("mpesa_accounts") as batch:
        batch.add_column(sa.Column("b2c_version", sa.String(length=4), nullable=True))


def downgrade():
    with op.batch_alter_table("mpesa_accounts") as batch:
        batch.drop_column("b2c_version")
