"""Mutations on leads, routing rules and web forms."""

from __future__ import annotations

import strawberry

from api.graphql.channel.leads.mutations.accept_lead import accept_lead
from api.graphql.channel.leads.mutations.assign_lead import assign_lead
from api.graphql.channel.leads.mutations.convert_lead import convert_lead
from api.graphql.channel.leads.mutations.create_lead import create_lead
from api.graphql.channel.leads.mutations.create_routing_rule import create_routing_rule
from api.graphql.channel.leads.mutations.create_web_form import create_web_form
from api.graphql.channel.leads.mutations.decline_lead import decline_lead
from api.graphql.channel.leads.mutations.merge_lead import merge_lead
from api.graphql.channel.leads.mutations.set_partner_lead_sla_hours import set_partner_lead_sla_hours


@strawberry.type
class LeadMutations:
    create_lead = create_lead
    assign_lead = assign_lead
    accept_lead = accept_lead
    decline_lead = decline_lead
    merge_lead = merge_lead
    convert_lead = convert_lead
    create_routing_rule = create_routing_rule
    set_partner_lead_sla_hours = set_partner_lead_sla_hours
    create_web_form = create_web_form
