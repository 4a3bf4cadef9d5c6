"""explainAccess: why a user can or cannot see or edit a record."""

from __future__ import annotations

from typing import TypeAlias

import strawberry
from strawberry.types import Info

from api.graphql.channel.directory.types import UserType
from api.graphql.context import NODE_MODELS
from api.graphql.descriptions import describe_values, described_arguments
from api.graphql.errors import query_value
from api.graphql.relay import optional_id_of, record_ref
from api.graphql.resolving import read
from api.graphql.selling.opportunities.types import FieldGroupType
from domain.access.actor import Action
from permissions.explain import explain_access

ActionType: TypeAlias = Action
strawberry.enum(ActionType, name="AccessAction", description="What a user may do to a record.")
describe_values(
    ActionType,
    {
        "READ": "See the record.",
        "CREATE": "Create records of its kind.",
        "UPDATE": "Change the record.",
        "DELETE": "Remove the record.",
        "APPROVE": "Decide on it (approve or reject), e.g. a registration or a discount.",
    },
)


@strawberry.type(description="One grant that covers the record: which role, which scope, and what links it.")
class AccessReason:
    action: ActionType = strawberry.field(description="READ or UPDATE.")
    role: str = strawberry.field(description="The role the user holds.")
    granted_via: str = strawberry.field(
        description="The role whose policy grants it: the same one, or one it inherits."
    )
    scope: str = strawberry.field(description="own, team, org, org_tree, territory, managed or tenant.")
    detail: str = strawberry.field(
        description="The link in words, e.g. 'is on its team as negotiator with edit access'."
    )


@strawberry.type(description="What a user may do to a record, and why.")
class AccessExplanation:
    user: UserType = strawberry.field(description="The user explained.")
    can_read: bool = strawberry.field(description="Whether they see it.")
    can_edit: bool = strawberry.field(
        description="Whether they may change it; for an opportunity, at least one field group at its current stage."
    )
    editable_field_groups: list[FieldGroupType] | None = strawberry.field(
        description="For an opportunity, the field groups they may change at its current stage, team stage rules "
        "applied (COMMERCIAL, DETAILS, STAGE); null for other records."
    )
    can_read_internal_fields: bool = strawberry.field(description="Whether they read internal-only fields.")
    reasons: list[AccessReason] = strawberry.field(description="Every grant that covers it; empty when none does.")
    summary: str = strawberry.field(description="One sentence.")


@strawberry.type
class AccessQueries:
    @described_arguments(
        record_id="Global ID of a record you can see.",
        user_id="The user to explain; you when left out (others: admins only).",
    )
    @strawberry.field(
        description="Why a user (you, when userId is left out) can or cannot see or edit a record you can see. "
        "Explaining someone else's access is for admins."
    )
    async def explain_access(
        self, info: Info, record_id: strawberry.ID, user_id: strawberry.ID | None = None
    ) -> AccessExplanation:
        type_name, record_uuid = query_value(lambda: record_ref(record_id, NODE_MODELS))
        target_id = query_value(lambda: optional_id_of(user_id, "User", "userId"))
        model, resource = NODE_MODELS[type_name]
        explained = await read(info, lambda uow: explain_access(uow, model, resource, record_uuid, target_id))
        explanation = explained.explanation
        return AccessExplanation(
            user=UserType.from_row(explained.user),
            can_read=explanation.can[Action.READ],
            can_edit=explanation.can[Action.UPDATE],
            editable_field_groups=explanation.editable_groups,
            can_read_internal_fields=explained.can_read_internal_fields,
            reasons=[
                AccessReason(
                    action=r.action, role=r.role, granted_via=r.granted_via, scope=r.scope.value, detail=r.detail
                )
                for r in explanation.reasons
            ],
            summary=explanation.summary,
        )
