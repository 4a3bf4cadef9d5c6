"""Mutations on the partner network and its users."""

from __future__ import annotations

import uuid

import strawberry
from strawberry.types import Info

from api.auth.links import link_pages
from api.graphql.channel.directory.types import (
    OrganizationStatusType,
    OrganizationType,
    UserType,
)
from api.graphql.channel.partner_kinds import PartnerKindType, organization_kind, partner_tier
from api.graphql.channel.partner_kinds import PartnerTierType as InputTierType
from api.graphql.errors import UserError
from api.graphql.idempotency import idempotency_key_field
from api.graphql.inputs import patch
from api.graphql.mutation import mutate
from api.graphql.record_versions import expected_version_field
from api.graphql.relay import id_of, optional_id_of
from api.graphql.resolving import ctx
from domain.access.unit_of_work import UnitOfWork
from domain.channel.organizations import Organization, PartnerChanges, move_organization, onboard_partner
from domain.identity.user_admin import invite_user, resend_invitation, set_user_active, set_user_roles
from domain.identity.users import User
from domain.shared.commands import UNSET
from services import channel as channel_service

U = strawberry.UNSET


@strawberry.input(description="A new partner under the enterprise or under a distributor.")
class OnboardPartnerInput:
    name: str = strawberry.field(description="Legal or trading name (1–200 characters).")
    kind: PartnerKindType = strawberry.field(
        description="DISTRIBUTOR (under the enterprise), DEALER, RESELLER or AGENT."
    )
    parent_id: strawberry.ID = strawberry.field(description="The enterprise or a distributor.")
    tier: InputTierType | None = strawberry.field(default=None, description="Programme tier; REGISTERED if left out.")
    status: OrganizationStatusType | None = strawberry.field(
        default=None, description="ACTIVE when the enterprise onboards, PROSPECT when a partner does."
    )
    specializations: list[str] | None = strawberry.field(default=None, description="Product lines and industries.")
    region_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Territories served.")
    channel_manager_id: strawberry.ID | None = strawberry.field(default=None, description="Relationship owner.")
    idempotency_key: str | None = idempotency_key_field()


@strawberry.input(description="Changes to a partner; fields left out stay as they are.")
class UpdatePartnerInput:
    id: strawberry.ID = strawberry.field(description="The partner organization.")
    name: str | None = strawberry.field(default=U, description="Name.")
    tier: InputTierType | None = strawberry.field(default=U, description="Tier (internal roles only).")
    status: OrganizationStatusType | None = strawberry.field(
        default=U, description="Status (internal roles only); SUSPENDED or TERMINATED cuts its users off at once."
    )
    specializations: list[str] | None = strawberry.field(default=U, description="Replaces the specializations.")
    region_ids: list[strawberry.ID] | None = strawberry.field(default=U, description="Replaces the regions served.")
    channel_manager_id: strawberry.ID | None = strawberry.field(default=U, description="Relationship owner.")
    expected_version: int | None = expected_version_field()


@strawberry.input(description="Move a partner, with everything below it, under another parent.")
class MoveOrganizationInput:
    id: strawberry.ID = strawberry.field(description="The partner to move.")
    new_parent_id: strawberry.ID = strawberry.field(description="Its new parent: the enterprise or a distributor.")
    reason: str = strawberry.field(description="Why (kept in the audit trail).")
    expected_version: int | None = expected_version_field()


@strawberry.type(description="The result of an organization mutation.")
class OrganizationPayload:
    organization: OrganizationType | None = strawberry.field(description="The organization; null when errors.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


@strawberry.input(description="A new user of an organization the caller manages.")
class InviteUserInput:
    email: str = strawberry.field(description="Sign-in e-mail, unique in the tenant.")
    name: str = strawberry.field(description="Full name.")
    organization_id: strawberry.ID = strawberry.field(description="Home organization.")
    roles: list[str] = strawberry.field(description="Roles; partner organizations take partner roles only.")
    locale: str = strawberry.field(
        default="en", description="Language of the invitation and later e-mails to the user: en or zh-CN."
    )
    idempotency_key: str | None = idempotency_key_field()


@strawberry.input(description="Send an invited user a new invitation link; the one sent before stops working.")
class ResendInvitationInput:
    user_id: strawberry.ID = strawberry.field(description="The invited user; they must not have set a password yet.")


@strawberry.input(description="Deactivate or reactivate a user.")
class SetUserActiveInput:
    id: strawberry.ID = strawberry.field(description="The user.")
    active: bool = strawberry.field(description="false cuts the user off at once; true lets them back in.")
    reason: str | None = strawberry.field(default=None, description="Why; required to deactivate.")


@strawberry.input(description="Replace a user's roles.")
class SetUserRolesInput:
    id: strawberry.ID = strawberry.field(description="The user; not yourself.")
    roles: list[str] = strawberry.field(
        description="The roles they hold from now on, at least one; partner users take partner roles only "
        "(partner_admin, partner_manager, partner_sales)."
    )


@strawberry.type(description="The result of a user mutation.")
class UserPayload:
    user: UserType | None = strawberry.field(description="The user; null when errors.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


def _organization_failed(errors: list[UserError]) -> OrganizationPayload:
    return OrganizationPayload(organization=None, errors=errors)


def _organization_succeeded(row: Organization | None) -> OrganizationPayload:
    return OrganizationPayload(organization=OrganizationType.from_row(row) if row else None, errors=[])


def _user_failed(errors: list[UserError]) -> UserPayload:
    return UserPayload(user=None, errors=errors)


def _user_succeeded(row: User | None) -> UserPayload:
    return UserPayload(user=UserType.from_row(row) if row else None, errors=[])


def _region_ids(values: list[strawberry.ID] | None) -> list[uuid.UUID]:
    return [id_of(v, "Territory", "regionIds") for v in values or []]


@strawberry.type
class DirectoryMutations:
    @strawberry.mutation(description="Onboard a partner under the enterprise or a distributor the caller manages.")
    async def onboard_partner(self, info: Info, input: OnboardPartnerInput) -> OrganizationPayload:
        async def create(uow: UnitOfWork) -> Organization:
            manager = input.channel_manager_id
            changes = PartnerChanges(
                name=input.name,
                tier=UNSET if input.tier is None else partner_tier(input.tier),
                status=UNSET if input.status is None else input.status,
                specializations=UNSET if input.specializations is None else input.specializations,
                region_ids=UNSET if input.region_ids is None else _region_ids(input.region_ids),
                channel_manager_id=UNSET if manager is None else id_of(manager, "User", "channelManagerId"),
            )
            parent_id = id_of(input.parent_id, "Organization", "parentId")
            return await onboard_partner(uow, organization_kind(input.kind), parent_id, changes)

        return await mutate(
            info,
            create,
            payload=_organization_succeeded,
            failed=_organization_failed,
            node="Organization",
            idempotency_key=input.idempotency_key,
            request=input,
        )

    @strawberry.mutation(
        description="Change a partner's details; tier, status and channel manager are the enterprise's."
    )
    async def update_partner(self, info: Info, input: UpdatePartnerInput) -> OrganizationPayload:
        async def change(uow: UnitOfWork) -> Organization:
            regions = patch(input.region_ids)
            manager = patch(input.channel_manager_id)
            tier = patch(input.tier)
            changes = PartnerChanges(
                name=patch(input.name),
                tier=tier if tier is UNSET else partner_tier(tier),
                status=patch(input.status),
                specializations=patch(input.specializations),
                region_ids=regions if regions is UNSET else _region_ids(regions),
                channel_manager_id=manager if manager is UNSET else optional_id_of(manager, "User", "channelManagerId"),
            )
            organization_id = id_of(input.id, "Organization", "id")
            return await channel_service.update_partner(
                uow, organization_id, changes, expected_version=input.expected_version
            )

        return await mutate(
            info, change, payload=_organization_succeeded, failed=_organization_failed, node="Organization"
        )

    @strawberry.mutation(description="Move a partner and its sub-partners under another parent; visibility follows.")
    async def move_organization(self, info: Info, input: MoveOrganizationInput) -> OrganizationPayload:
        async def change(uow: UnitOfWork) -> Organization:
            organization_id = id_of(input.id, "Organization", "id")
            new_parent_id = id_of(input.new_parent_id, "Organization", "newParentId")
            return await move_organization(
                uow, organization_id, new_parent_id, input.reason, expected_version=input.expected_version
            )

        return await mutate(
            info, change, payload=_organization_succeeded, failed=_organization_failed, node="Organization"
        )

    @strawberry.mutation(
        description="Add a user to an organization the caller manages and e-mail them an invitation link "
        "(single use, valid 7 days) to choose their password."
    )
    async def invite_user(self, info: Info, input: InviteUserInput) -> UserPayload:
        async def create(uow: UnitOfWork) -> User:
            organization_id = id_of(input.organization_id, "Organization", "organizationId")
            return await invite_user(
                uow,
                email=input.email,
                name=input.name,
                organization_id=organization_id,
                roles=list(input.roles),
                locale=input.locale,
                pages=link_pages(ctx(info).request.app.state.settings),
            )

        return await mutate(
            info,
            create,
            payload=_user_succeeded,
            failed=_user_failed,
            node="User",
            idempotency_key=input.idempotency_key,
            request=input,
        )

    @strawberry.mutation(
        description="E-mail a new invitation link to a user the caller manages who has not yet set a password."
    )
    async def resend_invitation(self, info: Info, input: ResendInvitationInput) -> UserPayload:
        async def change(uow: UnitOfWork) -> User:
            user_id = id_of(input.user_id, "User", "userId")
            pages = link_pages(ctx(info).request.app.state.settings)
            return await resend_invitation(uow, user_id, pages=pages)

        return await mutate(info, change, payload=_user_succeeded, failed=_user_failed, node="User")

    @strawberry.mutation(description="Deactivate or reactivate a user the caller manages.")
    async def set_user_active(self, info: Info, input: SetUserActiveInput) -> UserPayload:
        async def change(uow: UnitOfWork) -> User:
            user_id = id_of(input.id, "User", "id")
            return await set_user_active(uow, user_id, input.active, input.reason)

        return await mutate(info, change, payload=_user_succeeded, failed=_user_failed, node="User")

    @strawberry.mutation(
        description="Replace the roles of a user the caller manages; they apply from the user's next request."
    )
    async def set_user_roles(self, info: Info, input: SetUserRolesInput) -> UserPayload:
        async def change(uow: UnitOfWork) -> User:
            user_id = id_of(input.id, "User", "id")
            return await set_user_roles(uow, user_id, list(input.roles))

        return await mutate(info, change, payload=_user_succeeded, failed=_user_failed, node="User")
