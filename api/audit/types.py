"""GraphQL types for the audit trail."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from api.graphql.relay import Node, to_global_id
from domain.audit import AuditEvent


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

    @strawberry.field(description="Kind of record changed, e.g. opportunity.")
    def record_type(self) -> str:
        return self.row.record_type

    @strawberry.field(description='Changed fields as {"field": {"old": …, "new": …}}.')
    def changes(self) -> JSON:
        return self.row.changes

    @strawberry.field(description="The reason given, when one was.")
    def reason(self) -> str | None:
        return self.row.reason
