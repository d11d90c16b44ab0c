"""processor-neutral core: M-Pesa accounts, transaction types, references, outbox, raw bytes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 13:40:00

Existing rows are carried over: credentials become accounts, CheckoutRequestID and
MerchantRequestID become processor references, callback bodies become bytes.
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('mpesa_accounts',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('environment', sa.String(length=16), nullable=False),
    sa.Column('base_url', sa.String(length=255), nullable=True),
    sa.Column('shortcode', sa.String(length=10), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('store_number', sa.String(length=10), nullable=True),
    sa.Column('consumer_key_enc', sa.String(length=512), nullable=False),
    sa.Column('consumer_secret_enc', sa.String(length=512), nullable=False),
    sa.Column('passkey_enc', sa.String(length=512), nullable=True),
    sa.Column('initiator_name', sa.String(length=64), nullable=True),
    sa.Column('initiator_password_enc', sa.String(length=512), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_mpesa_accounts_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mpesa_accounts'))
    )
    with op.batch_alter_table('mpesa_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mpesa_accounts_tenant_id'), ['tenant_id'], unique=False)
    op.execute(
        "INSERT INTO mpesa_accounts (id, tenant_id, environment, base_url, shortcode, kind,"
        " store_number, consumer_key_enc, consumer_secret_enc, passkey_enc, created_at)"
        " SELECT id, tenant_id, environment, base_url, shortcode, shortcode_kind, store_number,"
        " consumer_key_enc, consumer_secret_enc, passkey_enc, created_at FROM mpesa_credentials"
    )
    op.drop_table('mpesa_credentials')

    op.create_table('processor_references',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('transaction_id', sa.String(length=40), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('processor', sa.String(length=24), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('value', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['transaction_id'], ['payment_transactions.id'], name=op.f('fk_processor_references_transaction_id_payment_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_processor_references')),
    sa.UniqueConstraint('processor', 'kind', 'value', name=op.f('uq_processor_references_processor_kind_value'))
    )
    with op.batch_alter_table('processor_references', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_processor_references_transaction_id'), ['transaction_id'], unique=False)
    for column in ('checkout_request_id', 'merchant_request_id'):
        op.execute(
            "INSERT INTO processor_references (transaction_id, tenant_id, processor, kind, value,"
            f" created_at) SELECT id, tenant_id, 'mpesa', '{column}', {column}, created_at"
            f" FROM payment_transactions WHERE {column} IS NOT NULL AND {column} <> ''"
        )

    with op.batch_alter_table('payment_transactions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('transaction_type', sa.String(length=24), nullable=False, server_default='stk_push'))
        batch_op.add_column(sa.Column('processor', sa.String(length=24), nullable=False, server_default='mpesa'))
        batch_op.alter_column('merchant_id', new_column_name='account_id', existing_type=sa.String(length=40), existing_nullable=False)
        batch_op.alter_column('payment_method_id', existing_type=sa.String(length=40), nullable=True)
        batch_op.alter_column('amount', existing_type=sa.BigInteger(), nullable=True)
        batch_op.alter_column('phone_number', existing_type=sa.String(length=15), nullable=True)
        batch_op.alter_column('mpesa_receipt_number', new_column_name='receipt', existing_type=sa.String(length=20), type_=sa.String(length=32), existing_nullable=True)
        batch_op.add_column(sa.Column('status_reason', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('paid_amount', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('processor_data', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('conflicts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('idempotency_key', sa.String(length=255), nullable=True))
        batch_op.drop_constraint('uq_payment_transactions_checkout_request_id', type_='unique')
        batch_op.drop_column('checkout_request_id')
        batch_op.drop_column('merchant_request_id')
        batch_op.create_index('ix_payment_transactions_tenant_idempotency_key', ['tenant_id', 'idempotency_key'], unique=False)
    with op.batch_alter_table('payment_transactions', schema=None) as batch_op:
        for column in ('transaction_type', 'processor', 'conflicts'):
            batch_op.alter_column(column, server_default=None)

    with op.batch_alter_table('payment_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), nullable=False, server_default='transition'))
    op.execute("UPDATE payment_events SET kind = 'created' WHERE from_status IS NULL")
    with op.batch_alter_table('payment_events', schema=None) as batch_op:
        batch_op.alter_column('kind', server_default=None)

    op.create_table('outbox_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('payment_id', sa.String(length=40), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('delivered_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['payment_id'], ['payment_transactions.id'], name=op.f('fk_outbox_events_payment_id_payment_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_events'))
    )
    with op.batch_alter_table('outbox_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_events_delivered_at'), ['delivered_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_events_payment_id'), ['payment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_events_tenant_id'), ['tenant_id'], unique=False)

    postgres = op.get_bind().dialect.name == 'postgresql'
    with op.batch_alter_table('inbound_callbacks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('processor', sa.String(length=24), nullable=False, server_default='mpesa'))
        batch_op.add_column(sa.Column('body_size', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('ref_kind', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('ref_value', sa.String(length=64), nullable=True))
        batch_op.alter_column(
            'raw_body', existing_type=sa.Text(), type_=sa.LargeBinary(),
            postgresql_using="convert_to(raw_body, 'UTF8')",
        )
    op.execute(
        "UPDATE inbound_callbacks SET ref_kind = 'checkout_request_id',"
        " ref_value = checkout_request_id WHERE checkout_request_id IS NOT NULL"
    )
    op.execute("UPDATE inbound_callbacks SET body_size = length(raw_body)")
    if not postgres:  # SQLite keeps the old values typed TEXT until told otherwise
        op.execute("UPDATE inbound_callbacks SET raw_body = CAST(raw_body AS BLOB)")
    with op.batch_alter_table('inbound_callbacks', schema=None) as batch_op:
        batch_op.alter_column('processor', server_default=None)
        batch_op.alter_column('body_size', server_default=None)
        batch_op.drop_index(batch_op.f('ix_inbound_callbacks_checkout_request_id'))
        batch_op.drop_column('checkout_request_id')
        batch_op.drop_column('processed')
        batch_op.create_index(batch_op.f('ix_inbound_callbacks_ref_value'), ['ref_value'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbound_callbacks_outcome'), ['outcome'], unique=False)

    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_id', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(), nullable=True))


def downgrade():
    raise NotImplementedError("0003 is one-way: restore from a backup taken before upgrading")
