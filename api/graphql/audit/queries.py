"""Queries over the audit trail."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.audit.types import NODE_NAMES, AuditEventType
from api.graphql.descriptions import described_arguments
from api.graphql.errors import BadInput, query_value
from api.graphql.relay import AfterArg, BeforeArg, Connection, FirstArg, LastArg, record_ref
from api.graphql.resolving import list_connection, load
from domain.audit.trail import AuditEvent, events_of_record
from domain.shared.errors import NotFound
from domain.shared.pagination import SortDirection


@strawberry.type
class AuditQueries:
    @described_arguments(record_id="Global ID of the record whose trail to read; one the viewer can see.")
    @strawberry.field(description="The audit trail of one record the viewer can see, newest first.")
    async def audit_events(
        self,
        info: Info,
        record_id: strawberry.ID,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> Connection[AuditEventType]:
        type_name, uuid_ = query_value(lambda: record_ref(record_id, NODE_NAMES))
        if await load(info, type_name, uuid_) is None:
            raise BadInput(NotFound("No record with that recordId.", field="recordId"))
        assert uuid_ is not None
        record_uuid = uuid_
        return await list_connection(
            info,
            query=lambda uow: events_of_record(uow, record_uuid),
            sort_column=AuditEvent.occurred_at,
            id_column=AuditEvent.id,
            direction=SortDirection.DESC,
            first=first,
            after=after,
            last=last,
            before=before,
            to_node=AuditEventType.from_row,
        )
