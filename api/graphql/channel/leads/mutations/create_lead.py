"""`createLead`: create a lead; duplicates are flagged, and internal leads are routed at once."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.channel.leads.mutations.payloads import LeadPayload, lead_failed, lead_payload
from api.graphql.idempotency import idempotency_key_field
from api.graphql.mutation import mutate
from api.graphql.relay import optional_id_of
from domain.access.unit_of_work import UnitOfWork
from domain.channel.leads import Lead, LeadSource, NewLead
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


@strawberry.mutation(description="Create a lead; duplicates are flagged, and internal leads are routed at once.")
async def create_lead(info: Info, input: CreateLeadInput) -> LeadPayload:
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
        payload=lead_payload,
        failed=lead_failed,
        node="Lead",
        idempotency_key=input.idempotency_key,
        request=input,
    )
