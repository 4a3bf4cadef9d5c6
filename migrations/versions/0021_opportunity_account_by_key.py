"""opportunity account by key: the (tenant_id, id) key with the account beside it, so the account rules read the
accounts of a set of opportunities from the index alone

The account row rules ask "accounts of the opportunities linked to these partners (or on this user's team, or
owned by them)": PostgreSQL gathers those opportunity ids from opportunity_partner or opportunity_team_member and
then needs each one's account_id. Through the primary key that is one heap visit per opportunity (50,000 for a
distributor on the bench's data); with account_id included in a (tenant_id, id) index it is an index-only scan
(issue #14).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-19 12:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_opportunity_id_account",
        "opportunity",
        ["tenant_id", "id"],
        unique=False,
        postgresql_include=["account_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_opportunity_id_account", table_name="opportunity")
