"""A tenant's commerce settings: the discount that needs approval, payment terms, the renewal window.

They are internal configuration (the approval threshold is one of the figures partners never see), so only
internal people and machines read them, and only admins change them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from domain.access.actor import Action, Resource
from domain.access.unit_of_work import UnitOfWork
from domain.audit import trail as audit_log
from domain.identity.tenants import Tenant
from domain.shared.errors import ErrorCode, Forbidden, Validator


@dataclass(frozen=True)
class CommerceSettings:
    quote_approval_discount_percent: Decimal
    payment_terms_days: int
    contract_renewal_days: int


def of(tenant: Tenant) -> CommerceSettings:
    return CommerceSettings(
        tenant.quote_approval_discount_percent, tenant.payment_terms_days, tenant.contract_renewal_days
    )


async def read(uow: UnitOfWork) -> CommerceSettings:
    """The tenant's commerce settings; Forbidden to partners."""
    if uow.actor.is_partner:
        raise Forbidden("Commerce settings are internal.")
    tenant = await uow.session.get(Tenant, uow.tenant_id)
    assert tenant is not None
    return of(tenant)


async def change(
    uow: UnitOfWork,
    *,
    quote_approval_discount_percent: Decimal | None,
    payment_terms_days: int | None,
    contract_renewal_days: int | None,
) -> CommerceSettings:
    """Change any of the settings (admins); every bad value is reported at once and nothing changes."""
    if not uow.access.can(Resource.POLICY, Action.UPDATE):
        raise Forbidden("Only admins change tenant settings.")
    v = Validator()
    d = quote_approval_discount_percent
    if d is not None and (not d.is_finite() or not Decimal(0) <= d <= Decimal(100) or d != d.quantize(Decimal("0.01"))):
        v.fail("quoteApprovalDiscountPercent", ErrorCode.OUT_OF_RANGE, "Give a percentage from 0 to 100, two places.")
    if payment_terms_days is not None and not 0 <= payment_terms_days <= 365:
        v.fail("paymentTermsDays", ErrorCode.OUT_OF_RANGE, "paymentTermsDays must be 0 to 365.")
    if contract_renewal_days is not None and not 1 <= contract_renewal_days <= 730:
        v.fail("contractRenewalDays", ErrorCode.OUT_OF_RANGE, "contractRenewalDays must be 1 to 730.")
    v.raise_if_any()
    tenant = await uow.session.get(Tenant, uow.tenant_id, with_for_update=True)
    assert tenant is not None
    values = {
        key: value
        for key, value in (
            ("quote_approval_discount_percent", None if d is None else d.quantize(Decimal("0.01"))),
            ("payment_terms_days", payment_terms_days),
            ("contract_renewal_days", contract_renewal_days),
        )
        if value is not None
    }
    await audit_log.apply_and_record(uow.session, uow.access, tenant, "tenant", values)
    return of(tenant)
