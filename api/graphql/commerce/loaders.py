"""Commerce's loaders: the lines and receivables of quotes, orders and contracts, and the viewer's prices."""

from __future__ import annotations

from api.graphql.loaders import LoaderSet, all_children
from domain.commerce.catalog import PriceList, Pricing, Product, viewer_pricing
from domain.commerce.contracts import Contract, ContractLine
from domain.commerce.orders import Order, OrderLine
from domain.commerce.quotes import Quote, QuoteLine
from domain.commerce.receivables import Installment, Payment
from domain.erp.outbox import OutboxMessage

# Node types of commerce, each read by its own resource's rule.
NODES: dict[str, type] = {"Product": Product, "Quote": Quote, "Order": Order, "Contract": Contract}
# Node types of commerce read by the rule of what they belong to (price lists; the ERP link's outbox).
DEPENDENT_NODES: dict[str, type] = {"PriceList": PriceList, "OutboxMessage": OutboxMessage}


class CommerceLoaders(LoaderSet):
    """Commerce's loaders of one request."""

    # Lines and receivables of a record the resolver has already shown visible.
    quote_lines = all_children(QuoteLine, QuoteLine.quote_id, order=QuoteLine.position, parent_visible=True)
    order_lines = all_children(OrderLine, OrderLine.order_id, order=OrderLine.position, parent_visible=True)
    contract_lines = all_children(
        ContractLine, ContractLine.contract_id, order=ContractLine.position, parent_visible=True
    )
    installments = all_children(Installment, Installment.record_id, order=Installment.sequence, parent_visible=True)
    payments = all_children(Payment, Payment.record_id, order=Payment.received_at, parent_visible=True)

    _pricing: Pricing | None = None

    async def viewer_pricing(self) -> Pricing:
        """The viewer's prices (their partner price list, or list price), read once per request."""
        if self._pricing is None:
            async with self.reading() as uow:
                self._pricing = await viewer_pricing(uow)
        return self._pricing
