"""Sales territories, as a tree."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKeyConstraint, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from domain.access.actor import Resource
from domain.access.unit_of_work import Protected
from domain.shared.base import Base, TenantScoped, Timestamped


class Territory(Protected, TenantScoped, Timestamped, Base):
    """A region or segment; `path` lists the ids from the root down."""

    __resource__ = Resource.TERRITORY
    __label__ = "territory"

    __tablename__ = "territory"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "parent_id"], ["territory.tenant_id", "territory.id"]),
        Index("ix_territory_path", "tenant_id", "path", postgresql_ops={"path": "text_pattern_ops"}),
    )

    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    path: Mapped[str] = mapped_column(String(2000))
