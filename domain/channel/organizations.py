"""Organizations: the enterprise itself and its channel partners, as a tree, and the partner network's use cases
(onboarding partners under the enterprise or a distributor, their programme fields, and moving a partner, with
everything below it, to another parent)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ARRAY, Enum, ForeignKeyConstraint, Index, String, Uuid, func, update
from sqlalchemy.orm import Mapped, mapped_column

from domain.access.actor import Action, Resource
from domain.access.unit_of_work import Protected, UnitOfWork, system_unit_of_work
from domain.audit import trail as audit_log
from domain.channel.codes import ChannelCode
from domain.identity.users import INTERNAL_ROLES, User
from domain.selling.territories import Territory
from domain.shared.base import Base, TenantScoped, Timestamped
from domain.shared.commands import UNSET, Patch, is_set
from domain.shared.errors import ErrorCode, FieldError, Forbidden, ValidationFailed, Validator
from domain.shared.record_versions import Versioned, require_version


class OrganizationKind(StrEnum):
    ENTERPRISE = "enterprise"
    DISTRIBUTOR = "distributor"
    DEALER = "dealer"
    RESELLER = "reseller"
    AGENT = "agent"


PARTNER_KINDS = frozenset(
    {OrganizationKind.DISTRIBUTOR, OrganizationKind.DEALER, OrganizationKind.RESELLER, OrganizationKind.AGENT}
)


class PartnerTier(StrEnum):
    PLATINUM = "platinum"
    GOLD = "gold"
    SILVER = "silver"
    REGISTERED = "registered"


class OrganizationStatus(StrEnum):
    PROSPECT = "prospect"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"


def child_path(parent_path: str | None, org_id: uuid.UUID) -> str:
    """Materialized path of a node: its ancestors' ids and its own, slash-delimited."""
    return f"{parent_path or '/'}{org_id.hex}/"


class Organization(Protected, TenantScoped, Timestamped, Versioned, Base):
    """The enterprise or one of its partners; `path` lists the ids from the root down."""

    __resource__ = Resource.ORGANIZATION
    __label__ = "organization"

    audit_record_type = "organization"
    bookkeeping_fields = frozenset({"path"})  # follows the parent

    __tablename__ = "organization"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "parent_id"], ["organization.tenant_id", "organization.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "channel_manager_id"], ["app_user.tenant_id", "app_user.id"], use_alter=True
        ),
        Index("ix_organization_path", "tenant_id", "path", postgresql_ops={"path": "text_pattern_ops"}),
    )

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[OrganizationKind] = mapped_column(Enum(OrganizationKind, name="organization_kind"))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    path: Mapped[str] = mapped_column(String(2000))
    tier: Mapped[PartnerTier | None] = mapped_column(Enum(PartnerTier, name="partner_tier"), nullable=True)
    status: Mapped[OrganizationStatus] = mapped_column(
        Enum(OrganizationStatus, name="organization_status"), default=OrganizationStatus.ACTIVE
    )
    # Product lines and industries the partner is qualified for.
    specializations: Mapped[list[str]] = mapped_column(ARRAY(String(100)), default=list, server_default="{}")
    # Territories the partner serves.
    region_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list, server_default="{}")
    # The internal user who owns the relationship with this partner.
    channel_manager_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)

    @property
    def is_partner(self) -> bool:
        return self.kind in PARTNER_KINDS


# --- The partner network ---------------------------------------------------------------------

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
    tier: Patch[PartnerTier | None] = UNSET  # None (and for status too) is refused as a field error
    status: Patch[OrganizationStatus | None] = UNSET
    specializations: Patch[list[str]] = UNSET
    region_ids: Patch[list[uuid.UUID]] = UNSET
    channel_manager_id: Patch[uuid.UUID | None] = UNSET


async def tenant_territory_ids(uow: UnitOfWork, wanted: set[uuid.UUID]) -> set[uuid.UUID]:
    """Which of `wanted` are territories of the tenant: a reference check, whoever may read the territories."""
    if not wanted:
        return set()
    territories = system_unit_of_work(uow.session, uow.tenant_id, "territory references of a partner")
    stmt = territories.visible_columns(Territory, Territory.id).where(Territory.id.in_(wanted))
    return set((await uow.session.execute(stmt)).scalars())


async def _validated(uow: UnitOfWork, changes: PartnerChanges, *, creating: bool) -> dict[str, Any]:
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
        wanted: set[uuid.UUID] = set(changes.region_ids or [])
        if await tenant_territory_ids(uow, wanted) != wanted:
            v.fail("regionIds", ErrorCode.NOT_FOUND, "Some regionIds are not territories of this tenant.")
        values["region_ids"] = sorted(wanted)
    if is_set(changes.channel_manager_id):
        manager_id = changes.channel_manager_id
        if manager_id is not None:
            stmt = uow.visible(User).where(User.id == manager_id, User.is_active)
            manager = (await uow.session.execute(stmt)).scalar_one_or_none()
            if manager is None:
                v.fail("channelManagerId", ErrorCode.NOT_FOUND, "No active user with that channelManagerId.")
            elif not set(manager.roles) & INTERNAL_ROLES:
                v.fail("channelManagerId", ErrorCode.INVALID, "The channel manager must be an internal user.")
        values["channel_manager_id"] = manager_id
    v.raise_if_any()
    if uow.actor.is_partner:
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
    elif parent.kind not in allowed:
        message = f"A {kind.value} cannot sit under a {parent.kind.value}."
        raise ValidationFailed([FieldError(field, ChannelCode.PARENT_KIND_NOT_ALLOWED, message)])


async def onboard_partner(
    uow: UnitOfWork, kind: OrganizationKind, parent_id: uuid.UUID, changes: PartnerChanges
) -> Organization:
    """A new partner under the enterprise or a distributor the actor can see; partners start as prospects."""
    if not uow.access.can(Resource.ORGANIZATION, Action.CREATE):
        raise Forbidden("Your role may not onboard partners.")
    parent = await uow.get(Organization, parent_id, action=Action.CREATE, field="parentId")
    _check_parent(kind, parent, "parentId")
    values = await _validated(uow, changes, creating=True)
    # Defaults the caller did not choose: the enterprise onboards active partners, a partner onboards prospects.
    values.setdefault("status", OrganizationStatus.PROSPECT if uow.actor.is_partner else OrganizationStatus.ACTIVE)
    values.setdefault("tier", PartnerTier.REGISTERED)
    org_id = uuid.uuid4()
    organization = Organization(
        tenant_id=uow.tenant_id,
        id=org_id,
        kind=kind,
        parent_id=parent.id,
        path=child_path(parent.path, org_id),
        **values,
    )
    uow.session.add(organization)
    await uow.session.flush()
    audit_log.record(
        uow.session,
        uow.access,
        record_type="organization",
        record_id=org_id,
        action="onboarded",
        changes=audit_log.created_changes({"kind": kind, "parent_id": parent.id, **values}),
    )
    return organization


async def update_partner(
    uow: UnitOfWork, organization_id: uuid.UUID, changes: PartnerChanges, *, expected_version: int | None = None
) -> Organization:
    """Change a partner's name, specializations, regions, or (internal roles only) tier, status and manager.

    With `expected_version` (the version the actor read), a partner changed since is refused (StaleVersion).
    Cutting a suspended or terminated partner's users off is the service's (services.channel.update_partner).
    """
    organization = await uow.get(Organization, organization_id, action=Action.UPDATE, for_update=True)
    await require_version(uow.session, organization, expected_version)
    if not organization.is_partner:
        raise Forbidden("The enterprise itself is not changed here.", field="id")
    values = await _validated(uow, changes, creating=False)
    await audit_log.apply_and_record(uow.session, uow.access, organization, "organization", values)
    return organization


async def move_organization(
    uow: UnitOfWork,
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
    if uow.actor.is_partner:
        raise Forbidden("Only the enterprise moves partners between parents.")
    v = Validator()
    reason = v.require_text("reason", reason, max_length=2000)
    v.raise_if_any()
    organization = await uow.get(Organization, organization_id, action=Action.UPDATE, for_update=True)
    if not organization.is_partner:
        raise Forbidden("The enterprise cannot be moved.", field="id")
    await require_version(uow.session, organization, expected_version)
    new_parent = await uow.get(Organization, new_parent_id, field="newParentId")
    may_receive = await uow.session.scalar(
        uow.visible_columns(Organization, Organization.id, action=Action.UPDATE).where(Organization.id == new_parent.id)
    )
    if may_receive is None:
        raise Forbidden(
            "You may move a partner only under a parent you may change yourself (one you manage).",
            field="newParentId",
        )
    if new_parent.path.startswith(organization.path):
        message = "An organization cannot move under itself or its own sub-partners."
        raise ValidationFailed([FieldError("newParentId", ChannelCode.MOVE_INTO_OWN_SUBTREE, message)])
    if new_parent.id == organization.parent_id:
        v.fail("newParentId", ErrorCode.INVALID, "The organization is already under that parent.")
    v.raise_if_any()
    _check_parent(organization.kind, new_parent, "newParentId")
    old_path, new_path = organization.path, child_path(new_parent.path, organization.id)
    old_parent = organization.parent_id
    await uow.session.execute(
        update(Organization)
        .where(
            Organization.tenant_id == organization.tenant_id, Organization.path.startswith(old_path, autoescape=True)
        )
        .values(path=func.concat(new_path, func.substr(Organization.path, len(old_path) + 1)))
        .execution_options(synchronize_session=False)
    )
    organization.parent_id = new_parent.id
    await uow.session.flush()
    await uow.session.refresh(organization)
    audit_log.record(
        uow.session,
        uow.access,
        record_type="organization",
        record_id=organization.id,
        action="moved",
        changes={"parent_id": {"old": str(old_parent), "new": str(new_parent.id)}},
        reason=reason,
    )
    return organization
