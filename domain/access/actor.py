"""What a use case knows about the actor and about which rows it may touch.

The permissions layer builds these from Casbin policies; the domain only asks them questions.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from sqlalchemy import ColumnElement


class Resource(StrEnum):
    """Kinds of records (and field groups) that policies speak of."""

    ORGANIZATION = "organization"
    TERRITORY = "territory"
    USER = "user"
    ACCOUNT = "account"
    CONTACT = "contact"
    OPPORTUNITY = "opportunity"
    OPPORTUNITY_INTERNAL = "opportunity_internal"  # margin, internal notes, close reasons, who won a lost deal
    # Who works a deal. Writes to these need the deal's own UPDATE grant as well; their scopes say which rows:
    OPPORTUNITY_OWNER = "opportunity_owner"  # handing a deal to another owner: scope over opportunities
    OPPORTUNITY_TEAM = "opportunity_team"  # whose place on a deal (seat or ownership) may change: scope over users
    OPPORTUNITY_PARTNER = "opportunity_partner"  # which organizations' links to a deal: scope over organizations
    ACTIVITY = "activity"
    AUDIT_EVENT = "audit_event"
    POLICY = "policy"
    DEAL_REGISTRATION = "deal_registration"
    LEAD = "lead"
    ROUTING_RULE = "routing_rule"
    PRODUCT = "product"  # the catalogue and price lists
    QUOTE = "quote"
    ORDER = "order"
    CONTRACT = "contract"
    ERP_SYNC = "erp_sync"  # outbox messages, the ERP connection, reconciliation


class Action(StrEnum):
    READ = "read"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    APPROVE = "approve"


class ActorKind(StrEnum):
    USER = "user"
    MACHINE = "machine"


@dataclass(frozen=True)
class Actor:
    """The verified principal a request acts as."""

    tenant_id: uuid.UUID
    kind: ActorKind
    roles: frozenset[str]
    user_id: uuid.UUID | None = None
    client_id: str | None = None
    organization_id: uuid.UUID | None = None
    organization_path: str | None = None
    territory_id: uuid.UUID | None = None
    territory_path: str | None = None
    is_partner: bool = False
    email: str | None = None
    # The signed-in session the request's token belongs to; None for machine clients and tokens from `crm token`.
    session_id: uuid.UUID | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def audit_name(self) -> str:
        return self.email or self.client_id or str(self.user_id)


class Access(Protocol):
    """Answers the two access questions a use case has: may it, and which rows."""

    @property
    def actor(self) -> Actor:
        """The principal whose access this is."""
        ...

    def can(self, resource: Resource, action: Action) -> bool:
        """Whether any policy grants the action on the resource type."""
        ...

    def rows(self, resource: Resource, action: Action = Action.READ) -> ColumnElement[bool]:
        """A SQL predicate over the resource's table matching the rows the actor may act on."""
        ...

    def rows_beyond_team(self, resource: Resource, action: Action) -> ColumnElement[bool]:
        """Like `rows`, without what team membership alone grants (for rules that apply to team members only)."""
        ...

    def rows_reached(self, resource: Resource, parent: Resource, link: str) -> ColumnElement[bool]:
        """The rows of `resource` the actor may read, for rows reached through the foreign key `link` ("table.column")
        from a `parent` record read under the actor's own rule: only the tenant's when the parent's rule already
        proves the child's (permissions/scopes.py `IMPLIED_READS`), else `rows(resource)`."""
        ...
