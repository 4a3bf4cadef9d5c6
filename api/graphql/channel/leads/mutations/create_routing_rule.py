"""`createRoutingRule`: add a lead routing rule (admins)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.channel.leads.types import RoutingRuleType, RuleKindType
from api.graphql.errors import UserError
from api.graphql.idempotency import idempotency_key_field
from api.graphql.mutation import mutate
from api.graphql.relay import id_of, optional_id_of
from domain.access.unit_of_work import UnitOfWork
from domain.channel import lead_routing
from domain.channel.lead_routing import NewRule, RoutingRule


@strawberry.input(description="A routing rule.")
class CreateRoutingRuleInput:
    name: str = strawberry.field(description="Name, shown in routing reasons.")
    kind: RuleKindType = strawberry.field(description="INTERNAL round robin or PARTNER distribution.")
    position: int = strawberry.field(description="Order among the rules (lowest first).")
    territory_id: strawberry.ID | None = strawberry.field(default=None, description="Only leads in this territory.")
    interest: str | None = strawberry.field(default=None, description="Only leads with this interest.")
    user_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Round-robin pool (INTERNAL).")
    max_open_leads: int | None = strawberry.field(default=None, description="Capacity per user (INTERNAL).")
    idempotency_key: str | None = idempotency_key_field()


@strawberry.type(description="The result of creating a routing rule.")
class RoutingRulePayload:
    rule: RoutingRuleType | None = strawberry.field(description="The rule; null when errors.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


@strawberry.mutation(description="Add a lead routing rule (admins).")
async def create_routing_rule(info: Info, input: CreateRoutingRuleInput) -> RoutingRulePayload:
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
