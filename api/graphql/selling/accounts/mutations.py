"""Mutations on accounts and contacts."""

from __future__ import annotations

import uuid
from typing import Any

import strawberry
from strawberry.types import Info

from api.graphql.errors import UserError
from api.graphql.idempotency import idempotency_key_field
from api.graphql.inputs import patch
from api.graphql.mutation import mutate
from api.graphql.record_versions import expected_version_field
from api.graphql.relay import id_of, optional_id_of
from api.graphql.selling.accounts.types import AccountType, BuyingRoleType, ContactType, LifecycleStageType
from domain.access.unit_of_work import UnitOfWork
from domain.selling.accounts import Account, AccountChanges, create_account, update_account
from domain.selling.contacts import Contact, ContactChanges, create_contact, update_contact
from domain.shared.commands import UNSET, Patch

U = strawberry.UNSET


@strawberry.input(description="A new customer company.")
class CreateAccountInput:
    name: str = strawberry.field(description="Company name (1–200 characters).")
    tax_id: str | None = strawberry.field(default=None, description="Tax id, e.g. a unified social credit code.")
    web_domain: str | None = strawberry.field(default=None, description="Web domain, e.g. example.com.")
    industry: str | None = strawberry.field(default=None, description="Industry.")
    grade: str | None = strawberry.field(default=None, description="Account grade.")
    owner_id: strawberry.ID | None = strawberry.field(default=None, description="Owner; defaults to the caller.")
    territory_id: strawberry.ID | None = strawberry.field(default=None, description="Territory.")
    managing_partner_id: strawberry.ID | None = strawberry.field(
        default=None, description="Managing partner; a partner user's accounts default to their organization."
    )
    lifecycle_stage: LifecycleStageType | None = strawberry.field(default=None, description="Defaults to PROSPECT.")
    idempotency_key: str | None = idempotency_key_field()


@strawberry.input(description="Changes to an account; fields left out stay as they are.")
class UpdateAccountInput:
    id: strawberry.ID = strawberry.field(description="The account.")
    name: str | None = strawberry.field(default=U, description="Company name.")
    tax_id: str | None = strawberry.field(default=U, description="Tax id; null clears it.")
    web_domain: str | None = strawberry.field(default=U, description="Web domain; null clears it.")
    industry: str | None = strawberry.field(default=U, description="Industry; null clears it.")
    grade: str | None = strawberry.field(default=U, description="Grade; null clears it.")
    owner_id: strawberry.ID | None = strawberry.field(default=U, description="New owner (audited).")
    territory_id: strawberry.ID | None = strawberry.field(default=U, description="Territory; null clears it.")
    managing_partner_id: strawberry.ID | None = strawberry.field(default=U, description="Managing partner.")
    lifecycle_stage: LifecycleStageType | None = strawberry.field(default=U, description="Lifecycle stage.")
    expected_version: int | None = expected_version_field()


@strawberry.type(description="The result of an account mutation.")
class AccountPayload:
    account: AccountType | None = strawberry.field(description="The account as it now is; null when errors.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


@strawberry.input(description="A new contact at an account.")
class CreateContactInput:
    account_id: strawberry.ID = strawberry.field(description="The account.")
    first_name: str = strawberry.field(description="Given name.")
    last_name: str = strawberry.field(description="Family name.")
    email: str | None = strawberry.field(default=None, description="E-mail address.")
    phone: str | None = strawberry.field(default=None, description="Phone number.")
    title: str | None = strawberry.field(default=None, description="Job title.")
    buying_role: BuyingRoleType | None = strawberry.field(default=None, description="Part in the buying centre.")
    idempotency_key: str | None = idempotency_key_field()


@strawberry.input(description="Changes to a contact; fields left out stay as they are.")
class UpdateContactInput:
    id: strawberry.ID = strawberry.field(description="The contact.")
    first_name: str | None = strawberry.field(default=U, description="Given name.")
    last_name: str | None = strawberry.field(default=U, description="Family name.")
    email: str | None = strawberry.field(default=U, description="E-mail; null clears it.")
    phone: str | None = strawberry.field(default=U, description="Phone; null clears it.")
    title: str | None = strawberry.field(default=U, description="Title; null clears it.")
    buying_role: BuyingRoleType | None = strawberry.field(default=U, description="Buying-centre role.")
    expected_version: int | None = expected_version_field()


@strawberry.type(description="The result of a contact mutation.")
class ContactPayload:
    contact: ContactType | None = strawberry.field(description="The contact as it now is; null when errors.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


def _account_failed(errors: list[UserError]) -> AccountPayload:
    return AccountPayload(account=None, errors=errors)


def _contact_failed(errors: list[UserError]) -> ContactPayload:
    return ContactPayload(contact=None, errors=errors)


def _account_succeeded(row: Account | None) -> AccountPayload:
    return AccountPayload(account=AccountType.from_row(row) if row else None, errors=[])


def _contact_succeeded(row: Contact | None) -> ContactPayload:
    return ContactPayload(contact=ContactType.from_row(row) if row else None, errors=[])


def _id_patch(value: strawberry.ID | None, type_name: str, field: str) -> Patch[uuid.UUID | None]:
    given: Any = patch(value)
    return given if given is UNSET else optional_id_of(given, type_name, field)


@strawberry.type
class AccountMutations:
    @strawberry.mutation(description="Create an account.")
    async def create_account(self, info: Info, input: CreateAccountInput) -> AccountPayload:
        async def create(uow: UnitOfWork) -> Account:
            managing_partner = input.managing_partner_id
            changes = AccountChanges(
                name=input.name,
                tax_id=input.tax_id,
                web_domain=input.web_domain,
                industry=input.industry,
                grade=input.grade,
                owner_id=UNSET if input.owner_id is None else id_of(input.owner_id, "User", "ownerId"),
                territory_id=optional_id_of(input.territory_id, "Territory", "territoryId"),
                managing_partner_id=UNSET
                if managing_partner is None
                else id_of(managing_partner, "Organization", "managingPartnerId"),
                lifecycle_stage=UNSET if input.lifecycle_stage is None else input.lifecycle_stage,
            )
            return await create_account(uow, changes)

        return await mutate(
            info,
            create,
            payload=_account_succeeded,
            failed=_account_failed,
            node="Account",
            idempotency_key=input.idempotency_key,
            request=input,
        )

    @strawberry.mutation(description="Change an account the caller may edit.")
    async def update_account(self, info: Info, input: UpdateAccountInput) -> AccountPayload:
        async def change(uow: UnitOfWork) -> Account:
            account_id = id_of(input.id, "Account", "id")
            changes = AccountChanges(
                name=patch(input.name),
                tax_id=patch(input.tax_id),
                web_domain=patch(input.web_domain),
                industry=patch(input.industry),
                grade=patch(input.grade),
                owner_id=_id_patch(input.owner_id, "User", "ownerId"),
                territory_id=_id_patch(input.territory_id, "Territory", "territoryId"),
                managing_partner_id=_id_patch(input.managing_partner_id, "Organization", "managingPartnerId"),
                lifecycle_stage=patch(input.lifecycle_stage),
            )
            return await update_account(uow, account_id, changes, expected_version=input.expected_version)

        return await mutate(info, change, payload=_account_succeeded, failed=_account_failed, node="Account")

    @strawberry.mutation(description="Add a contact to an account.")
    async def create_contact(self, info: Info, input: CreateContactInput) -> ContactPayload:
        async def create(uow: UnitOfWork) -> Contact:
            account_id = id_of(input.account_id, "Account", "accountId")
            changes = ContactChanges(
                first_name=input.first_name,
                last_name=input.last_name,
                email=input.email,
                phone=input.phone,
                title=input.title,
                buying_role=input.buying_role,
            )
            return await create_contact(uow, account_id, changes)

        return await mutate(
            info,
            create,
            payload=_contact_succeeded,
            failed=_contact_failed,
            node="Contact",
            idempotency_key=input.idempotency_key,
            request=input,
        )

    @strawberry.mutation(description="Change a contact the caller may edit.")
    async def update_contact(self, info: Info, input: UpdateContactInput) -> ContactPayload:
        async def change(uow: UnitOfWork) -> Contact:
            contact_id = id_of(input.id, "Contact", "id")
            changes = ContactChanges(
                first_name=patch(input.first_name),
                last_name=patch(input.last_name),
                email=patch(input.email),
                phone=patch(input.phone),
                title=patch(input.title),
                buying_role=patch(input.buying_role),
            )
            return await update_contact(uow, contact_id, changes, expected_version=input.expected_version)

        return await mutate(info, change, payload=_contact_succeeded, failed=_contact_failed, node="Contact")
