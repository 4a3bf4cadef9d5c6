"""commerce and erp sync

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 20:32:52.349297
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from migrations.policy_grants import grant_to_existing_tenants
from sqlalchemy.dialects import postgresql

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Commerce and ERP-sync grants of this release, for tenants created before it.
NEW_GRANTS = [
    ('admin', 'product', 'read', 'tenant'),
    ('admin', 'product', 'create', 'tenant'),
    ('admin', 'product', 'update', 'tenant'),
    ('admin', 'product', 'approve', 'tenant'),
    ('admin', 'quote', 'read', 'tenant'),
    ('admin', 'quote', 'create', 'tenant'),
    ('admin', 'quote', 'update', 'tenant'),
    ('admin', 'quote', 'approve', 'tenant'),
    ('admin', 'order', 'read', 'tenant'),
    ('admin', 'order', 'create', 'tenant'),
    ('admin', 'order', 'update', 'tenant'),
    ('admin', 'order', 'approve', 'tenant'),
    ('admin', 'contract', 'read', 'tenant'),
    ('admin', 'contract', 'create', 'tenant'),
    ('admin', 'contract', 'update', 'tenant'),
    ('admin', 'contract', 'approve', 'tenant'),
    ('admin', 'erp_sync', 'read', 'tenant'),
    ('admin', 'erp_sync', 'create', 'tenant'),
    ('admin', 'erp_sync', 'update', 'tenant'),
    ('admin', 'erp_sync', 'approve', 'tenant'),
    ('internal_staff', 'product', 'read', 'tenant'),
    ('partner_sales', 'product', 'read', 'tenant'),
    ('sales_specialist', 'quote', 'read', 'team'),
    ('sales_specialist', 'order', 'read', 'team'),
    ('sales_specialist', 'contract', 'read', 'team'),
    ('sales_specialist', 'quote', 'create', 'team'),
    ('sales_specialist', 'quote', 'update', 'team'),
    ('account_manager', 'quote', 'read', 'own'),
    ('account_manager', 'quote', 'read', 'team'),
    ('account_manager', 'quote', 'create', 'own'),
    ('account_manager', 'quote', 'create', 'team'),
    ('account_manager', 'quote', 'update', 'own'),
    ('account_manager', 'quote', 'update', 'team'),
    ('account_manager', 'order', 'read', 'own'),
    ('account_manager', 'order', 'read', 'team'),
    ('account_manager', 'order', 'create', 'own'),
    ('account_manager', 'order', 'create', 'team'),
    ('account_manager', 'order', 'update', 'own'),
    ('account_manager', 'order', 'update', 'team'),
    ('account_manager', 'contract', 'read', 'own'),
    ('account_manager', 'contract', 'read', 'team'),
    ('account_manager', 'contract', 'create', 'own'),
    ('account_manager', 'contract', 'create', 'team'),
    ('account_manager', 'contract', 'update', 'own'),
    ('account_manager', 'contract', 'update', 'team'),
    ('sales_manager', 'quote', 'read', 'territory'),
    ('sales_manager', 'quote', 'update', 'territory'),
    ('sales_manager', 'order', 'read', 'territory'),
    ('sales_manager', 'order', 'update', 'territory'),
    ('sales_manager', 'contract', 'read', 'territory'),
    ('sales_manager', 'contract', 'update', 'territory'),
    ('sales_manager', 'quote', 'approve', 'territory'),
    ('sales_manager', 'contract', 'approve', 'territory'),
    ('sales_director', 'quote', 'read', 'tenant'),
    ('sales_director', 'quote', 'update', 'tenant'),
    ('sales_director', 'quote', 'approve', 'tenant'),
    ('sales_director', 'order', 'read', 'tenant'),
    ('sales_director', 'order', 'update', 'tenant'),
    ('sales_director', 'order', 'approve', 'tenant'),
    ('sales_director', 'contract', 'read', 'tenant'),
    ('sales_director', 'contract', 'update', 'tenant'),
    ('sales_director', 'contract', 'approve', 'tenant'),
    ('finance', 'quote', 'read', 'tenant'),
    ('finance', 'order', 'read', 'tenant'),
    ('finance', 'contract', 'read', 'tenant'),
    ('finance', 'contract', 'approve', 'tenant'),
    ('finance', 'erp_sync', 'read', 'tenant'),
    ('finance', 'erp_sync', 'update', 'tenant'),
    ('channel_manager', 'quote', 'read', 'managed'),
    ('channel_manager', 'order', 'read', 'managed'),
    ('channel_manager', 'contract', 'read', 'managed'),
    ('channel_manager', 'product', 'update', 'tenant'),
    ('partner_sales', 'quote', 'read', 'org'),
    ('partner_sales', 'quote', 'read', 'own'),
    ('partner_sales', 'order', 'read', 'org'),
    ('partner_sales', 'order', 'read', 'own'),
    ('partner_sales', 'contract', 'read', 'org'),
    ('partner_sales', 'contract', 'read', 'own'),
    ('partner_sales', 'quote', 'create', 'own'),
    ('partner_sales', 'order', 'create', 'own'),
    ('partner_sales', 'quote', 'update', 'own'),
    ('partner_sales', 'order', 'update', 'own'),
    ('partner_manager', 'quote', 'read', 'org_tree'),
    ('partner_manager', 'order', 'read', 'org_tree'),
    ('partner_manager', 'contract', 'read', 'org_tree'),
    ('partner_manager', 'quote', 'update', 'org_tree'),
    ('partner_manager', 'order', 'update', 'org_tree'),
    ('erp_integration', 'order', 'read', 'tenant'),
    ('erp_integration', 'contract', 'read', 'tenant'),
    ('erp_integration', 'product', 'read', 'tenant'),
    ('erp_integration', 'erp_sync', 'read', 'tenant'),
    ('erp_integration', 'erp_sync', 'update', 'tenant'),
]

# PgQueuer's schema as its pinned release renders it (the job queue behind the outbox).
def _pgqueuer_install() -> str:
    from pgqueuer.adapters.persistence.qb import QueryBuilderEnvironment

    return QueryBuilderEnvironment().build_install_query(create_schema=False)


def _pgqueuer_uninstall() -> str:
    from pgqueuer.adapters.persistence.qb import QueryBuilderEnvironment

    return QueryBuilderEnvironment().build_uninstall_query()


def _run_script(sql: str) -> None:
    """Run a multi-statement script on the raw asyncpg connection (prepared statements take one command)."""
    from sqlalchemy.util import await_only

    await_only(op.get_bind().connection.driver_connection.execute(sql))  # type: ignore[union-attr]


def upgrade() -> None:
    _run_script(_pgqueuer_install())
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table('contract',
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('opportunity_id', sa.Uuid(), nullable=True),
    sa.Column('order_id', sa.Uuid(), nullable=True),
    sa.Column('partner_organization_id', sa.Uuid(), nullable=True),
    sa.Column('owner_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.Enum('DRAFT', 'IN_APPROVAL', 'ACTIVE', 'EXPIRING', 'RENEWED', 'TERMINATED', name='contract_status'), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('term_months', sa.Integer(), nullable=False),
    sa.Column('currency', sa.CHAR(length=3), nullable=False),
    sa.Column('value', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('approved_by_id', sa.Uuid(), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('renewal_opportunity_id', sa.Uuid(), nullable=True),
    sa.Column('renewed_by_contract_id', sa.Uuid(), nullable=True),
    sa.Column('termination_reason', sa.Text(), nullable=True),
    sa.Column('paid_amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('erp_id', sa.String(length=64), nullable=True),
    sa.Column('erp_number', sa.String(length=64), nullable=True),
    sa.Column('erp_state', sa.String(length=40), nullable=True),
    sa.Column('erp_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sync_state', sa.Enum('NOT_SENT', 'PENDING', 'SYNCED', 'FAILED', name='sync_state'), nullable=False),
    sa.Column('sync_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_contract_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_contract')),
    sa.UniqueConstraint('tenant_id', 'number', name=op.f('uq_contract_tenant_id_number'))
    )
    op.create_index('ix_contract_account', 'contract', ['tenant_id', 'account_id'], unique=False)
    op.create_index('ix_contract_end', 'contract', ['tenant_id', 'status', 'end_date'], unique=False)
    op.create_index('ix_contract_opportunity', 'contract', ['tenant_id', 'opportunity_id'], unique=False)
    op.create_table('erp_connection',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('adapter', sa.Enum('TRYTON', 'WEBHOOK', name='erp_adapter'), nullable=False),
    sa.Column('settings', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('webhook_secret', sa.String(length=200), nullable=True),
    sa.Column('poll_cursor', sa.String(length=64), nullable=True),
    sa.Column('last_polled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_poll_error', sa.Text(), nullable=True),
    sa.Column('products_synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_erp_connection_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_erp_connection'))
    )
    op.create_table('erp_credit',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('party_reference', sa.String(length=64), nullable=False),
    sa.Column('credit_limit', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('owed', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_erp_credit_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'party_reference', name=op.f('pk_erp_credit'))
    )
    op.create_table('installment',
    sa.Column('record_id', sa.Uuid(), nullable=False),
    sa.Column('order_id', sa.Uuid(), nullable=True),
    sa.Column('contract_id', sa.Uuid(), nullable=True),
    sa.Column('account_id', sa.Uuid(), nullable=True),
    sa.Column('partner_organization_id', sa.Uuid(), nullable=True),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('paid_amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('currency', sa.CHAR(length=3), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_installment_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_installment'))
    )
    op.create_index('ix_installment_record', 'installment', ['tenant_id', 'record_id', 'sequence'], unique=False)
    op.create_table('number_sequence',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=20), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_number_sequence_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'name', name=op.f('pk_number_sequence'))
    )
    op.create_table('outbox_message',
    sa.Column('kind', sa.Enum('ORDER', 'CONTRACT', name='outbox_kind'), nullable=False),
    sa.Column('record_id', sa.Uuid(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Enum('PENDING', 'DELIVERED', 'DEAD', 'CANCELLED', name='outbox_status'), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('erp_id', sa.String(length=64), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_outbox_message_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_outbox_message'))
    )
    op.create_index('ix_outbox_message_record', 'outbox_message', ['tenant_id', 'record_id'], unique=False)
    op.create_index('ix_outbox_message_status', 'outbox_message', ['tenant_id', 'status', 'created_at'], unique=False)
    op.create_table('payment',
    sa.Column('record_id', sa.Uuid(), nullable=False),
    sa.Column('order_id', sa.Uuid(), nullable=True),
    sa.Column('contract_id', sa.Uuid(), nullable=True),
    sa.Column('account_id', sa.Uuid(), nullable=True),
    sa.Column('partner_organization_id', sa.Uuid(), nullable=True),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('currency', sa.CHAR(length=3), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_payment_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_payment'))
    )
    op.create_index('ix_payment_record', 'payment', ['tenant_id', 'record_id'], unique=False)
    op.create_table('price_list',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('partner_kind', postgresql.ENUM(name='organization_kind', create_type=False), nullable=True),
    sa.Column('partner_tier', postgresql.ENUM(name='partner_tier', create_type=False), nullable=True),
    sa.Column('discount_percent', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_price_list_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_price_list')),
    sa.UniqueConstraint('tenant_id', 'partner_kind', 'partner_tier', name=op.f('uq_price_list_tenant_id_partner_kind_partner_tier'))
    )
    op.create_table('product',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('list_price', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('currency', sa.CHAR(length=3), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('erp_id', sa.String(length=64), nullable=True),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_product_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_product')),
    sa.UniqueConstraint('tenant_id', 'code', name=op.f('uq_product_tenant_id_code'))
    )
    op.create_table('sales_order',
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=True),
    sa.Column('opportunity_id', sa.Uuid(), nullable=True),
    sa.Column('quote_id', sa.Uuid(), nullable=True),
    sa.Column('partner_organization_id', sa.Uuid(), nullable=True),
    sa.Column('owner_id', sa.Uuid(), nullable=True),
    sa.Column('placed_by_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.Enum('SUBMITTED', 'CONFIRMED', 'SHIPPED', 'COMPLETED', 'CANCELLED', name='order_status'), nullable=False),
    sa.Column('currency', sa.CHAR(length=3), nullable=False),
    sa.Column('total', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('payment_terms_days', sa.Integer(), nullable=False),
    sa.Column('invoice_state', sa.String(length=40), nullable=True),
    sa.Column('shipment_state', sa.String(length=40), nullable=True),
    sa.Column('paid_amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('erp_total', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('erp_id', sa.String(length=64), nullable=True),
    sa.Column('erp_number', sa.String(length=64), nullable=True),
    sa.Column('erp_state', sa.String(length=40), nullable=True),
    sa.Column('erp_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sync_state', postgresql.ENUM(name='sync_state', create_type=False), nullable=False),
    sa.Column('sync_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_sales_order_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_sales_order')),
    sa.UniqueConstraint('tenant_id', 'number', name=op.f('uq_sales_order_tenant_id_number'))
    )
    op.create_index('ix_sales_order_account', 'sales_order', ['tenant_id', 'account_id'], unique=False)
    op.create_index('ix_sales_order_opportunity', 'sales_order', ['tenant_id', 'opportunity_id'], unique=False)
    op.create_index('ix_sales_order_partner', 'sales_order', ['tenant_id', 'partner_organization_id'], unique=False)
    op.create_table('webhook_receipt',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('delivery_id', sa.String(length=100), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_webhook_receipt_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'delivery_id', name=op.f('pk_webhook_receipt'))
    )
    op.create_table('contract_line',
    sa.Column('contract_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('product_code', sa.String(length=64), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('monthly_price', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'contract_id'], ['contract.tenant_id', 'contract.id'], name=op.f('fk_contract_line_tenant_id_contract_id_contract'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_contract_line'))
    )
    op.create_index('ix_contract_line_contract', 'contract_line', ['tenant_id', 'contract_id', 'position'], unique=False)
    op.create_table('price_list_item',
    sa.Column('price_list_id', sa.Uuid(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'price_list_id'], ['price_list.tenant_id', 'price_list.id'], name=op.f('fk_price_list_item_tenant_id_price_list_id_price_list'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'product_id'], ['product.tenant_id', 'product.id'], name=op.f('fk_price_list_item_tenant_id_product_id_product'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_price_list_item')),
    sa.UniqueConstraint('tenant_id', 'price_list_id', 'product_id', name=op.f('uq_price_list_item_tenant_id_price_list_id_product_id'))
    )
    op.create_table('sales_order_line',
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('product_code', sa.String(length=64), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('net_amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'order_id'], ['sales_order.tenant_id', 'sales_order.id'], name=op.f('fk_sales_order_line_tenant_id_order_id_sales_order'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_sales_order_line'))
    )
    op.create_index('ix_sales_order_line_order', 'sales_order_line', ['tenant_id', 'order_id', 'position'], unique=False)
    op.create_table('quote',
    sa.Column('opportunity_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('DRAFT', 'PENDING_APPROVAL', 'APPROVED', 'REJECTED', 'SENT', 'ACCEPTED', 'ORDERED', 'SUPERSEDED', name='quote_status'), nullable=False),
    sa.Column('currency', sa.CHAR(length=3), nullable=False),
    sa.Column('partner_organization_id', sa.Uuid(), nullable=True),
    sa.Column('subtotal', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('discount_total', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('total', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('max_discount_percent', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('approved_by_id', sa.Uuid(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'opportunity_id'], ['opportunity.tenant_id', 'opportunity.id'], name=op.f('fk_quote_tenant_id_opportunity_id_opportunity'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_quote_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_quote')),
    sa.UniqueConstraint('tenant_id', 'number', 'version', name=op.f('uq_quote_tenant_id_number_version'))
    )
    op.create_index('ix_quote_opportunity', 'quote', ['tenant_id', 'opportunity_id'], unique=False)
    op.create_table('quote_line',
    sa.Column('quote_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('product_code', sa.String(length=64), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('discount_percent', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('net_amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'quote_id'], ['quote.tenant_id', 'quote.id'], name=op.f('fk_quote_line_tenant_id_quote_id_quote'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_quote_line'))
    )
    op.create_index('ix_quote_line_quote', 'quote_line', ['tenant_id', 'quote_id', 'position'], unique=False)
    op.add_column('tenant', sa.Column('quote_approval_discount_percent', sa.Numeric(precision=5, scale=2), server_default='15', nullable=False))
    op.add_column('tenant', sa.Column('payment_terms_days', sa.Integer(), server_default='30', nullable=False))
    op.add_column('tenant', sa.Column('contract_renewal_days', sa.Integer(), server_default='90', nullable=False))
    grant_to_existing_tenants(NEW_GRANTS)
    # ### end Alembic commands ###


def downgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.drop_column('tenant', 'contract_renewal_days')
    op.drop_column('tenant', 'payment_terms_days')
    op.drop_column('tenant', 'quote_approval_discount_percent')
    op.drop_index('ix_quote_line_quote', table_name='quote_line')
    op.drop_table('quote_line')
    op.drop_index('ix_quote_opportunity', table_name='quote')
    op.drop_table('quote')
    op.drop_index('ix_sales_order_line_order', table_name='sales_order_line')
    op.drop_table('sales_order_line')
    op.drop_table('price_list_item')
    op.drop_index('ix_contract_line_contract', table_name='contract_line')
    op.drop_table('contract_line')
    op.drop_table('webhook_receipt')
    op.drop_index('ix_sales_order_partner', table_name='sales_order')
    op.drop_index('ix_sales_order_opportunity', table_name='sales_order')
    op.drop_index('ix_sales_order_account', table_name='sales_order')
    op.drop_table('sales_order')
    op.drop_table('product')
    op.drop_table('price_list')
    op.drop_index('ix_payment_record', table_name='payment')
    op.drop_table('payment')
    op.drop_index('ix_outbox_message_status', table_name='outbox_message')
    op.drop_index('ix_outbox_message_record', table_name='outbox_message')
    op.drop_table('outbox_message')
    op.drop_table('number_sequence')
    op.drop_index('ix_installment_record', table_name='installment')
    op.drop_table('installment')
    op.drop_table('erp_credit')
    op.drop_table('erp_connection')
    op.drop_index('ix_contract_opportunity', table_name='contract')
    op.drop_index('ix_contract_end', table_name='contract')
    op.drop_index('ix_contract_account', table_name='contract')
    op.drop_table('contract')
    for enum in ('contract_status', 'sync_state', 'erp_adapter', 'outbox_kind', 'outbox_status', 'order_status', 'quote_status'):
        op.execute(f'DROP TYPE IF EXISTS {enum}')
    _run_script(_pgqueuer_uninstall())
    # ### end Alembic commands ###
