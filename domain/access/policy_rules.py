"""Stored access policy rules (Casbin's p and g lines), per tenant."""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from domain.shared.base import Base


class PolicyRule(Base):
    """One policy line: `p, role, tenant, resource, action, scope` or `g, role, parent_role, tenant`."""

    __tablename__ = "policy_rule"
    __table_args__ = (Index("ix_policy_rule_tenant", "tenant_id", "ptype"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenant.id", ondelete="CASCADE"))
    ptype: Mapped[str] = mapped_column(String(8))
    v0: Mapped[str] = mapped_column(String(100))
    v1: Mapped[str] = mapped_column(String(100))
    v2: Mapped[str] = mapped_column(String(100), default="")
    v3: Mapped[str] = mapped_column(String(100), default="")
    v4: Mapped[str] = mapped_column(String(100), default="")
