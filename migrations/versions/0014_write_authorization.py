"""write authorization: who may change a deal's owner, team and partner links; channel managers change the
partners they manage only

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 09:00:00.000000
"""

from collections.abc import Sequence

from migrations.policy_grants import grant_to_existing_tenants, revoke_from_existing_tenants

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Ownership, team seats and partner links, for tenants created before this release (they were implied by the
# right to edit a deal until now).
NEW_GRANTS = [
    ('internal_staff', 'opportunity_team', 'update', 'tenant'),
    ('internal_staff', 'opportunity_partner', 'update', 'tenant'),
    ('account_manager', 'opportunity_owner', 'update', 'own'),
    ('sales_manager', 'opportunity_owner', 'update', 'territory'),
    ('sales_director', 'opportunity_owner', 'update', 'tenant'),
    ('admin', 'opportunity_owner', 'update', 'tenant'),
    ('admin', 'opportunity_team', 'update', 'tenant'),
    ('admin', 'opportunity_partner', 'update', 'tenant'),
    ('partner_sales', 'opportunity_team', 'update', 'org'),
    ('partner_sales', 'opportunity_partner', 'update', 'org'),
    ('partner_sales', 'opportunity_owner', 'update', 'own'),
    ('partner_manager', 'opportunity_owner', 'update', 'org_tree'),
    ('channel_manager', 'organization', 'update', 'managed'),
]
# Taken out of the defaults: a channel manager no longer changes (or moves) partners it does not manage.
REVOKED_GRANTS = [
    ('channel_manager', 'organization', 'update', 'tenant'),
]


def upgrade() -> None:
    revoke_from_existing_tenants(REVOKED_GRANTS)
    grant_to_existing_tenants(NEW_GRANTS)


def downgrade() -> None:
    revoke_from_existing_tenants(NEW_GRANTS)
    grant_to_existing_tenants(REVOKED_GRANTS)
