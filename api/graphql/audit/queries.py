"""Queries over the audit trail."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.audit.types import NODE_NAMES, AuditEventType
from api.graphql.descriptions import described_arguments
from api.graphql.errors import BadInput, query_value
from api.graphql.relay import AfterArg, BeforeArg, Connection, FirstArg, LastArg, record_ref
from api.graphql.resolving import ctx, list_connection, load
from domain.audit.events import AuditEvent
from domain.audit.trail import events_for_record_query
from domain.shared.errors import NotFound
from domain.shared.pagination import SortDirection


@strawberry.type
class AuditQueries:
    @described_arguments(record_id="Global ID of the record whose trail to read; one the viewer can see.")
    @strawberry.field(description="The audit trail of one record the viewer can see, newest first.")
    async def audit_events(
        self, info: Info, record_id: strawberry.ID, first: FirstArg = None, after: AfterArg = None,
        last: LastArg = None, before: BeforeArg = None,
    ) -> Connection[AuditEventType]:  # fmt: skip
        type_name, uuid_ = query_value(lambda: record_ref(record_id, NODE_NAMES))
        if await load(info, type_name, uuid_) is None:  # type: ignore[arg-type]
            raise BadInput(NotFound("No record with that recordId.", field="recordId"))
        query = query_value(lambda: events_for_record_query(ctx(info).access, uuid_))  # type: ignore[arg-type]
        return await list_connection(
            info, query=query, sort_column=AuditEvent.occurred_at, id_column=AuditEvent.id,
            direction=SortDirection.DESC, first=first, after=after,
            last=last, before=before, to_node=AuditEventType.from_row,
        )  # fmt: skip
