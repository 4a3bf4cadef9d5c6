"""`setCommerceSettings`: change the tenant's commerce settings (admins)."""

from __future__ import annotations

from decimal import Decimal

import strawberry
from strawberry.types import Info

from api.graphql.commerce.types import CommerceSettingsType, settings_type
from api.graphql.errors import UserError
from api.graphql.mutation import mutate
from domain.commerce import settings as commerce_settings


@strawberry.input(description="Commerce settings to change; null leaves one as it is.")
class CommerceSettingsInput:
    quote_approval_discount_percent: Decimal | None = strawberry.field(default=None, description="0 to 100.")
    payment_terms_days: int | None = strawberry.field(default=None, description="0 to 365.")
    contract_renewal_days: int | None = strawberry.field(default=None, description="1 to 730.")


@strawberry.type(description="The result of changing commerce settings.")
class CommerceSettingsPayload:
    settings: CommerceSettingsType | None = strawberry.field(description="The settings now; null when errors.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


@strawberry.mutation(description="Change the tenant's commerce settings (admins).")
async def set_commerce_settings(info: Info, input: CommerceSettingsInput) -> CommerceSettingsPayload:
    return await mutate(
        info,
        lambda uow: commerce_settings.change(
            uow,
            quote_approval_discount_percent=input.quote_approval_discount_percent,
            payment_terms_days=input.payment_terms_days,
            contract_renewal_days=input.contract_renewal_days,
        ),
        payload=lambda row: CommerceSettingsPayload(settings=settings_type(row), errors=[]),
        failed=lambda errors: CommerceSettingsPayload(settings=None, errors=errors),
    )
