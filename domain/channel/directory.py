"""The directory's lists: the organizations, users and territories an actor may see, with their filters.

Each returns a statement built by the door (unordered: the connection orders and pages it).
"""

from __future__ import annotations

import uuid

from sqlalchemy import Select

from domain.access.unit_of_work import UnitOfWork
from domain.channel.organizations import Organization, OrganizationKind
from domain.identity.users import User
from domain.selling.territories import Territory
from domain.shared.search import contains_any, search_term


def visible_organizations(
    uow: UnitOfWork, *, kind: OrganizationKind | None = None, search: str | None = None
) -> Select[tuple[Organization]]:
    """Organizations the actor may see, of one kind and with a name containing `search` when asked."""
    stmt = uow.visible(Organization)
    if kind is not None:
        stmt = stmt.where(Organization.kind == kind)
    if term := search_term(search):
        stmt = stmt.where(contains_any(term, Organization.name))
    return stmt


def visible_users(
    uow: UnitOfWork,
    *,
    search: str | None = None,
    organization_id: uuid.UUID | None = None,
    role: str | None = None,
) -> Select[tuple[User]]:
    """Users the actor may see, narrowed by name or e-mail text, home organization and role when asked."""
    stmt = uow.visible(User)
    if term := search_term(search):
        stmt = stmt.where(contains_any(term, User.name, User.email))
    if organization_id is not None:
        stmt = stmt.where(User.organization_id == organization_id)
    if role:
        stmt = stmt.where(User.roles.contains([role]))
    return stmt


def visible_territories(uow: UnitOfWork) -> Select[tuple[Territory]]:
    """Territories the actor may see."""
    return uow.visible(Territory)
