"""The channel's loaders: the partner network below an organization."""

from __future__ import annotations

from api.graphql.loaders import LoaderSet, all_children
from domain.channel.deal_registrations import DealRegistration
from domain.channel.lead_routing import RoutingRule
from domain.channel.leads import Lead
from domain.channel.organizations import Organization
from domain.channel.web_forms import WebForm

# Node types of the channel, each read by its own resource's rule.
NODES: dict[str, type] = {"Organization": Organization, "DealRegistration": DealRegistration, "Lead": Lead}
# Node types of the channel read by the rule of what they belong to (lead routing configuration).
DEPENDENT_NODES: dict[str, type] = {"RoutingRule": RoutingRule, "WebForm": WebForm}


class ChannelLoaders(LoaderSet):
    """The channel's loaders of one request."""

    # The organizations directly below one, by name, that the viewer may see.
    children_by_organization = all_children(Organization, Organization.parent_id, order=Organization.name)
