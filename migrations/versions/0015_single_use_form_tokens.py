"""single-use form tokens: the timing tokens public web forms have taken

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('web_form_token_use',
    sa.Column('form_id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'form_id'], ['web_form.tenant_id', 'web_form.id'], name=op.f('fk_web_form_token_use_tenant_id_form_id_web_form'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_web_form_token_use'))
    )
    op.create_index('ix_web_form_token_use_form_created', 'web_form_token_use', ['form_id', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_web_form_token_use_form_created', table_name='web_form_token_use')
    op.drop_table('web_form_token_use')
