"""Mutations on opportunities: create, change, stage moves, team, ownership and partner links."""

from __future__ import annotations

import strawberry

from api.graphql.selling.opportunities.mutations.add_opportunity_team_member import add_opportunity_team_member
from api.graphql.selling.opportunities.mutations.create_opportunity import create_opportunity
from api.graphql.selling.opportunities.mutations.decide_stage_approval import decide_stage_approval
from api.graphql.selling.opportunities.mutations.link_opportunity_partner import link_opportunity_partner
from api.graphql.selling.opportunities.mutations.move_opportunity_stage import move_opportunity_stage
from api.graphql.selling.opportunities.mutations.remove_buying_centre_contact import remove_buying_centre_contact
from api.graphql.selling.opportunities.mutations.remove_opportunity_team_member import remove_opportunity_team_member
from api.graphql.selling.opportunities.mutations.request_stage_approval import request_stage_approval
from api.graphql.selling.opportunities.mutations.set_buying_centre_contact import set_buying_centre_contact
from api.graphql.selling.opportunities.mutations.set_opportunity_competitor import set_opportunity_competitor
from api.graphql.selling.opportunities.mutations.set_stage_gate import set_stage_gate
from api.graphql.selling.opportunities.mutations.set_team_stage_rule import set_team_stage_rule
from api.graphql.selling.opportunities.mutations.swap_opportunity_team_member import swap_opportunity_team_member
from api.graphql.selling.opportunities.mutations.transfer_opportunity_ownership import transfer_opportunity_ownership
from api.graphql.selling.opportunities.mutations.unlink_opportunity_partner import unlink_opportunity_partner
from api.graphql.selling.opportunities.mutations.update_opportunity import update_opportunity


@strawberry.type
class OpportunityMutations:
    create_opportunity = create_opportunity
    update_opportunity = update_opportunity
    move_opportunity_stage = move_opportunity_stage
    set_stage_gate = set_stage_gate
    set_team_stage_rule = set_team_stage_rule
    request_stage_approval = request_stage_approval
    decide_stage_approval = decide_stage_approval
    add_opportunity_team_member = add_opportunity_team_member
    remove_opportunity_team_member = remove_opportunity_team_member
    swap_opportunity_team_member = swap_opportunity_team_member
    transfer_opportunity_ownership = transfer_opportunity_ownership
    set_buying_centre_contact = set_buying_centre_contact
    remove_buying_centre_contact = remove_buying_centre_contact
    set_opportunity_competitor = set_opportunity_competitor
    link_opportunity_partner = link_opportunity_partner
    unlink_opportunity_partner = unlink_opportunity_partner
