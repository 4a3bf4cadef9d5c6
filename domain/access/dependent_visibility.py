"""Who sees the records that have no resource of their own: each is read by the rule of what it belongs to.

Pipelines are tenant configuration every user of the tenant works with; price lists are commerce configuration
(internal people see them all, a partner only the one it buys from: `catalog.price_list_rows`); routing
rules and web forms are lead routing configuration, read by those whose role reads routing rules; a stage
approval belongs to its opportunity and is seen by whoever sees the deal; an outbox message is the ERP
link's, read by those whose role reads the ERP sync; a saved view, and a sign-in session while it lasts,
are their person's alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, false, select

from domain.access.actor import Access, Action, Resource
from domain.access.unit_of_work import UnitOfWork
from domain.channel.lead_routing import RoutingRule
from domain.channel.web_forms import WebForm
from domain.commerce.catalog import PriceList, price_list_rows
from domain.erp.outbox import OutboxMessage
from domain.identity.sign_in.models import AuthSession
from domain.identity.sign_in.sessions import SESSION_IDLE_LIFETIME
from domain.preferences.saved_views import SavedView
from domain.selling.opportunities import Opportunity
from domain.selling.pipelines import Pipeline
from domain.selling.stage_gates import StageApproval
from domain.shared.base import utcnow

M = TypeVar("M")


def _pipelines(access: Access) -> ColumnElement[bool]:
    return Pipeline.tenant_id == access.actor.tenant_id


def _routing_rules(access: Access) -> ColumnElement[bool]:
    return access.rows(Resource.ROUTING_RULE)


def _web_forms(access: Access) -> ColumnElement[bool]:
    if not access.can(Resource.ROUTING_RULE, Action.READ):
        return false()
    return WebForm.tenant_id == access.actor.tenant_id


def _stage_approvals(access: Access) -> ColumnElement[bool]:
    visible_deals = select(Opportunity.id).where(access.rows(Resource.OPPORTUNITY))
    return (StageApproval.tenant_id == access.actor.tenant_id) & StageApproval.opportunity_id.in_(visible_deals)


def _outbox_messages(access: Access) -> ColumnElement[bool]:
    return access.rows(Resource.ERP_SYNC)


def _saved_views(access: Access) -> ColumnElement[bool]:
    if access.actor.user_id is None:
        return false()
    return (SavedView.tenant_id == access.actor.tenant_id) & (SavedView.user_id == access.actor.user_id)


def _sign_in_sessions(access: Access) -> ColumnElement[bool]:
    """A person's own sessions that have not ended, as mySessions lists them."""
    actor = access.actor
    if actor.user_id is None:
        return false()
    now = utcnow()
    return and_(
        AuthSession.tenant_id == actor.tenant_id,
        AuthSession.user_id == actor.user_id,
        AuthSession.revoked_at.is_(None),
        AuthSession.expires_at > now,
        AuthSession.last_used_at > now - SESSION_IDLE_LIFETIME,
    )


RULES: dict[type, Callable[[Access], ColumnElement[bool]]] = {
    Pipeline: _pipelines,
    PriceList: price_list_rows,
    RoutingRule: _routing_rules,
    WebForm: _web_forms,
    StageApproval: _stage_approvals,
    OutboxMessage: _outbox_messages,
    SavedView: _saved_views,
    AuthSession: _sign_in_sessions,
}


def visible_rows(access: Access, model: type) -> ColumnElement[bool]:
    """A SQL predicate over `model`'s table matching the rows of it the actor may read."""
    return RULES[model](access)


async def load_visible_dependents(uow: UnitOfWork, model: type[M], ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, M]:
    """The readable records of `model` among `ids`, in one statement through the door, keyed by id."""
    wanted = list(set(ids))
    if not wanted:
        return {}
    stmt = uow.mark(select(model).where(visible_rows(uow.access, model), model.id.in_(wanted)))  # type: ignore[attr-defined]
    rows: Sequence[Any] = (await uow.session.execute(stmt)).scalars().all()
    return {r.id: r for r in rows}
