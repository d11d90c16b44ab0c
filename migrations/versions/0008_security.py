"""Security: the security event log, API keys' last use, callback URL token rotation

- security_events: rejected callbacks, authentication failures, rate-limit hits and
  suspicious mismatches, for ops (GET /ops/security-events).
- api_keys.last_used_at: when the key last authenticated a request (to the minute).
- tenants.previous_callback_token / previous_callback_token_until: a rotated callback URL
  token keeps routing callbacks until then (open operations were given the old URL).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 18:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "security_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("tenant_id", sa.String(40), nullable=True),
        sa.Column("source_ip", sa.String(64), nullable=True),
        sa.Column("path", sa.String(200), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_security_events_occurred_at", "security_events", ["occurred_at"])
    op.create_index("ix_security_events_kind", "security_events", ["kind"])
    op.create_index("ix_security_events_tenant_id", "security_events", ["tenant_id"])
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("last_used_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("previous_callback_token", sa.String(64), nullable=True))
        batch.add_column(sa.Column("previous_callback_token_until", sa.DateTime(), nullable=True))
        batch.create_unique_constraint(
            "uq_tenants_previous_callback_token", ["previous_callback_token"]
        )


def downgrade():
    with op.batch_alter_table("tenants") as batch:
        batch.drop_constraint("uq_tenants_previous_callback_token", type_="unique")
        batch.drop_column("previous_callback_token_until")
        batch.drop_column("previous_callback_token")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("last_used_at")
    op.drop_index("ix_security_events_tenant_id", "security_events")
    op.drop_index("ix_security_events_kind", "security_events")
    op.drop_index("ix_security_events_occurred_at", "security_events")
    op.drop_table("security_events")
