"""The payload the lead mutations answer with, the runner that builds it, and the lead IDs they parse."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import strawberry
from strawberry.types import Info

from api.graphql.channel.leads.types import LeadType
from api.graphql.errors import UserError
from api.graphql.mutation import mutate
from api.graphql.relay import id_of
from domain.access.unit_of_work import UnitOfWork
from domain.channel.leads import Lead


@strawberry.type(description="The result of a lead mutation.")
class LeadPayload:
    lead: LeadType | None = strawberry.field(
        description="The lead as you may now see it; null when errors, or when the change took it out of your sight."
    )
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


def lead_payload(row: Lead | None) -> LeadPayload:
    return LeadPayload(lead=LeadType.from_row(row) if row else None, errors=[])


def lead_failed(errors: list[UserError]) -> LeadPayload:
    return LeadPayload(lead=None, errors=errors)


async def change_lead(info: Info, change: Callable[[UnitOfWork], Awaitable[Lead]]) -> LeadPayload:
    """Run a change to one lead; the payload shows the lead as the caller may see it afterwards."""
    return await mutate(info, change, payload=lead_payload, failed=lead_failed, node="Lead")


def parse_lead_id(value: strawberry.ID, field: str = "id") -> uuid.UUID:
    return id_of(value, "Lead", field)
