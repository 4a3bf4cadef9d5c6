"""A partner's credit with the enterprise: the ERP's limit, what the ERP says it owes, and what it may still order.

The same figures the order check uses (orders.available_credit), shown to the partner before it orders,
so a refusal never comes as a surprise.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func

from domain.access.unit_of_work import UnitOfWork
from domain.commerce.catalog import Product
from domain.commerce.orders import CreditStanding, available_credit


@dataclass(frozen=True)
class CreditPosition:
    """A partner's credit as the ERP last reported it, less its orders the ERP has not invoiced yet."""

    organization_id: uuid.UUID
    limit: Decimal
    owed: Decimal
    uninvoiced: Decimal
    available: Decimal
    currency: str | None
    as_of: datetime


async def credit_position(uow: UnitOfWork) -> CreditPosition | None:
    """The viewer's own organization's credit; None for internal users and when the ERP sets no limit (or has
    not said yet)."""
    actor = uow.actor
    if not actor.is_partner or actor.organization_id is None:
        return None
    standing = await uow.session.get(CreditStanding, (actor.tenant_id, str(actor.organization_id)))
    available = await available_credit(uow, actor.organization_id)
    if standing is None or standing.credit_limit is None or available is None:
        return None
    # The ERP keeps credit in the currency it prices the catalogue in.
    currency = await uow.session.scalar(
        uow.visible_columns(Product, Product.currency)
        .where(Product.active.is_(True))
        .group_by(Product.currency)
        .order_by(func.count().desc(), Product.currency)
        .limit(1)
    )
    uninvoiced = standing.credit_limit - standing.owed - available
    return CreditPosition(
        organization_id=actor.organization_id,
        limit=standing.credit_limit,
        owed=standing.owed,
        uninvoiced=uninvoiced,
        available=available,
        currency=currency,
        as_of=standing.fetched_at,
    )
