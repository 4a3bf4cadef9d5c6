"""outbox leases: a delivery claims its message (and a new party) for a while instead of locking it across the ERP call;
retries are bounded by time

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-11 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox_message", sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column("outbox_message", sa.Column("claimed_by", sa.String(length=100), nullable=True))
    op.add_column("outbox_message", sa.Column("retry_until", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_outbox_message_due", "outbox_message", ["status", "next_attempt_at"], unique=False)
    op.alter_column("erp_party", "erp_id", existing_type=sa.String(length=64), nullable=True)
    op.add_column("erp_party", sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("erp_party", "claimed_until")
    op.execute("DELETE FROM erp_party WHERE erp_id IS NULL")
    op.alter_column("erp_party", "erp_id", existing_type=sa.String(length=64), nullable=False)
    op.drop_index("ix_outbox_message_due", table_name="outbox_message")
    op.drop_column("outbox_message", "retry_until")
    op.drop_column("outbox_message", "claimed_by")
    op.drop_column("outbox_message", "claimed_until")
