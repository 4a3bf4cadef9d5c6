"""GraphQL types for the audit trail, which speaks the API's language: field names, global ids and enum values."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.utils.str_converters import to_camel_case

from api.graphql.context import DEPENDENT_NODE_MODELS, NODE_MODELS
from api.graphql.relay import Node, to_global_id
from domain.audit.trail import AuditEvent, enum_columns
from domain.selling.opportunities import PartnerRole, SalesRole, TeamAccess
from domain.selling.stage_gates import ApprovalStatus

NODE_NAMES = NODE_MODELS.keys() | DEPENDENT_NODE_MODELS.keys()
# What an `…_id` field points at when its name does not say the type outright; `None` means the record's own type.
REFERENCED_TYPES: dict[str, str | None] = {
    "owner": "User",
    "user": "User",
    "manager": "User",
    "assignee": "User",
    "submitted_by": "User",
    "requested_by": "User",
    "decided_by": "User",
    "actor_user": "User",
    "partner_organization": "Organization",
    "managing_partner": "Organization",
    "converted_account": "Account",
    "converted_opportunity": "Opportunity",
    "parent": None,
    "merged_into": None,
}
# Enum values written inside nested changes (a team seat, a partner link, an approval), by their field name.
NESTED_ENUMS: dict[str, type[Enum]] = {
    "sales_role": SalesRole,
    "access": TeamAccess,
    "role": PartnerRole,
    "approval": ApprovalStatus,
}


def record_type_name(record_type: str) -> str:
    """The API's name for an audited kind of record: `deal_registration` is DealRegistration."""
    return "".join(part.capitalize() for part in record_type.split("_"))


def _model_enums(type_name: str) -> dict[str, type[Enum]]:
    """The enum-typed columns of the record type's model, by column name."""
    model = NODE_MODELS[type_name][0] if type_name in NODE_MODELS else DEPENDENT_NODE_MODELS.get(type_name)
    return enum_columns(model) if model is not None else {}


def _reference(field: str, own_type: str) -> str | None:
    """The node type an `…_id`/`…_ids` field refers to, or None when it is not a reference to a node."""
    stem = field.removesuffix("_ids").removesuffix("_id")
    if stem == field:
        return None
    if stem in REFERENCED_TYPES:
        return REFERENCED_TYPES[stem] or own_type
    name = record_type_name(stem)
    return name if name in NODE_NAMES else None


def _global_id(type_name: str, value: Any) -> Any:
    try:
        return str(to_global_id(type_name, uuid.UUID(str(value))))
    except ValueError:
        return value


def _api_value(field: str, value: Any, own_type: str, enums: dict[str, type[Enum]]) -> Any:
    """A stored value as the API shows it: a global id for a reference, an enum's API name, nested likewise."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {to_camel_case(k): _api_value(k, v, own_type, NESTED_ENUMS) for k, v in value.items()}
    if (target := _reference(field, own_type)) is not None:
        return [_global_id(target, v) for v in value] if isinstance(value, list) else _global_id(target, value)
    enum = enums.get(field) or NESTED_ENUMS.get(field)
    if enum is not None and isinstance(value, str):
        try:
            return enum(value).name
        except ValueError:
            return value
    return value


def api_changes(record_type: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Changes as {"apiField": {"old": …, "new": …}}, with global ids and enum names as the API shows them."""
    own_type = record_type_name(record_type)
    enums = _model_enums(own_type)
    shown: dict[str, Any] = {}
    for field, change in changes.items():
        if isinstance(change, dict) and change.keys() <= {"old", "new"}:
            shown[to_camel_case(field)] = {k: _api_value(field, v, own_type, enums) for k, v in change.items()}
        else:
            shown[to_camel_case(field)] = _api_value(field, change, own_type, enums)
    return shown


@strawberry.type(name="AuditEvent", description="One change to one record: who, when, what changed and why.")
class AuditEventType(Node):
    row: strawberry.Private[AuditEvent]

    @classmethod
    def from_row(cls, row: AuditEvent) -> AuditEventType:
        return cls(id=to_global_id("AuditEvent", row.id), row=row)

    @strawberry.field(description="When the change was made (UTC).")
    def occurred_at(self) -> datetime:
        return self.row.occurred_at

    @strawberry.field(description="E-mail of the user (or id of the machine client) who made it.")
    def actor_name(self) -> str:
        return self.row.actor_name

    @strawberry.field(description="What was done, e.g. created, updated, stage_moved, ownership_transferred.")
    def action(self) -> str:
        return self.row.action

    @strawberry.field(description="The API type of the record changed, e.g. Opportunity or DealRegistration.")
    def record_type(self) -> str:
        return record_type_name(self.row.record_type)

    @strawberry.field(
        description='Changed fields as {"field": {"old": …, "new": …}}, in the API\'s terms: field names as in '
        "this schema (camelCase), references as global IDs, enum values as their GraphQL names."
    )
    def changes(self) -> JSON:
        return JSON(api_changes(self.row.record_type, self.row.changes))

    @strawberry.field(description="The reason given, when one was.")
    def reason(self) -> str | None:
        return self.row.reason
