"""The partner kind and tier as inputs take them (`PriceListPartnerKind`, `PriceListPartnerTier` in the schema).

They are GraphQL enums of their own beside `OrganizationKind` and `PartnerTier`, which outputs use; each is
its own Python enum so that the schema does not depend on the order modules are imported in.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeAlias, overload

import strawberry

from api.graphql.descriptions import describe_values
from domain.channel.organizations import OrganizationKind, PartnerTier


class PartnerKindChoice(StrEnum):
    """A kind of organization, as inputs and price lists name it."""

    ENTERPRISE = OrganizationKind.ENTERPRISE.value
    DISTRIBUTOR = OrganizationKind.DISTRIBUTOR.value
    DEALER = OrganizationKind.DEALER.value
    RESELLER = OrganizationKind.RESELLER.value
    AGENT = OrganizationKind.AGENT.value


class PartnerTierChoice(StrEnum):
    """A partner tier, as inputs and price lists name it."""

    PLATINUM = PartnerTier.PLATINUM.value
    GOLD = PartnerTier.GOLD.value
    SILVER = PartnerTier.SILVER.value
    REGISTERED = PartnerTier.REGISTERED.value


PartnerKindType: TypeAlias = PartnerKindChoice
strawberry.enum(PartnerKindType, name="PriceListPartnerKind", description="A kind of organization.")
describe_values(
    PartnerKindType,
    {
        "ENTERPRISE": "The enterprise itself.",
        "DISTRIBUTOR": "Distributors.",
        "DEALER": "Dealers.",
        "RESELLER": "Resellers.",
        "AGENT": "Agents.",
    },
)
PartnerTierType: TypeAlias = PartnerTierChoice
strawberry.enum(PartnerTierType, name="PriceListPartnerTier", description="A partner tier.")
describe_values(
    PartnerTierType,
    {
        "PLATINUM": "Platinum partners.",
        "GOLD": "Gold partners.",
        "SILVER": "Silver partners.",
        "REGISTERED": "Registered partners without a tier.",
    },
)


@overload
def organization_kind(choice: PartnerKindChoice) -> OrganizationKind: ...
@overload
def organization_kind(choice: None) -> None: ...
def organization_kind(choice: PartnerKindChoice | None) -> OrganizationKind | None:
    """The domain's kind for an input's choice."""
    return None if choice is None else OrganizationKind(choice.value)


def partner_tier(choice: PartnerTierChoice | None) -> PartnerTier | None:
    """The domain's tier for an input's choice."""
    return None if choice is None else PartnerTier(choice.value)


def kind_choice(kind: OrganizationKind | None) -> PartnerKindChoice | None:
    """An input's choice for the domain's kind."""
    return None if kind is None else PartnerKindChoice(kind.value)


def tier_choice(tier: PartnerTier | None) -> PartnerTierChoice | None:
    """An input's choice for the domain's tier."""
    return None if tier is None else PartnerTierChoice(tier.value)
