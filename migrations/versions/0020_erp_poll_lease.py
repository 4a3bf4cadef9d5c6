"""erp poll lease: a worker claims a tenant's inbound poll for a while instead of holding a locked transaction
across the ERP call

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-18 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("erp_connection", sa.Column("poll_claimed_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column("erp_connection", sa.Column("poll_claimed_by", sa.String(length=100), nullable=True))


def downgrade() -> None:
    op.drop_column("erp_connection", "poll_claimed_by")
    op.drop_column("erp_connection", "poll_claimed_until")
