"""Quote and order lines as several commerce mutations take them."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from api.graphql.relay import id_of
from domain.commerce.quotes import LineInput


@strawberry.input(description="A product and quantity; internal quotes may give a discount.")
class LineItemInput:
    product_id: strawberry.ID = strawberry.field(description="The product.")
    quantity: Decimal = strawberry.field(description="Quantity, above 0, two decimal places at most.")
    discount_percent: Decimal = strawberry.field(default=Decimal("0"), description="Line discount, 0 to 100.")


def line_inputs(items: list[LineItemInput] | None) -> list[LineInput] | None:
    if items is None:
        return None
    return [
        LineInput(id_of(x.product_id, "Product", f"lines[{i}].productId"), x.quantity, x.discount_percent)
        for i, x in enumerate(items)
    ]
