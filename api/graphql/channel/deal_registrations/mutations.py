"""Mutations on deal registrations: submit, decide, withdraw, extend; and the protection setting."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal

import strawberry
from strawberry.types import Info

from api.graphql.channel.deal_registrations.types import DealRegistrationType
from api.graphql.descriptions import described_arguments
from api.graphql.errors import UserError
from api.graphql.idempotency import idempotency_key_field
from api.graphql.mutation import mutate
from api.graphql.relay import id_of, optional_id_of
from domain.access.unit_of_work import UnitOfWork
from domain.channel import deal_registrations as uc
from domain.channel.deal_registrations import ApprovalChanges, DealRegistration, NewRegistration


@strawberry.input(description="A partner's registration of a customer deal.")
class SubmitDealRegistrationInput:
    customer_name: str = strawberry.field(description="Customer company name.")
    customer_tax_id: str | None = strawberry.field(default=None, description="Tax id, checked by its scheme.")
    customer_web_domain: str | None = strawberry.field(default=None, description="Customer web domain.")
    products: list[str] = strawberry.field(
        description="Products in the deal: at least one, at most 50, each up to 100 characters."
    )
    amount: Decimal = strawberry.field(description="Expected value.")
    currency: str = strawberry.field(description="ISO 4217 code.")
    expected_close_date: datetime.date = strawberry.field(description="Expected close date, today or later.")
    notes: str | None = strawberry.field(default=None, description="Anything the channel manager should know.")
    idempotency_key: str | None = idempotency_key_field()


@strawberry.input(description="Approve a registration, optionally changing its terms.")
class ApproveDealRegistrationInput:
    id: strawberry.ID = strawberry.field(description="The registration.")
    amount: Decimal | None = strawberry.field(default=None, description="Corrected amount.")
    expected_close_date: datetime.date | None = strawberry.field(default=None, description="Corrected close date.")
    products: list[str] | None = strawberry.field(default=None, description="Corrected products.")
    opportunity_id: strawberry.ID | None = strawberry.field(
        default=None, description="An open opportunity this deal is, to link instead of opening a new one."
    )
    reason: str | None = strawberry.field(default=None, description="A note for the partner.")


@strawberry.input(description="Decide a registration with a reason: reject, or withdraw it (partner).")
class RegistrationReasonInput:
    id: strawberry.ID = strawberry.field(description="The registration.")
    reason: str | None = strawberry.field(default=None, description="Why; required to reject.")


@strawberry.input(description="Ask for, or grant, more protection time.")
class RegistrationExtensionInput:
    id: strawberry.ID = strawberry.field(description="The registration.")
    days: int = strawberry.field(description="Days to add (a grant of 0 declines the request).")
    reason: str | None = strawberry.field(default=None, description="Why.")


@strawberry.type(description="The result of a deal registration mutation.")
class DealRegistrationPayload:
    deal_registration: DealRegistrationType | None = strawberry.field(description="The registration; null when errors.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


@strawberry.type(description="The result of changing the protection window.")
class ProtectionDaysPayload:
    days: int | None = strawberry.field(description="The protection window for new approvals, in days.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


def _failed(errors: list[UserError]) -> DealRegistrationPayload:
    return DealRegistrationPayload(deal_registration=None, errors=errors)


def _succeeded(row: DealRegistration | None) -> DealRegistrationPayload:
    return DealRegistrationPayload(deal_registration=DealRegistrationType.from_row(row) if row else None, errors=[])


async def _run(info: Info, change: Callable[[UnitOfWork], Awaitable[DealRegistration]]) -> DealRegistrationPayload:
    """Run a change to one registration; the payload shows it as the caller may see it afterwards."""
    return await mutate(info, change, payload=_succeeded, failed=_failed, node="DealRegistration")


def _id(value: strawberry.ID) -> uuid.UUID:
    return id_of(value, "DealRegistration", "id")


@strawberry.type
class DealRegistrationMutations:
    @strawberry.mutation(description="Register a deal for your organization; a protected claim by another rejects it.")
    async def submit_deal_registration(self, info: Info, input: SubmitDealRegistrationInput) -> DealRegistrationPayload:
        cmd = NewRegistration(
            customer_name=input.customer_name,
            customer_tax_id=input.customer_tax_id,
            customer_web_domain=input.customer_web_domain,
            products=list(input.products),
            amount=input.amount,
            currency=input.currency,
            expected_close_date=input.expected_close_date,
            notes=input.notes,
        )
        return await mutate(
            info,
            lambda uow: uc.submit(uow, cmd),
            payload=_succeeded,
            failed=_failed,
            node="DealRegistration",
            idempotency_key=input.idempotency_key,
            request=input,
        )

    @strawberry.mutation(description="Approve: starts protection and creates or links the account and opportunity.")
    async def approve_deal_registration(
        self, info: Info, input: ApproveDealRegistrationInput
    ) -> DealRegistrationPayload:
        async def change(uow: UnitOfWork) -> DealRegistration:
            changes = ApprovalChanges(
                amount=input.amount,
                expected_close_date=input.expected_close_date,
                products=input.products,
                opportunity_id=optional_id_of(input.opportunity_id, "Opportunity", "opportunityId"),
            )
            return await uc.approve(uow, _id(input.id), changes, input.reason)

        return await _run(info, change)

    @strawberry.mutation(description="Reject a registration with a reason.")
    async def reject_deal_registration(self, info: Info, input: RegistrationReasonInput) -> DealRegistrationPayload:
        return await _run(info, lambda uow: uc.reject(uow, _id(input.id), input.reason))

    @strawberry.mutation(description="Withdraw your organization's registration; protection ends at once.")
    async def withdraw_deal_registration(self, info: Info, input: RegistrationReasonInput) -> DealRegistrationPayload:
        return await _run(info, lambda uow: uc.withdraw(uow, _id(input.id), input.reason))

    @strawberry.mutation(description="Ask for more protection time on an approved registration.")
    async def request_registration_extension(
        self, info: Info, input: RegistrationExtensionInput
    ) -> DealRegistrationPayload:
        return await _run(info, lambda uow: uc.request_extension(uow, _id(input.id), input.days, input.reason))

    @strawberry.mutation(description="Extend an approved registration's protection (0 days declines the request).")
    async def decide_registration_extension(
        self, info: Info, input: RegistrationExtensionInput
    ) -> DealRegistrationPayload:
        return await _run(info, lambda uow: uc.decide_extension(uow, _id(input.id), input.days, input.reason))

    @described_arguments(days="Days an approved registration protects the partner's claim.")
    @strawberry.mutation(description="Set how many days an approval protects (admins).")
    async def set_deal_protection_days(self, info: Info, days: int) -> ProtectionDaysPayload:
        return await mutate(
            info,
            lambda uow: uc.set_protection_days(uow, days),
            payload=lambda value: ProtectionDaysPayload(days=value, errors=[]),
            failed=lambda errors: ProtectionDaysPayload(days=None, errors=errors),
        )
