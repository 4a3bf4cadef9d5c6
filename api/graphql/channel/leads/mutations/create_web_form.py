"""`createWebForm`: create a public lead form (admins)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.channel.leads.types import WebFormType
from api.graphql.errors import UserError
from api.graphql.idempotency import idempotency_key_field
from api.graphql.mutation import mutate
from api.graphql.relay import optional_id_of
from domain.access.unit_of_work import UnitOfWork
from domain.channel import web_forms
from domain.channel.web_forms import WebForm


@strawberry.input(description="A public lead form.")
class CreateWebFormInput:
    name: str = strawberry.field(description="Name.")
    campaign: str | None = strawberry.field(default=None, description="Recorded as the leads' source detail.")
    territory_id: strawberry.ID | None = strawberry.field(default=None, description="Territory for its leads.")
    idempotency_key: str | None = idempotency_key_field()


@strawberry.type(description="The result of creating a web form.")
class WebFormPayload:
    form: WebFormType | None = strawberry.field(description="The form; null when errors.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


@strawberry.mutation(description="Create a public lead form (admins).")
async def create_web_form(info: Info, input: CreateWebFormInput) -> WebFormPayload:
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
