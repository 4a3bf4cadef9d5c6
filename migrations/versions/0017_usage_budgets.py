"""usage budgets: token buckets of query-cost points per user, machine client and tenant

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-10 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('usage_bucket',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('level', sa.Double(), nullable=False),
    sa.Column('capacity', sa.Double(), nullable=False),
    sa.Column('refill_per_second', sa.Double(), nullable=False),
    sa.Column('last_cost', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(
        ['tenant_id'], ['tenant.id'], name=op.f('fk_usage_bucket_tenant_id_tenant'), ondelete='CASCADE'
    ),
    sa.PrimaryKeyConstraint('tenant_id', 'subject', name=op.f('pk_usage_bucket'))
    )


def downgrade() -> None:
    op.drop_table('usage_bucket')
