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

from sqlalchemy import (
    CHAR,
    ColumnElement,
    Date,
    Enum,
    ForeignKeyConstraint,
    Numeric,
    UniqueConstraint,
    Uuid,
    and_,
    func,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column

from domain.access.actor import Action, Resource
from domain.access.unit_of_work import UnitOfWork, system_unit_of_work
from domain.audit import trail as audit_log
from domain.channel.organizations import Organization
from domain.identity.users import User
from domain.selling.opportunities import Opportunity, OpportunityPartner
from domain.selling.stages import Stage
from domain.selling.territories import Territory
from domain.shared.base import Base, TenantScoped, Timestamped
from domain.shared.errors import ErrorCode, Forbidden, Validator
from domain.shared.money import check_amount, check_currency

TWO_PLACES = Decimal("0.01")


class QuotaSubject(StrEnum):
    USER = "user"
    TERRITORY = "territory"
    ORGANIZATION = "organization"


# The model of each kind of subject, and the input field that names one.
SUBJECTS: dict[QuotaSubject, tuple[type[User] | type[Territory] | type[Organization], str]] = {
    QuotaSubject.USER: (User, "userId"),
    QuotaSubject.TERRITORY: (Territory, "territoryId"),
    QuotaSubject.ORGANIZATION: (Organization, "organizationId"),
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
    uow: UnitOfWork,
    subject: QuotaSubject,
    subject_id: uuid.UUID,
    start: date,
    end: date,
    currency: str,
    amount: Decimal,
) -> QuotaStatus:
    """Set (or replace) a quota (directors and admins), and answer how it stands among the actor's deals."""
    access = uow.access
    if not access.can(Resource.OPPORTUNITY, Action.APPROVE) or access.actor.is_partner:
        raise Forbidden("Only sales leadership sets quotas.")
    v = Validator()
    if end < start:
        v.fail("periodEnd", ErrorCode.OUT_OF_RANGE, "periodEnd must not be before periodStart.")
    code = check_currency(v, "currency", currency)
    value = check_amount(v, "amount", amount)
    v.raise_if_any()
    assert code is not None and value is not None
    model, field = SUBJECTS[subject]
    await uow.get(model, subject_id, field=field)
    quota = (
        await uow.session.execute(
            select(Quota).where(
                Quota.tenant_id == uow.tenant_id,
                Quota.subject == subject,
                Quota.subject_id == subject_id,
                Quota.period_start == start,
                Quota.period_end == end,
                Quota.currency == code,
            )
        )
    ).scalar_one_or_none()
    before = quota.amount if quota else None
    if quota is None:
        quota = Quota(
            tenant_id=uow.tenant_id,
            id=uuid.uuid4(),
            subject=subject,
            subject_id=subject_id,
            period_start=start,
            period_end=end,
            currency=code,
            amount=value,
        )
        uow.session.add(quota)
    else:
        quota.amount = value
    await uow.session.flush()
    changes = {"amount": {"old": str(before) if before is not None else None, "new": str(value)}}
    audit_log.record(uow.session, access, record_type="quota", record_id=quota.id, action="set", changes=changes)
    return await _status(uow, quota)


async def _reporting_line(uow: UnitOfWork, user_id: uuid.UUID) -> list[uuid.UUID]:
    """The user and everyone reporting to them, directly or not, whether or not the viewer may see them."""
    # A user's quota counts their whole line's deals (the deals alone are narrowed to the viewer's), so the
    # line is read over the whole tenant.
    tenant = system_unit_of_work(uow.session, uow.tenant_id, "quota reporting line")
    managers = dict((await uow.session.execute(tenant.visible_columns(User, User.id, User.manager_id))).all())
    line, frontier = {user_id}, {user_id}
    while frontier:
        frontier = {u for u, m in managers.items() if m in frontier and u not in line}
        line |= frontier
    return sorted(line)


async def _subject_filter(uow: UnitOfWork, quota: Quota) -> ColumnElement[bool]:
    """The deals a quota's subject answers for: its reporting line's, its territory subtree's or its partner tree's."""
    if quota.subject is QuotaSubject.USER:
        return Opportunity.owner_id.in_(await _reporting_line(uow, quota.subject_id))
    if quota.subject is QuotaSubject.TERRITORY:
        path = select(Territory.path).where(Territory.tenant_id == quota.tenant_id, Territory.id == quota.subject_id)
        subtree = select(Territory.id).where(
            Territory.tenant_id == quota.tenant_id, Territory.path.startswith(path.scalar_subquery())
        )
        return Opportunity.territory_id.in_(subtree)
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


async def _status(uow: UnitOfWork, quota: Quota) -> QuotaStatus:
    """How a quota stands among the deals the viewer can see."""
    in_period = and_(
        uow.rows(Opportunity),
        Opportunity.currency == quota.currency,
        Opportunity.close_date >= quota.period_start,
        Opportunity.close_date <= quota.period_end,
        await _subject_filter(uow, quota),
    )
    open_stages = Opportunity.stage.not_in([Stage.CLOSED_WON, Stage.CLOSED_LOST])
    sums = select(
        func.coalesce(func.sum(Opportunity.amount).filter(Opportunity.stage == Stage.CLOSED_WON), 0),
        func.coalesce(func.sum(Opportunity.amount).filter(open_stages), 0),
    ).where(in_period)
    won, pipeline = (await uow.session.execute(uow.mark(sums))).one()
    won, pipeline = Decimal(won).quantize(TWO_PLACES), Decimal(pipeline).quantize(TWO_PLACES)
    left = quota.amount - won
    return QuotaStatus(
        quota,
        won,
        pipeline,
        float(won / quota.amount) if quota.amount else None,
        float(pipeline / left) if left > 0 else None,
    )


async def quota_statuses(uow: UnitOfWork, start: date, end: date) -> list[QuotaStatus]:
    """Quotas of the period whose subject the viewer can see, measured against the deals the viewer can see."""
    quotas = (
        (
            await uow.session.execute(
                select(Quota)
                .where(Quota.tenant_id == uow.tenant_id, Quota.period_start >= start, Quota.period_end <= end)
                .order_by(Quota.subject, Quota.period_start)
            )
        )
        .scalars()
        .all()
    )
    statuses = []
    for quota in quotas:
        model, _ = SUBJECTS[quota.subject]
        visible = await uow.session.scalar(uow.visible_columns(model, model.id).where(model.id == quota.subject_id))
        if visible is not None:
            statuses.append(await _status(uow, quota))
    return statuses
