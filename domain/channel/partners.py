"""The partner network: onboarding partners under the enterprise or a distributor, their programme
fields, and moving a partner (with everything below it) to another parent."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access.actor import Access, Action, Resource
from domain.access.principals import ACTIVE_ORG_STATUSES
from domain.access.visibility import get_or_raise
from domain.audit import trail as audit_log
from domain.channel.organizations import (
    Organization,
    OrganizationKind,
    OrganizationStatus,
    PartnerTier,
    child_path,
)
from domain.identity.sign_in.sessions import revoke_organization_sessions
from domain.identity.users import INTERNAL_ROLES, User
from domain.selling.territories import Territory
from domain.shared.commands import UNSET, Patch, is_set
from domain.shared.errors import ErrorCode, Forbidden, Validator
from domain.shared.record_versions import require_version

# Which kinds of organization may sit directly under which.
ALLOWED_PARENTS: dict[OrganizationKind, frozenset[OrganizationKind]] = {
    OrganizationKind.DISTRIBUTOR: frozenset({OrganizationKind.ENTERPRISE}),
    OrganizationKind.DEALER: frozenset({OrganizationKind.ENTERPRISE, OrganizationKind.DISTRIBUTOR}),
    # Multi-tier: a dealer may have resellers and agents of its own.
    OrganizationKind.RESELLER: frozenset(
        {OrganizationKind.ENTERPRISE, OrganizationKind.DISTRIBUTOR, OrganizationKind.DEALER}
    ),
    OrganizationKind.AGENT: frozenset(
        {OrganizationKind.ENTERPRISE, OrganizationKind.DISTRIBUTOR, OrganizationKind.DEALER}
    ),
}
# Programme fields only the enterprise sets: a partner cannot promote, reinstate or reassign itself.
PROGRAMME_FIELDS = {"tier": "tier", "status": "status", "channel_manager_id": "channelManagerId"}


@dataclass
class PartnerChanges:
    """Fields of a partner organization; UNSET leaves a field as it is."""

    name: Patch[str] = UNSET
    tier: Patch[PartnerTier] = UNSET
    status: Patch[OrganizationStatus] = UNSET
    specializations: Patch[list[str]] = UNSET
    region_ids: Patch[list[uuid.UUID]] = UNSET
    channel_manager_id: Patch[uuid.UUID | None] = UNSET


async def _validated(
    session: AsyncSession, access: Access, changes: PartnerChanges, *, creating: bool
) -> dict[str, Any]:
    v = Validator()
    values: dict[str, Any] = {}
    if is_set(changes.name) or creating:
        name = v.require_text("name", changes.name if is_set(changes.name) else None, max_length=200)
        if name:
            values["name"] = name
    for attr in ("tier", "status"):
        raw = getattr(changes, attr)
        if is_set(raw):
            if raw is None:
                v.fail(attr, ErrorCode.REQUIRED, f"{attr} must not be null.")
            else:
                values[attr] = raw
    if is_set(changes.specializations):
        cleaned = sorted({s.strip() for s in changes.specializations or [] if s.strip()})
        if any(len(s) > 100 for s in cleaned):
            v.fail("specializations", ErrorCode.TOO_LONG, "Each specialization must be at most 100 characters.")
        values["specializations"] = cleaned
    if is_set(changes.region_ids):
        wanted = set(changes.region_ids or [])
        found = set(
            (
                await session.execute(
                    select(Territory.id).where(Territory.tenant_id == access.actor.tenant_id, Territory.id.in_(wanted))
                )
            ).scalars()
        )
        if found != wanted:
            v.fail("regionIds", ErrorCode.NOT_FOUND, "Some regionIds are not territories of this tenant.")
        values["region_ids"] = sorted(wanted)
    if is_set(changes.channel_manager_id):
        manager_id = changes.channel_manager_id
        if manager_id is not None:
            manager = (
                await session.execute(
                    select(User).where(access.rows(Resource.USER), User.id == manager_id, User.is_active)
                )
            ).scalar_one_or_none()
            if manager is None:
                v.fail("channelManagerId", ErrorCode.NOT_FOUND, "No active user with that channelManagerId.")
            elif not set(manager.roles) & INTERNAL_ROLES:
                v.fail("channelManagerId", ErrorCode.INVALID, "The channel manager must be an internal user.")
        values["channel_manager_id"] = manager_id
    v.raise_if_any()
    if access.actor.is_partner:
        touched = [PROGRAMME_FIELDS[f] for f in PROGRAMME_FIELDS if f in values]
        if touched:
            raise Forbidden(f"Partners cannot set programme fields: {', '.join(touched)}.", field=touched[0])
    return values


def _check_parent(kind: OrganizationKind, parent: Organization, field: str) -> None:
    allowed = ALLOWED_PARENTS.get(kind)
    if allowed is None:
        v = Validator()
        v.fail("kind", ErrorCode.INVALID, "kind must be a partner kind: distributor, dealer, reseller or agent.")
        v.raise_if_any()
    if parent.kind not in allowed:  # type: ignore[operator]
        v = Validator()
        v.fail(field, ErrorCode.INVALID, f"A {kind.value} cannot sit under a {parent.kind.value}.")
        v.raise_if_any()


async def onboard_partner(
    session: AsyncSession, access: Access, kind: OrganizationKind, parent_id: uuid.UUID, changes: PartnerChanges
) -> Organization:
    """A new partner under the enterprise or a distributor the actor can see; partners start as prospects."""
    if not access.can(Resource.ORGANIZATION, Action.CREATE):
        raise Forbidden("Your role may not onboard partners.")
    parent = await get_or_raise(
        session, access, Organization, Resource.ORGANIZATION, parent_id, action=Action.CREATE, field="parentId"
    )
    _check_parent(kind, parent, "parentId")
    values = await _validated(session, access, changes, creating=True)
    # Defaults the caller did not choose: the enterprise onboards active partners, a partner onboards prospects.
    values.setdefault("status", OrganizationStatus.PROSPECT if access.actor.is_partner else OrganizationStatus.ACTIVE)
    values.setdefault("tier", PartnerTier.REGISTERED)
    org_id = uuid.uuid4()
    organization = Organization(
        tenant_id=access.actor.tenant_id, id=org_id, kind=kind, parent_id=parent.id,
        path=child_path(parent.path, org_id), **values,
    )  # fmt: skip
    session.add(organization)
    await session.flush()
    audit_log.record(
        session, access, record_type="organization", record_id=org_id, action="onboarded",
        changes=audit_log.created_changes({"kind": kind, "parent_id": parent.id, **values}),
    )  # fmt: skip
    return organization


async def update_partner(
    session: AsyncSession,
    access: Access,
    organization_id: uuid.UUID,
    changes: PartnerChanges,
    *,
    expected_version: int | None = None,
) -> Organization:
    """Change a partner's name, specializations, regions, or (internal roles only) tier, status and manager.

    Suspending or terminating a partner takes its users' access away on their next request. With
    `expected_version` (the version the actor read), a partner changed since is refused (StaleVersion).
    """
    organization = await get_or_raise(
        session, access, Organization, Resource.ORGANIZATION, organization_id, action=Action.UPDATE, for_update=True
    )
    await require_version(session, organization, expected_version)
    if not organization.is_partner:
        raise Forbidden("The enterprise itself is not changed here.", field="id")
    values = await _validated(session, access, changes, creating=False)
    await audit_log.apply_and_record(session, access, organization, "organization", values)
    if organization.status not in ACTIVE_ORG_STATUSES:
        await revoke_organization_sessions(
            session, organization.tenant_id, organization.id, f"organization {organization.status}"
        )
    return organization


async def move_organization(
    session: AsyncSession,
    access: Access,
    organization_id: uuid.UUID,
    new_parent_id: uuid.UUID,
    reason: str | None,
    *,
    expected_version: int | None = None,
) -> Organization:
    """Re-parent a partner and its whole subtree; who sees what follows at once, since visibility is by path.

    A move needs the right to change both ends: the partner moved and the parent it moves under (a channel
    manager moves its own partners among the partners it manages; only tenant-wide roles move them elsewhere).
    """
    if access.actor.is_partner:
        raise Forbidden("Only the enterprise moves partners between parents.")
    v = Validator()
    reason = v.require_text("reason", reason, max_length=2000)
    v.raise_if_any()
    organization = await get_or_raise(
        session, access, Organization, Resource.ORGANIZATION, organization_id, action=Action.UPDATE, for_update=True
    )
    if not organization.is_partner:
        raise Forbidden("The enterprise cannot be moved.", field="id")
    await require_version(session, organization, expected_version)
    new_parent = await get_or_raise(
        session, access, Organization, Resource.ORGANIZATION, new_parent_id, field="newParentId"
    )
    may_receive = (
        await session.execute(
            select(Organization.id).where(
                access.rows(Resource.ORGANIZATION, Action.UPDATE), Organization.id == new_parent.id
            )
        )
    ).scalar_one_or_none()
    if may_receive is None:
        raise Forbidden(
            "You may move a partner only under a parent you may change yourself (one you manage).",
            field="newParentId",
        )
    if new_parent.path.startswith(organization.path):
        v.fail("newParentId", ErrorCode.INVALID, "An organization cannot move under itself or its own sub-partners.")
    elif new_parent.id == organization.parent_id:
        v.fail("newParentId", ErrorCode.INVALID, "The organization is already under that parent.")
    v.raise_if_any()
    _check_parent(organization.kind, new_parent, "newParentId")
    old_path, new_path = organization.path, child_path(new_parent.path, organization.id)
    old_parent = organization.parent_id
    await session.execute(
        update(Organization)
        .where(
            Organization.tenant_id == organization.tenant_id, Organization.path.startswith(old_path, autoescape=True)
        )
        .values(path=func.concat(new_path, func.substr(Organization.path, len(old_path) + 1)))
        .execution_options(synchronize_session=False)
    )
    organization.parent_id = new_parent.id
    await session.flush()
    await session.refresh(organization)
    audit_log.record(
        session, access, record_type="organization", record_id=organization.id, action="moved",
        changes={"parent_id": {"old": str(old_parent), "new": str(new_parent.id)}}, reason=reason,
    )  # fmt: skip
    return organization
