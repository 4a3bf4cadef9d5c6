"""Quotas for a user, a territory or a partner per period, with attainment and coverage.

A user's quota counts their whole reporting line's deals, a territory's its subtree's, a partner's
every deal linked to it or a partner below it; each only among the deals the viewer can see.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CHAR, Date, Enum, ForeignKeyConstraint, Numeric, UniqueConstraint, Uuid, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.access.actor import Access, Action, Resource
from domain.access.visibility import get_or_raise
from domain.audit import trail as audit_log
from domain.channel.organizations import Organization
from domain.identity.users import User
from domain.selling.opportunities import Opportunity, OpportunityPartner, Stage
from domain.selling.territories import Territory
from domain.shared.base import Base, TenantScoped, Timestamped
from domain.shared.errors import ErrorCode, Forbidden, Validator
from domain.shared.money import check_amount, check_currency

TWO_PLACES = Decimal("0.01")


class QuotaSubject(StrEnum):
    USER = "user"
    TERRITORY = "territory"
    ORGANIZATION = "organization"


SUBJECTS = {
    QuotaSubject.USER: (User, Resource.USER, "userId"),
    QuotaSubject.TERRITORY: (Territory, Resource.TERRITORY, "territoryId"),
    QuotaSubject.ORGANIZATION: (Organization, Resource.ORGANIZATION, "organizationId"),
}


class Quota(TenantScoped, Timestamped, Base):
    """What one user, territory or partner is to close in a period, in one currency."""

    __tablename__ = "quota"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        UniqueConstraint(
            "tenant_id",
            "subject",
            "subject_id",
            "period_start",
            "period_end",
            "currency",
            name="uq_quota_subject_period",
        ),
    )

    subject: Mapped[QuotaSubject] = mapped_column(Enum(QuotaSubject, name="quota_subject"))
    subject_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(CHAR(3))
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))


@dataclass
class QuotaStatus:
    """A quota and how it stands among the viewer's visible deals."""

    quota: Quota
    attained: Decimal  # closed won in the period
    open_pipeline: Decimal  # open deals closing in the period
    attainment: float | None  # attained ÷ quota
    coverage: float | None  # open pipeline ÷ what is left to close; null when nothing is left


async def set_quota(
    session: AsyncSession, access: Access, subject: QuotaSubject, subject_id: uuid.UUID, start: date, end: date,
    currency: str, amount: Decimal,
) -> Quota:  # fmt: skip
    """Set (or replace) a quota; directors and admins do this."""
    if not access.can(Resource.OPPORTUNITY, Action.APPROVE) or access.actor.is_partner:
        raise Forbidden("Only sales leadership sets quotas.")
    v = Validator()
    if end < start:
        v.fail("periodEnd", ErrorCode.OUT_OF_RANGE, "periodEnd must not be before periodStart.")
    code = check_currency(v, "currency", currency)
    value = check_amount(v, "amount", amount)
    v.raise_if_any()
    model, resource, field = SUBJECTS[subject]
    await get_or_raise(session, access, model, resource, subject_id, field=field)
    quota = (
        await session.execute(
            select(Quota).where(
                Quota.tenant_id == access.actor.tenant_id, Quota.subject == subject, Quota.subject_id == subject_id,
                Quota.period_start == start, Quota.period_end == end, Quota.currency == code,
            )
        )
    ).scalar_one_or_none()  # fmt: skip
    before = quota.amount if quota else None
    if quota is None:
        quota = Quota(tenant_id=access.actor.tenant_id, id=uuid.uuid4(), subject=subject, subject_id=subject_id,
                      period_start=start, period_end=end, currency=code, amount=value)  # fmt: skip
        session.add(quota)
    else:
        quota.amount = value  # type: ignore[assignment]
    await session.flush()
    changes = {"amount": {"old": str(before) if before is not None else None, "new": str(value)}}
    audit_log.record(session, access, record_type="quota", record_id=quota.id, action="set", changes=changes)
    return quota


async def _reporting_line(session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID) -> list[uuid.UUID]:
    """The user and everyone reporting to them, directly or not."""
    managers = dict((await session.execute(select(User.id, User.manager_id).where(User.tenant_id == tenant_id))).all())
    line, frontier = {user_id}, {user_id}
    while frontier:
        frontier = {u for u, m in managers.items() if m in frontier and u not in line}
        line |= frontier
    return sorted(line)


async def _subject_filter(session: AsyncSession, quota: Quota):  # type: ignore[no-untyped-def]
    if quota.subject is QuotaSubject.USER:
        return Opportunity.owner_id.in_(await _reporting_line(session, quota.tenant_id, quota.subject_id))
    if quota.subject is QuotaSubject.TERRITORY:
        path = select(Territory.path).where(Territory.tenant_id == quota.tenant_id, Territory.id == quota.subject_id)
        return Opportunity.territory_id.in_(
            select(Territory.id).where(Territory.tenant_id == quota.tenant_id,
                                       Territory.path.startswith(path.scalar_subquery()))
        )  # fmt: skip
    path = select(Organization.path).where(
        Organization.tenant_id == quota.tenant_id, Organization.id == quota.subject_id
    )
    subtree = select(Organization.id).where(
        Organization.tenant_id == quota.tenant_id, Organization.path.startswith(path.scalar_subquery())
    )
    return Opportunity.id.in_(
        select(OpportunityPartner.opportunity_id).where(
            OpportunityPartner.tenant_id == quota.tenant_id, OpportunityPartner.organization_id.in_(subtree)
        )
    )


async def quota_statuses(session: AsyncSession, access: Access, start: date, end: date) -> list[QuotaStatus]:
    """Quotas of the period whose subject the viewer can see, measured against the deals the viewer can see."""
    quotas = (
        await session.execute(
            select(Quota).where(Quota.tenant_id == access.actor.tenant_id, Quota.period_start >= start,
                                Quota.period_end <= end).order_by(Quota.subject, Quota.period_start)
        )
    ).scalars().all()  # fmt: skip
    statuses = []
    for quota in quotas:
        model, resource, _ = SUBJECTS[quota.subject]
        visible = (
            await session.execute(
                select(model.id).where(access.rows(resource), model.id == quota.subject_id)  # type: ignore[attr-defined]
            )
        ).scalar_one_or_none()
        if visible is None:
            continue
        in_period = and_(
            access.rows(Resource.OPPORTUNITY), Opportunity.currency == quota.currency,
            Opportunity.close_date >= quota.period_start, Opportunity.close_date <= quota.period_end,
            await _subject_filter(session, quota),
        )  # fmt: skip
        won, pipeline = (
            await session.execute(
                select(
                    func.coalesce(func.sum(Opportunity.amount).filter(Opportunity.stage == Stage.CLOSED_WON), 0),
                    func.coalesce(func.sum(Opportunity.amount).filter(
                        Opportunity.stage.not_in([Stage.CLOSED_WON, Stage.CLOSED_LOST])), 0),
                ).where(in_period)
            )
        ).one()  # fmt: skip
        won, pipeline = Decimal(won).quantize(TWO_PLACES), Decimal(pipeline).quantize(TWO_PLACES)
        left = quota.amount - won
        statuses.append(QuotaStatus(
            quota, won, pipeline, float(won / quota.amount) if quota.amount else None,
            float(pipeline / left) if left > 0 else None,
        ))  # fmt: skip
    return statuses
