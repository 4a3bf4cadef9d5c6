"""Giving existing tenants the grants a release adds to the defaults (new tenants get them at creation)."""

from __future__ import annotations

from alembic import op


def grant_to_existing_tenants(grants: list[tuple[str, str, str, str]]) -> None:
    """Insert each (role, resource, action, scope) for every tenant that lacks it, and reload their enforcers.

    Only missing lines are added, so a tenant's own policy edits are kept.
    """
    values = ", ".join(f"('{role}', '{resource}', '{action}', '{scope}')" for role, resource, action, scope in grants)
    op.execute(
        f"""
        INSERT INTO policy_rule (tenant_id, ptype, v0, v1, v2, v3, v4)
        SELECT t.id, 'p', g.role, t.id::text, g.resource, g.action, g.scope
        FROM tenant t CROSS JOIN (VALUES {values}) AS g(role, resource, action, scope)
        WHERE NOT EXISTS (
            SELECT 1 FROM policy_rule p WHERE p.tenant_id = t.id AND p.ptype = 'p' AND p.v0 = g.role
              AND p.v2 = g.resource AND p.v3 = g.action AND p.v4 = g.scope
        )
        """  # noqa: S608 - the values are this release's constant grants, not input
    )
    op.execute("UPDATE tenant SET policy_version = policy_version + 1")


def revoke_from_existing_tenants(grants: list[tuple[str, str, str, str]]) -> None:
    """Delete each (role, resource, action, scope) a release takes out of the defaults, from every tenant.

    Call it before `grant_to_existing_tenants` in the same migration: that one reloads the enforcers.
    """
    values = ", ".join(f"('{role}', '{resource}', '{action}', '{scope}')" for role, resource, action, scope in grants)
    op.execute(
        f"""
        DELETE FROM policy_rule p
        USING (VALUES {values}) AS g(role, resource, action, scope)
        WHERE p.ptype = 'p' AND p.v0 = g.role AND p.v2 = g.resource AND p.v3 = g.action AND p.v4 = g.scope
        """  # noqa: S608 - the values are this release's constant grants, not input
    )
