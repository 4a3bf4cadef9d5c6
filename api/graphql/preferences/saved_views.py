"""Queries and mutations for saved views: a person's named filters for the deal, lead, registration and order lists."""

from __future__ import annotations

from datetime import datetime
from typing import TypeAlias

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from api.graphql.descriptions import describe_values, described_arguments
from api.graphql.errors import UserError
from api.graphql.mutation import mutate
from api.graphql.relay import Node, id_of, optional_id_of, to_global_id
from api.graphql.resolving import read
from domain.access.unit_of_work import UnitOfWork
from domain.preferences import saved_views
from domain.preferences.saved_views import SavedView, SavedViewList

SavedViewListType: TypeAlias = SavedViewList
strawberry.enum(SavedViewListType, name="SavedViewList", description="The lists a view can be saved for.")
describe_values(
    SavedViewListType,
    {
        "DEALS": "The opportunities list.",
        "LEADS": "The leads list.",
        "DEAL_REGISTRATIONS": "The deal registrations list.",
        "ORDERS": "The orders list.",
    },
)


@strawberry.type(name="SavedView", description="One of your named filters for a list; only you see it.")
class SavedViewType(Node):
    id: strawberry.ID = strawberry.field(description="Global ID (saveView and deleteSavedView take it).")
    row: strawberry.Private[SavedView]

    @classmethod
    def from_row(cls, row: SavedView) -> SavedViewType:
        return cls(id=to_global_id("SavedView", row.id), row=row)

    @strawberry.field(description="The list it is for.")
    def list(self) -> SavedViewListType:
        return self.row.list_name

    @strawberry.field(description="Its name, unique among your views of the list.")
    def name(self) -> str:
        return self.row.name

    @strawberry.field(
        description="The filter values as the front end saved them: a flat JSON object of texts, numbers, "
        "booleans, nulls or lists of those."
    )
    def filters(self) -> JSON:
        return JSON(self.row.filters)

    @strawberry.field(description="When it was last saved.")
    def updated_at(self) -> datetime:
        return self.row.updated_at


@strawberry.input(description="A view to save: a new one, or (with id) new name and filters for one of yours.")
class SaveViewInput:
    list: SavedViewListType = strawberry.field(description="The list it is for.")
    name: str = strawberry.field(description="Its name, 1 to 100 characters, unique among your views of the list.")
    filters: JSON = strawberry.field(
        description="A flat JSON object (at most 30 keys, 4000 bytes) of texts, numbers, booleans, nulls or "
        'lists of those, e.g. {"stages": ["PROPOSAL"], "partnerOrganizationId": "…"}.'
    )
    id: strawberry.ID | None = strawberry.field(default=None, description="One of your views, to replace.")


@strawberry.type(description="The result of saving or deleting a view.")
class SavedViewPayload:
    view: SavedViewType | None = strawberry.field(
        description="The view as saved (or as it was, when deleted); null when errors."
    )
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


def _failed(errors: list[UserError]) -> SavedViewPayload:
    return SavedViewPayload(view=None, errors=errors)


def _saved(row: SavedView | None) -> SavedViewPayload:
    return SavedViewPayload(view=SavedViewType.from_row(row) if row is not None else None, errors=[])


@strawberry.type
class SavedViewQueries:
    @described_arguments(list="Which list's views.")
    @strawberry.field(description="Your saved views of a list, by name.")
    async def saved_views(self, info: Info, list: SavedViewListType) -> list[SavedViewType]:
        rows = await read(info, lambda uow: saved_views.my_views(uow, list))
        return [SavedViewType.from_row(r) for r in rows]


@strawberry.type
class SavedViewMutations:
    @strawberry.mutation(description="Save a named filter for a list, or replace one of yours (with id).")
    async def save_view(self, info: Info, input: SaveViewInput) -> SavedViewPayload:
        async def change(uow: UnitOfWork) -> SavedView:
            view_id = optional_id_of(input.id, "SavedView", "id")
            return await saved_views.save_view(
                uow, list_name=input.list, name=input.name, filters=input.filters, view_id=view_id
            )

        return await mutate(info, change, payload=_saved, failed=_failed, node="SavedView")

    @described_arguments(id="The saved view; one of yours.")
    @strawberry.mutation(description="Delete one of your saved views.")
    async def delete_saved_view(self, info: Info, id: strawberry.ID) -> SavedViewPayload:
        async def change(uow: UnitOfWork) -> SavedView:
            return await saved_views.delete_view(uow, id_of(id, "SavedView", "id"))

        return await mutate(info, change, payload=_saved, failed=_failed)
