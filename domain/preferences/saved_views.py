"""Saved views: a person's named filters for a list (deals, leads, registrations, orders), kept for them alone.

A view holds the list's filter values as a small JSON object that the front end that saved it reads
back; the CRM checks its size and shape, not its meaning, so every front end can keep its own keys.
Views are personal: only their owner reads, renames or deletes them, so no policy grant is involved.
"""

from __future__ import annotations

import json
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import Enum, ForeignKeyConstraint, Index, String, Uuid, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from domain.access.actor import Access
from domain.access.unit_of_work import UnitOfWork
from domain.preferences.codes import PreferencesCode
from domain.shared.base import Base, TenantScoped, Timestamped
from domain.shared.errors import Conflict, ErrorCode, Forbidden, NotFound, Validator
from domain.shared.text import unstorable_reason

MAX_FILTER_BYTES = 4000
MAX_FILTER_KEYS = 30
MAX_KEY_LENGTH = 50
MAX_VIEWS_PER_LIST = 50


class SavedViewList(StrEnum):
    """The lists a view can be saved for."""

    DEALS = "deals"
    LEADS = "leads"
    DEAL_REGISTRATIONS = "deal_registrations"
    ORDERS = "orders"


class SavedView(TenantScoped, Timestamped, Base):
    """One person's named filter for one list."""

    __tablename__ = "saved_view"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "user_id"], ["app_user.tenant_id", "app_user.id"], ondelete="CASCADE"),
        Index("uq_saved_view_name", "tenant_id", "user_id", "list_name", "name", unique=True),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    list_name: Mapped[SavedViewList] = mapped_column(Enum(SavedViewList, name="saved_view_list"))
    name: Mapped[str] = mapped_column(String(100))
    filters: Mapped[dict[str, Any]] = mapped_column(JSONB)


def _scalar(value: object) -> bool:
    return value is None or isinstance(value, str | bool | int | float)


def _check_filters(v: Validator, filters: object) -> dict[str, Any]:
    """A flat JSON object of scalars or lists of scalars, small enough to keep."""
    if not isinstance(filters, dict):
        v.fail("filters", ErrorCode.INVALID, 'filters must be a JSON object, e.g. {"stage": "PROPOSAL"}.')
        return {}
    if len(filters) > MAX_FILTER_KEYS:
        v.fail("filters", ErrorCode.TOO_LONG, f"filters may hold at most {MAX_FILTER_KEYS} keys.")
        return {}
    for key, value in filters.items():
        if not key or len(key) > MAX_KEY_LENGTH or unstorable_reason(key) is not None:
            v.fail("filters", ErrorCode.INVALID, f"Each key of filters is 1 to {MAX_KEY_LENGTH} plain characters.")
            return {}
        items = value if isinstance(value, list) else [value]
        if not all(_scalar(item) for item in items):
            message = f"filters.{key} must be a text, number, true/false, null or a list of those."
            v.fail("filters", ErrorCode.INVALID, message)
            return {}
        if any(isinstance(item, str) and unstorable_reason(item) is not None for item in items):
            v.fail("filters", ErrorCode.INVALID, f"filters.{key} must be plain text (no NUL characters).")
            return {}
    if len(json.dumps(filters, ensure_ascii=False).encode()) > MAX_FILTER_BYTES:
        v.fail("filters", ErrorCode.TOO_LONG, f"filters must be at most {MAX_FILTER_BYTES} bytes as JSON.")
        return {}
    return filters


def _owner(access: Access) -> uuid.UUID:
    if access.actor.user_id is None:
        raise Forbidden("Saved views belong to people; a machine client has none.")
    return access.actor.user_id


async def my_views(uow: UnitOfWork, list_name: SavedViewList) -> list[SavedView]:
    """The viewer's own views of a list, by name."""
    actor = uow.actor
    if actor.user_id is None:
        return []
    rows = await uow.session.execute(
        select(SavedView)
        .where(
            SavedView.tenant_id == actor.tenant_id,
            SavedView.user_id == actor.user_id,
            SavedView.list_name == list_name,
        )
        .order_by(SavedView.name, SavedView.id)
    )
    return list(rows.scalars())


async def _own_view_or_raise(uow: UnitOfWork, view_id: uuid.UUID) -> SavedView:
    view = await uow.session.get(SavedView, (uow.tenant_id, view_id), with_for_update=True)
    if view is None or view.user_id != uow.actor.user_id:
        raise NotFound("No saved view with that id.", field="id")
    return view


async def save_view(
    uow: UnitOfWork,
    *,
    list_name: SavedViewList,
    name: str,
    filters: object,
    view_id: uuid.UUID | None = None,
) -> SavedView:
    """Create a view, or (with view_id) replace the name and filters of one of the viewer's own views."""
    session, access = uow.session, uow.access
    owner = _owner(access)
    v = Validator()
    clean_name = v.require_text("name", name, max_length=100)
    clean_filters = _check_filters(v, filters)
    v.raise_if_any()
    assert clean_name is not None
    same_name = (
        await session.execute(
            select(SavedView.id).where(
                SavedView.tenant_id == access.actor.tenant_id,
                SavedView.user_id == owner,
                SavedView.list_name == list_name,
                SavedView.name == clean_name,
            )
        )
    ).scalar_one_or_none()
    if same_name is not None and same_name != view_id:
        message = f"You already have a view named {clean_name!r} for this list."
        raise Conflict(message, field="name", code=PreferencesCode.VIEW_NAME_TAKEN)
    if view_id is not None:
        view = await _own_view_or_raise(uow, view_id)
        if view.list_name != list_name:
            message = "That view belongs to another list."
            raise Conflict(message, field="list", code=PreferencesCode.VIEW_OF_ANOTHER_LIST)
        view.name, view.filters = clean_name, clean_filters
    else:
        count = len(await my_views(uow, list_name))
        if count >= MAX_VIEWS_PER_LIST:
            message = f"You have {MAX_VIEWS_PER_LIST} views for this list; delete one first."
            raise Conflict(message, field="name", code=PreferencesCode.VIEW_LIMIT_REACHED)
        view = SavedView(
            tenant_id=access.actor.tenant_id,
            id=uuid.uuid4(),
            user_id=owner,
            list_name=list_name,
            name=clean_name,
            filters=clean_filters,
        )
        session.add(view)
    await session.flush()
    return view


async def delete_view(uow: UnitOfWork, view_id: uuid.UUID) -> SavedView:
    """Delete one of the viewer's own views; returns it as it was."""
    _owner(uow.access)
    view = await _own_view_or_raise(uow, view_id)
    await uow.session.delete(view)
    await uow.session.flush()
    return view
