"""C2B: validation rules per receiving account, and the URLs registered per M-Pesa account

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 16:00:00

New tables only: incoming C2B payments are payment_transactions rows (transaction_type
c2b_payment) found again by their TransID in processor_references.
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('collection_rules',
    sa.Column('account_id', sa.String(length=40), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('account_number_pattern', sa.String(length=200), nullable=True),
    sa.Column('min_amount', sa.BigInteger(), nullable=True),
    sa.Column('max_amount', sa.BigInteger(), nullable=True),
    sa.Column('allowed_account_references', sa.JSON(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_collection_rules_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_collection_rules'))
    )
    with op.batch_alter_table('collection_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_collection_rules_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('c2b_registrations',
    sa.Column('account_id', sa.String(length=40), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('shortcode', sa.String(length=10), nullable=False),
    sa.Column('response_type', sa.String(length=16), nullable=False),
    sa.Column('version', sa.String(length=4), nullable=False),
    sa.Column('confirmation_url', sa.String(length=512), nullable=False),
    sa.Column('validation_url', sa.String(length=512), nullable=False),
    sa.Column('originator_conversation_id', sa.String(length=64), nullable=True),
    sa.Column('response_description', sa.String(length=255), nullable=True),
    sa.Column('registered_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['mpesa_accounts.id'], name=op.f('fk_c2b_registrations_account_id_mpesa_accounts')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_c2b_registrations_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_c2b_registrations'))
    )
    with op.batch_alter_table('c2b_registrations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_c2b_registrations_tenant_id'), ['tenant_id'], unique=False)


def downgrade():
    with op.batch_alter_table('c2b_registrations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_c2b_registrations_tenant_id'))
    op.drop_table('c2b_registrations')
    with op.batch_alter_table('collection_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_collection_rules_tenant_id'))
    op.drop_table('collection_rules')
