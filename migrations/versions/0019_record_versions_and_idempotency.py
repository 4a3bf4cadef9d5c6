"""record versions and idempotency keys: optimistic concurrency on the records people edit together, and creates
that a retry does not repeat

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-14 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tables of the records people edit together; every existing row starts at version 1.
VERSIONED = ("opportunity", "account", "contact", "quote", "contract", "organization")


def upgrade() -> None:
    for table in VERSIONED:
        op.add_column(table, sa.Column("row_version", sa.Integer(), server_default="1", nullable=False))
    op.add_column("audit_event", sa.Column("record_version", sa.Integer(), nullable=True))
    op.create_table(
        "idempotency_key",
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("operation", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("record_type", sa.String(length=60), nullable=True),
        sa.Column("record_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_idempotency_key_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_idempotency_key")),
    )
    op.create_index("uq_idempotency_key", "idempotency_key", ["tenant_id", "actor", "operation", "key"], unique=True)
    op.create_index("ix_idempotency_key_expires", "idempotency_key", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_idempotency_key_expires", table_name="idempotency_key")
    op.drop_index("uq_idempotency_key", table_name="idempotency_key")
    op.drop_table("idempotency_key")
    op.drop_column("audit_event", "record_version")
    for table in reversed(VERSIONED):
        op.drop_column(table, "row_version")
