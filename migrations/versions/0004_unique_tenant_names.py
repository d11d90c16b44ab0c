"""unique tenant names

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 15:10:00

Existing duplicates are renamed rather than refused. Names are stripped (a blank one becomes
the tenant's id); the oldest tenant with a name (by created_at, then id) keeps it, and each
later one becomes "<name> (2)", "<name> (3)", …, skipping names already in use.
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

NAME_LENGTH = 200


def upgrade():
    connection = op.get_bind()
    tenants = connection.execute(
        sa.text("SELECT id, name FROM tenants ORDER BY created_at, id")
    ).all()
    first = {}  # stripped name -> the oldest tenant with it, which keeps it
    for tenant_id, name in tenants:
        first.setdefault(name.strip() or tenant_id, tenant_id)
    taken = set(first)
    for tenant_id, name in tenants:
        wanted = name.strip() or tenant_id
        new = wanted if first[wanted] == tenant_id else _first_free(wanted, taken)
        taken.add(new)
        if new != name:
            connection.execute(
                sa.text("UPDATE tenants SET name = :name WHERE id = :id"),
                {"name": new, "id": tenant_id},
            )
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_tenants_name'), ['name'])


def _first_free(name, taken):
    """name (2), name (3), … : the first not taken, cut to fit the column."""
    n = 2
    while True:
        suffix = f" ({n})"
        candidate = name[:NAME_LENGTH - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        n += 1


def downgrade():
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_tenants_name'), type_='unique')
