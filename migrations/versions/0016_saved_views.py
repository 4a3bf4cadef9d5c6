"""saved views: a person's named filters for the deal, lead, registration and order lists

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('saved_view',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('list_name', sa.Enum('DEALS', 'LEADS', 'DEAL_REGISTRATIONS', 'ORDERS', name='saved_view_list'), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('filters', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'user_id'], ['app_user.tenant_id', 'app_user.id'], name=op.f('fk_saved_view_tenant_id_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_saved_view'))
    )
    op.create_index('uq_saved_view_name', 'saved_view', ['tenant_id', 'user_id', 'list_name', 'name'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_saved_view_name', table_name='saved_view')
    op.drop_table('saved_view')
    sa.Enum(name='saved_view_list').drop(op.get_bind(), checkfirst=True)
