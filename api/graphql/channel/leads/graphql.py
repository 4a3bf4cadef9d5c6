"""Queries and mutations for leads, routing rules and web forms."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Annotated

import strawberry
from strawberry.types import Info

from api.graphql.channel.leads.types import LeadStatusType, LeadType, RoutingRuleType, RuleKindType, WebFormType
from api.graphql.descriptions import described_arguments
from api.graphql.errors import UserError, query_value
from api.graphql.idempotency import idempotency_key_field
from api.graphql.mutation import mutate
from api.graphql.relay import AfterArg, BeforeArg, Connection, FirstArg, LastArg, id_of, optional_id_of
from api.graphql.resolving import list_connection
from domain.access.unit_of_work import UnitOfWork
from domain.channel import lead_routing, leads, web_forms
from domain.channel.lead_routing import NewRule, RoutingRule
from domain.channel.leads import Conversion, Lead, LeadSource, NewLead
from domain.channel.web_forms import WebForm
from domain.shared.pagination import SortDirection
from services import channel as channel_service


@strawberry.input(description="A new lead. Internal leads are routed at once; a partner's stays with the partner.")
class CreateLeadInput:
    company_name: str = strawberry.field(description="Company name.")
    last_name: str = strawberry.field(description="Contact's family name.")
    first_name: str | None = strawberry.field(default=None, description="Contact's given name.")
    email: str | None = strawberry.field(default=None, description="Contact e-mail.")
    phone: str | None = strawberry.field(default=None, description="Contact phone.")
    title: str | None = strawberry.field(default=None, description="Contact's job title.")
    tax_id: str | None = strawberry.field(default=None, description="Tax id, checked by its scheme.")
    web_domain: str | None = strawberry.field(default=None, description="Company web domain.")
    interests: list[str] | None = strawberry.field(
        default=None, description="Product lines of interest: at most 20, each up to 100 characters."
    )
    message: str | None = strawberry.field(default=None, description="Notes.")
    source_detail: str | None = strawberry.field(default=None, description="Campaign, event or referrer.")
    territory_id: strawberry.ID | None = strawberry.field(default=None, description="Territory, when known.")
    idempotency_key: str | None = idempotency_key_field()


@strawberry.input(description="Assign a lead to an internal user by hand.")
class AssignLeadInput:
    id: strawberry.ID = strawberry.field(description="The lead.")
    user_id: strawberry.ID = strawberry.field(description="The user.")
    reason: str = strawberry.field(description="Why (kept with the routing decisions).")


@strawberry.input(description="Turn down an offered lead.")
class DeclineLeadInput:
    id: strawberry.ID = strawberry.field(description="The lead.")
    reason: str = strawberry.field(description="Why.")


@strawberry.input(description="Merge a duplicate lead into another.")
class MergeLeadInput:
    id: strawberry.ID = strawberry.field(description="The duplicate, which ends MERGED.")
    into_id: strawberry.ID = strawberry.field(description="The lead that survives.")


@strawberry.input(description="Convert a lead into an account, a contact and an opportunity.")
class ConvertLeadInput:
    id: strawberry.ID = strawberry.field(description="The lead.")
    account_id: strawberry.ID | None = strawberry.field(default=None, description="An existing account to merge into.")
    opportunity_name: str | None = strawberry.field(default=None, description="Defaults from the company name.")
    amount: Decimal = strawberry.field(description="Expected value.")
    currency: str = strawberry.field(description="ISO 4217 code.")
    close_date: datetime.date = strawberry.field(description="Expected close date.")


@strawberry.input(description="A routing rule.")
class CreateRoutingRuleInput:
    name: str = strawberry.field(description="Name, shown in routing reasons.")
    kind: RuleKindType = strawberry.field(description="INTERNAL round robin or PARTNER distribution.")  # type: ignore[valid-type]
    position: int = strawberry.field(description="Order among the rules (lowest first).")
    territory_id: strawberry.ID | None = strawberry.field(default=None, description="Only leads in this territory.")
    interest: str | None = strawberry.field(default=None, description="Only leads with this interest.")
    user_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Round-robin pool (INTERNAL).")
    max_open_leads: int | None = strawberry.field(default=None, description="Capacity per user (INTERNAL).")
    idempotency_key: str | None = idempotency_key_field()


@strawberry.input(description="A public lead form.")
class CreateWebFormInput:
    name: str = strawberry.field(description="Name.")
    campaign: str | None = strawberry.field(default=None, description="Recorded as the leads' source detail.")
    territory_id: strawberry.ID | None = strawberry.field(default=None, description="Territory for its leads.")
    idempotency_key: str | None = idempotency_key_field()


@strawberry.type(description="The result of a lead mutation.")
class LeadPayload:
    lead: LeadType | None = strawberry.field(
        description="The lead as you may now see it; null when errors, or when the change took it out of your sight."
    )
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


@strawberry.type(description="The result of creating a routing rule.")
class RoutingRulePayload:
    rule: RoutingRuleType | None = strawberry.field(description="The rule; null when errors.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


@strawberry.type(description="The result of changing the partner SLA.")
class PartnerSlaPayload:
    hours: int | None = strawberry.field(description="Hours a partner has to answer an offered lead.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


@strawberry.type(description="The result of creating a web form.")
class WebFormPayload:
    form: WebFormType | None = strawberry.field(description="The form; null when errors.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


def _lead_payload(row: Lead | None) -> LeadPayload:
    return LeadPayload(lead=LeadType.from_row(row) if row else None, errors=[])


def _lead_failed(errors: list[UserError]) -> LeadPayload:
    return LeadPayload(lead=None, errors=errors)


async def _change_lead(info: Info, change: Callable[[UnitOfWork], Awaitable[Lead]]) -> LeadPayload:
    """Run a change to one lead; the payload shows the lead as the caller may see it afterwards."""
    return await mutate(info, change, payload=_lead_payload, failed=_lead_failed, node="Lead")


def _lead_id(value: strawberry.ID, field: str = "id") -> uuid.UUID:
    return id_of(value, "Lead", field)


@strawberry.type
class LeadQueries:
    @described_arguments(status="Only leads in this status.")
    @strawberry.field(description="Leads the viewer may see, newest first.")
    async def leads(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
        status: LeadStatusType | None = None,  # type: ignore[valid-type]
        partner_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only leads with this partner (a distributor narrowing to one dealer)."),
        ] = None,
    ) -> Connection[LeadType]:
        partner = query_value(lambda: optional_id_of(partner_id, "Organization", "partnerId"))
        return await list_connection(
            info,
            query=lambda uow: leads.visible_leads(uow, status=status, partner_id=partner),
            sort_column=Lead.created_at,
            id_column=Lead.id,
            direction=SortDirection.DESC,
            first=first,
            after=after,
            last=last,
            before=before,
            to_node=LeadType.from_row,
        )


@strawberry.type
class LeadMutations:
    @strawberry.mutation(description="Create a lead; duplicates are flagged, and internal leads are routed at once.")
    async def create_lead(self, info: Info, input: CreateLeadInput) -> LeadPayload:
        async def change(uow: UnitOfWork) -> Lead:
            cmd = NewLead(
                company_name=input.company_name,
                last_name=input.last_name,
                first_name=input.first_name,
                email=input.email,
                phone=input.phone,
                title=input.title,
                tax_id=input.tax_id,
                web_domain=input.web_domain,
                interests=input.interests,
                message=input.message,
                source=LeadSource.API,
                source_detail=input.source_detail,
                territory_id=optional_id_of(input.territory_id, "Territory", "territoryId"),
            )
            return await channel_service.create_lead(uow, cmd)

        return await mutate(
            info,
            change,
            payload=_lead_payload,
            failed=_lead_failed,
            node="Lead",
            idempotency_key=input.idempotency_key,
            request=input,
        )

    @strawberry.mutation(description="Assign a lead to an internal user by hand (managers).")
    async def assign_lead(self, info: Info, input: AssignLeadInput) -> LeadPayload:
        async def change(uow: UnitOfWork) -> Lead:
            user_id = id_of(input.user_id, "User", "userId")
            return await lead_routing.assign_by_hand(uow, _lead_id(input.id), user_id, input.reason)

        return await _change_lead(info, change)

    @described_arguments(id="The lead offered to your organization.")
    @strawberry.mutation(description="Accept a lead offered to your organization.")
    async def accept_lead(self, info: Info, id: strawberry.ID) -> LeadPayload:
        return await _change_lead(info, lambda uow: lead_routing.accept(uow, _lead_id(id)))

    @strawberry.mutation(description="Decline a lead offered to your organization; it goes to the next match.")
    async def decline_lead(self, info: Info, input: DeclineLeadInput) -> LeadPayload:
        return await _change_lead(info, lambda uow: lead_routing.decline(uow, _lead_id(input.id), input.reason))

    @strawberry.mutation(description="Merge a duplicate lead into another.")
    async def merge_lead(self, info: Info, input: MergeLeadInput) -> LeadPayload:
        return await _change_lead(
            info, lambda uow: leads.merge_lead(uow, _lead_id(input.id), _lead_id(input.into_id, "intoId"))
        )

    @strawberry.mutation(description="Convert a lead into an account (new or existing), a contact and an opportunity.")
    async def convert_lead(self, info: Info, input: ConvertLeadInput) -> LeadPayload:
        async def change(uow: UnitOfWork) -> Lead:
            cmd = Conversion(
                opportunity_name=input.opportunity_name,
                amount=input.amount,
                currency=input.currency,
                close_date=input.close_date,
                account_id=optional_id_of(input.account_id, "Account", "accountId"),
            )
            return await leads.convert_lead(uow, _lead_id(input.id), cmd)

        return await _change_lead(info, change)

    @strawberry.mutation(description="Add a lead routing rule (admins).")
    async def create_routing_rule(self, info: Info, input: CreateRoutingRuleInput) -> RoutingRulePayload:
        async def create(uow: UnitOfWork) -> RoutingRule:
            cmd = NewRule(
                name=input.name,
                kind=input.kind,
                position=input.position,
                interest=input.interest,
                territory_id=optional_id_of(input.territory_id, "Territory", "territoryId"),
                user_ids=[id_of(u, "User", "userIds") for u in input.user_ids or []],
                max_open_leads=input.max_open_leads,
            )
            return await lead_routing.create_rule(uow, cmd)

        return await mutate(
            info,
            create,
            payload=lambda row: RoutingRulePayload(rule=RoutingRuleType.from_row(row) if row else None, errors=[]),
            failed=lambda errors: RoutingRulePayload(rule=None, errors=errors),
            node="RoutingRule",
            idempotency_key=input.idempotency_key,
            request=input,
        )

    @described_arguments(hours="Hours from the offer until it expires and the lead goes to the next match.")
    @strawberry.mutation(description="Set how many hours a partner has to accept or decline an offered lead (admins).")
    async def set_partner_lead_sla_hours(self, info: Info, hours: int) -> PartnerSlaPayload:
        return await mutate(
            info,
            lambda uow: lead_routing.set_partner_sla_hours(uow, hours),
            payload=lambda value: PartnerSlaPayload(hours=value, errors=[]),
            failed=lambda errors: PartnerSlaPayload(hours=None, errors=errors),
        )

    @strawberry.mutation(description="Create a public lead form (admins).")
    async def create_web_form(self, info: Info, input: CreateWebFormInput) -> WebFormPayload:
        async def create(uow: UnitOfWork) -> WebForm:
            territory = optional_id_of(input.territory_id, "Territory", "territoryId")
            return await web_forms.create_form(uow, input.name, input.campaign, territory)

        return await mutate(
            info,
            create,
            payload=lambda row: WebFormPayload(form=WebFormType.from_row(row) if row else None, errors=[]),
            failed=lambda errors: WebFormPayload(form=None, errors=errors),
            node="WebForm",
            idempotency_key=input.idempotency_key,
            request=input,
        )
