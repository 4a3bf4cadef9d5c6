"""How each compiled GraphQL type's fields are read from its table: the compiler's half of the schema.

A field not listed here is not compiled; a request selecting it is answered by the resolvers, so this table
may grow one field at a time. Each entry mirrors its resolver (api/graphql/<concept>/types.py) exactly, and
the differential check (tests, `CRM_COMPILED_READS=check`) holds the two to the same answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import ColumnProperty
from sqlalchemy.types import Float

from domain.channel.organizations import Organization
from domain.identity.users import User
from domain.selling.accounts import Account
from domain.selling.activities import Activity
from domain.selling.opportunities import Opportunity, OpportunityPartner, OpportunityTeamMember
from domain.selling.territories import Territory


class Kind(StrEnum):
    """How a column's value is written in the response, as the GraphQL scalar of its field serialises it."""

    PLAIN = "plain"  # strings, integers, booleans, enums (stored by name), dates and times (UTC sessions)
    DECIMAL = "decimal"  # GraphQL's Decimal is a string


@dataclass(frozen=True)
class Column:
    """A column read as it is; `internal` names the field for the internal-only rule (partners are refused)."""

    column: str
    kind: Kind = Kind.PLAIN
    internal: str | None = None


@dataclass(frozen=True)
class GlobalId:
    """The record's Relay id: base64url of "Type:uuid", unpadded."""


@dataclass(frozen=True)
class MoneyOf:
    """A Money object of an amount column and the record's currency; null when the amount is."""

    amount: str
    currency: str = "currency"


@dataclass(frozen=True)
class IsClosed:
    """Whether the deal's stage is a closed one."""


@dataclass(frozen=True)
class ToOne:
    """A record this one refers to, read by that record's own row rule: null when the viewer may not see it."""

    type_name: str
    column: str


@dataclass(frozen=True)
class ChildList:
    """Every child row of the record (its `parent` column names the record), by `order` then id.

    `visible` names a column and the type whose row rule it must pass: a deal's partner links list only the
    organizations the viewer may see.
    """

    type_name: str
    model: type
    parent: str
    order: str
    visible: tuple[str, str] | None = None


@dataclass(frozen=True)
class ChildConnection:
    """A nested connection over a protected model's rows under the record, newest first by `sort`, then id.

    `connection` names it for its cursors' signature, as its resolver's ordering does ("Opportunity.activities").
    """

    type_name: str
    model: type
    parent: str
    sort: str
    connection: str


FieldShape = Column | GlobalId | MoneyOf | IsClosed | ToOne | ChildList | ChildConnection
MONEY_FIELDS = frozenset({"amount", "currency"})


@dataclass(frozen=True)
class Shape:
    """A compiled GraphQL type: its model (a protected one, read through the door) and its fields."""

    model: type
    fields: Mapping[str, FieldShape]


SHAPES: dict[str, Shape] = {
    "Opportunity": Shape(
        Opportunity,
        {
            "id": GlobalId(),
            "version": Column("row_version"),
            "name": Column("name"),
            "stage": Column("stage"),
            "amount": MoneyOf("amount"),
            "closeDate": Column("close_date"),
            "probability": Column("probability"),
            "forecastCategory": Column("forecast_category"),
            "source": Column("source"),
            "budget": MoneyOf("budget"),
            "decisionDate": Column("decision_date"),
            "closeReasonCode": Column("close_reason_code", internal="closeReasonCode"),
            "closeReason": Column("close_reason", internal="closeReason"),
            "lostToCompetitor": Column("lost_to_competitor", internal="lostToCompetitor"),
            "isClosed": IsClosed(),
            "createdAt": Column("created_at"),
            "updatedAt": Column("updated_at"),
            "margin": Column("margin", Kind.DECIMAL, internal="margin"),
            "internalNotes": Column("internal_notes", internal="internalNotes"),
            "account": ToOne("Account", "account_id"),
            "owner": ToOne("User", "owner_id"),
            "territory": ToOne("Territory", "territory_id"),
            "team": ChildList("OpportunityTeamMember", OpportunityTeamMember, "opportunity_id", "created_at"),
            "partners": ChildList(
                "OpportunityPartner",
                OpportunityPartner,
                "opportunity_id",
                "created_at",
                visible=("organization_id", "Organization"),
            ),
            "activities": ChildConnection(
                "Activity", Activity, "opportunity_id", "occurred_at", "Opportunity.activities"
            ),
        },
    ),
    "OpportunityTeamMember": Shape(
        OpportunityTeamMember,
        {
            "salesRole": Column("sales_role"),
            "access": Column("access"),
            "joinedAt": Column("created_at"),
            "user": ToOne("User", "user_id"),
        },
    ),
    "OpportunityPartner": Shape(
        OpportunityPartner, {"role": Column("role"), "organization": ToOne("Organization", "organization_id")}
    ),
    "Activity": Shape(
        Activity,
        {
            "id": GlobalId(),
            "kind": Column("kind"),
            "subject": Column("subject"),
            "notes": Column("notes"),
            "occurredAt": Column("occurred_at"),
            "dueAt": Column("due_at"),
            "done": Column("done"),
            "owner": ToOne("User", "owner_id"),
            "assignee": ToOne("User", "assignee_id"),
            "account": ToOne("Account", "account_id"),
            "opportunity": ToOne("Opportunity", "opportunity_id"),
        },
    ),
    "Account": Shape(
        Account,
        {
            "id": GlobalId(),
            "version": Column("row_version"),
            "name": Column("name"),
            "normalizedName": Column("normalized_name"),
            "taxId": Column("tax_id"),
            "webDomain": Column("web_domain"),
            "industry": Column("industry"),
            "grade": Column("grade"),
            "lifecycleStage": Column("lifecycle_stage"),
            "createdAt": Column("created_at"),
            "updatedAt": Column("updated_at"),
            "owner": ToOne("User", "owner_id"),
            "territory": ToOne("Territory", "territory_id"),
            "managingPartner": ToOne("Organization", "managing_partner_id"),
        },
    ),
    "User": Shape(
        User,
        {
            "id": GlobalId(),
            "name": Column("name"),
            "email": Column("email"),
            "isActive": Column("is_active"),
            "organization": ToOne("Organization", "organization_id"),
            "territory": ToOne("Territory", "territory_id"),
        },
    ),
    "Organization": Shape(Organization, {"id": GlobalId(), "name": Column("name")}),
    "Territory": Shape(Territory, {"id": GlobalId(), "name": Column("name")}),
}


def register(derived: Mapping[str, Shape]) -> None:
    """Add shapes derived from the resolvers (api.graphql.compiled.derive); a hand-listed field wins over them."""
    for name, shape in derived.items():
        listed = SHAPES.get(name)
        if listed is None:
            SHAPES[name] = shape
        elif listed.model is shape.model:
            SHAPES[name] = Shape(listed.model, {**shape.fields, **listed.fields})


def column_of(model: type, attribute: str) -> str | None:
    """The column name behind a mapped attribute, when it is a plain column a JSON value can be read from.

    Floating-point columns are left out: PostgreSQL and Python write some floats with different digits.
    """
    prop = model.__mapper__.attrs.get(attribute)  # type: ignore[attr-defined]
    if not isinstance(prop, ColumnProperty) or len(prop.columns) != 1:
        return None
    column = prop.columns[0]
    if isinstance(column.type, Float) or not hasattr(column, "table"):
        return None
    return str(column.name)
