"""The per-request GraphQL context: the actor, its access, and the loaders that batch every nested read.

Loaders are declared beside their concept (`api/graphql/<concept>/loaders.py`) and gathered here, in one
place; each is made the first time a request uses it (see `api.graphql.loaders`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from api.graphql.channel import loaders as channel
from api.graphql.channel.loaders import ChannelLoaders
from api.graphql.commerce import loaders as commerce
from api.graphql.commerce.loaders import CommerceLoaders
from api.graphql.identity import loaders as identity
from api.graphql.loaders import NodeLoaders
from api.graphql.selling import loaders as selling
from api.graphql.selling.loaders import SellingLoaders
from domain.access.actor import Actor, Resource
from domain.access.unit_of_work import resource_of
from permissions.engine import PolicyAccess
from services.unit_of_work import Sessions

# Every Node type read by its own resource's rule: its model, and that model with its resource.
PROTECTED_NODE_MODELS: dict[str, type] = {**selling.NODES, **channel.NODES, **commerce.NODES, **identity.NODES}
NODE_MODELS: dict[str, tuple[type, Resource]] = {
    name: (model, resource_of(model)) for name, model in PROTECTED_NODE_MODELS.items()
}
# Node types without a resource of their own, each read by the rule of what it belongs to.
DEPENDENT_NODE_MODELS: dict[str, type] = {
    **selling.DEPENDENT_NODES,
    **channel.DEPENDENT_NODES,
    **commerce.DEPENDENT_NODES,
    **identity.DEPENDENT_NODES,
}


class Loaders(SellingLoaders, ChannelLoaders, CommerceLoaders):
    """Every loader of one request, each made on first use; all reads carry the actor's visibility."""

    def __init__(self, sessions: Sessions, access: PolicyAccess) -> None:
        super().__init__(sessions, access)
        self.by_type = NodeLoaders(self, PROTECTED_NODE_MODELS, DEPENDENT_NODE_MODELS)


@dataclass
class Context:
    """What every resolver may use: the request, the actor, its access and the loaders."""

    request: Request
    sessions: Sessions
    access: PolicyAccess
    loaders: Loaders
    request_id: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def actor(self) -> Actor:
        return self.access.actor
