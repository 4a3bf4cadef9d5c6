"""`syncProducts`: pull the ERP's products and list prices now."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.errors import UserError
from api.graphql.mutation import mutate
from api.graphql.resolving import ctx
from services import erp as erp_services


@strawberry.type(description="The result of pulling the ERP's products.")
class ProductSyncPayload:
    changed: int | None = strawberry.field(description="How many products were added, changed or retired.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


@strawberry.mutation(description="Pull the ERP's products and list prices now.")
async def sync_products(info: Info) -> ProductSyncPayload:
    return await mutate(
        info,
        lambda uow: erp_services.pull_products(uow, ctx(info).sessions),
        payload=lambda changed: ProductSyncPayload(changed=changed, errors=[]),
        failed=lambda errors: ProductSyncPayload(changed=None, errors=errors),
    )
