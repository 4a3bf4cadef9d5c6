"""Selling's loaders: a deal's team, partners, buying centre and competitors, and deal and account timelines."""

from __future__ import annotations

import uuid
from typing import Any

from strawberry.dataloader import DataLoader

from api.graphql.loaders import LoaderSet, all_children, child_counts, first_children
from domain.selling.accounts import Account
from domain.selling.activities import Activity
from domain.selling.buying_centre import OpportunityCompetitor, OpportunityContact
from domain.selling.contacts import Contact
from domain.selling.opportunities import Opportunity, OpportunityPartner, OpportunityTeamMember
from domain.selling.pipelines import Pipeline
from domain.selling.stage_gates import StageApproval
from domain.selling.territories import Territory

# Node types of selling, each read by its own resource's rule.
NODES: dict[str, type] = {
    "Account": Account,
    "Contact": Contact,
    "Opportunity": Opportunity,
    "Activity": Activity,
    "Territory": Territory,
}
# Node types of selling without a resource of their own, read by the rule of what they belong to.
DEPENDENT_NODES: dict[str, type] = {"Pipeline": Pipeline, "StageApproval": StageApproval}


class SellingLoaders(LoaderSet):
    """Selling's loaders of one request."""

    # Seats, partner links, buying centre and competitors of a deal the resolver has already shown visible.
    team_by_opportunity = all_children(
        OpportunityTeamMember,
        OpportunityTeamMember.opportunity_id,
        order=OpportunityTeamMember.created_at,
        parent_visible=True,
    )
    partners_by_opportunity = all_children(
        OpportunityPartner,
        OpportunityPartner.opportunity_id,
        order=OpportunityPartner.created_at,
        parent_visible=True,
    )
    buying_centre_by_opportunity = all_children(
        OpportunityContact,
        OpportunityContact.opportunity_id,
        order=OpportunityContact.created_at,
        parent_visible=True,
    )
    competitors_by_opportunity = all_children(
        OpportunityCompetitor,
        OpportunityCompetitor.opportunity_id,
        order=OpportunityCompetitor.name,
        parent_visible=True,
    )
    # First pages (newest first) and totals of nested connections, each by its own resource's rule.
    activities_by_opportunity = first_children(Activity, Activity.opportunity_id, sort=Activity.occurred_at)
    activities_by_account = first_children(Activity, Activity.account_id, sort=Activity.occurred_at)
    contacts_by_account = first_children(Contact, Contact.account_id, sort=Contact.created_at)
    opportunities_by_account = first_children(Opportunity, Opportunity.account_id, sort=Opportunity.created_at)
    count_activities_by_opportunity = child_counts(Activity, Activity.opportunity_id)
    count_activities_by_account = child_counts(Activity, Activity.account_id)
    count_contacts_by_account = child_counts(Contact, Contact.account_id)
    count_opportunities_by_account = child_counts(Opportunity, Opportunity.account_id)

    @property
    def pipelines(self) -> DataLoader[uuid.UUID, Any]:
        """Pipelines by id: tenant configuration every user of the tenant reads (the Node loader of Pipeline)."""
        return self.by_type["Pipeline"]
