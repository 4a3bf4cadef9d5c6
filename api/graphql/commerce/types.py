"""GraphQL types for products, price lists, quotes, orders, contracts, receivables and ERP sync."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeAlias

import strawberry
from strawberry.types import Info

from api.graphql.channel.directory.types import OrganizationType, UserType
from api.graphql.channel.partner_kinds import PartnerKindType, PartnerTierType, kind_choice, tier_choice
from api.graphql.descriptions import describe_values
from api.graphql.record_versions import EDIT_VERSION_DESCRIPTION, VERSION_DESCRIPTION
from api.graphql.relay import Node, to_global_id
from api.graphql.resolving import ctx, load
from api.graphql.selling.accounts.types import AccountType
from api.graphql.selling.opportunities.types import Money, OpportunityType
from domain.commerce.balances import ReceivableTotals
from domain.commerce.catalog import PriceList, Product
from domain.commerce.contracts import Contract, ContractLine, ContractStatus
from domain.commerce.orders import Order, OrderLine, OrderStatus, is_cancellable
from domain.commerce.quotes import Quote, QuoteLine, QuoteStatus
from domain.commerce.receivables import Installment, Payment
from domain.commerce.settings import CommerceSettings
from domain.erp.outbox import ErpMirror, MessageKind, MessageStatus, OutboxMessage, SyncState
from domain.shared.base import utcnow

QuoteStatusType: TypeAlias = QuoteStatus
strawberry.enum(QuoteStatusType, name="QuoteStatus", description="Where a quote stands.")
describe_values(
    QuoteStatusType,
    {
        "DRAFT": "Being prepared.",
        "PENDING_APPROVAL": "Its discount waits for a manager's approval.",
        "APPROVED": "Approved; may be sent.",
        "REJECTED": "Its discount was refused; revise it to try again.",
        "SENT": "Sent to the customer.",
        "ACCEPTED": "Accepted by the customer.",
        "ORDERED": "Turned into an order.",
        "SUPERSEDED": "Replaced by a newer version.",
    },
)
OrderStatusType: TypeAlias = OrderStatus
strawberry.enum(OrderStatusType, name="OrderStatus", description="Where an order stands.")
describe_values(
    OrderStatusType,
    {
        "SUBMITTED": "Placed; the ERP has not confirmed it yet.",
        "CONFIRMED": "Confirmed by the ERP.",
        "SHIPPED": "Shipped by the ERP.",
        "COMPLETED": "Shipped and paid.",
        "CANCELLED": "Cancelled, with a reason.",
    },
)
ContractStatusType: TypeAlias = ContractStatus
strawberry.enum(ContractStatusType, name="ContractStatus", description="Where a contract stands.")
describe_values(
    ContractStatusType,
    {
        "DRAFT": "Being prepared; not yet submitted.",
        "IN_APPROVAL": "Submitted and waiting for approval.",
        "ACTIVE": "Approved and running.",
        "EXPIRING": "Running and near its end; its renewal opportunity is open.",
        "RENEWED": "Followed by the contract of its renewal.",
        "TERMINATED": "Ended early, with a reason.",
    },
)
SyncStateType: TypeAlias = SyncState
strawberry.enum(SyncStateType, name="SyncState", description="Where a record stands with the ERP.")
describe_values(
    SyncStateType,
    {
        "NOT_SENT": "Nothing to send yet (a draft).",
        "PENDING": "A message waits for delivery (or for a retry).",
        "SYNCED": "The ERP holds the latest version.",
        "FAILED": "Delivery gave up: see the dead outbox message.",
    },
)
MessageStatusType: TypeAlias = MessageStatus
strawberry.enum(MessageStatusType, name="OutboxStatus", description="Where an outbox message stands.")
describe_values(
    MessageStatusType,
    {
        "PENDING": "Waiting for delivery, or for its next attempt.",
        "DELIVERED": "The ERP has it.",
        "DEAD": "Delivery gave up after its attempts; retry it with retryOutboxMessage.",
        "CANCELLED": "Its record was cancelled before delivery: nothing to send.",
    },
)
MessageKindType: TypeAlias = MessageKind
strawberry.enum(MessageKindType, name="OutboxKind", description="What an outbox message carries.")
describe_values(
    MessageKindType,
    {
        "ORDER": "An order.",
        "CONTRACT": "A contract.",
    },
)


@strawberry.type(name="Product", description="A saleable product; the ERP is its master.")
class ProductType(Node):
    row: strawberry.Private[Product]

    @classmethod
    def from_row(cls, row: Product) -> ProductType:
        return cls(id=to_global_id("Product", row.id), row=row)

    @strawberry.field(description="The ERP's product code.")
    def code(self) -> str:
        return self.row.code

    @strawberry.field(description="Name.")
    def name(self) -> str:
        return self.row.name

    @strawberry.field(description="List price per unit (direct customers pay this).")
    def list_price(self) -> Money:
        return Money(amount=self.row.list_price, currency=self.row.currency)

    @strawberry.field(description="The viewer's unit price: list price less the viewer's partner price list.")
    async def your_price(self, info: Info) -> Money:
        pricing = await ctx(info).loaders.viewer_pricing()
        return Money(amount=pricing.unit_price(self.row), currency=self.row.currency)

    @strawberry.field(description="Whether it can be sold now.")
    def active(self) -> bool:
        return self.row.active

    @strawberry.field(description="When the ERP last reported it.")
    def synced_at(self) -> datetime | None:
        return self.row.synced_at


@strawberry.type(name="PriceList", description="What a kind and/or tier of partner pays: a discount off list price.")
class PriceListType(Node):
    id: strawberry.ID = strawberry.field(description="Global ID.")
    row: strawberry.Private[PriceList]

    @classmethod
    def from_row(cls, row: PriceList) -> PriceListType:
        return cls(id=to_global_id("PriceList", row.id), row=row)

    @strawberry.field(description="Name.")
    def name(self) -> str:
        return self.row.name

    @strawberry.field(description="The partner kind it applies to (null: any).")
    def partner_kind(self) -> PartnerKindType | None:
        return kind_choice(self.row.partner_kind)

    @strawberry.field(description="The partner tier it applies to (null: any).")
    def partner_tier(self) -> PartnerTierType | None:
        return tier_choice(self.row.partner_tier)

    @strawberry.field(description="Percent off list price.")
    def discount_percent(self) -> Decimal:
        return self.row.discount_percent


@strawberry.type(description="What the ERP last said of an order or contract.")
class ErpSync:
    state: SyncStateType = strawberry.field(description="Not sent, pending delivery, synced, or failed.")
    erp_id: str | None = strawberry.field(description="The ERP's id for it.")
    erp_number: str | None = strawberry.field(description="The ERP's document number.")
    erp_state: str | None = strawberry.field(description="The ERP's own state name.")
    changed_at: datetime | None = strawberry.field(description="The ERP's change time of the status applied last.")
    error: str | None = strawberry.field(description="The last delivery error, while pending or failed.")

    @staticmethod
    def of(row: ErpMirror) -> ErpSync:
        return ErpSync(
            state=row.sync_state,
            erp_id=row.erp_id,
            erp_number=row.erp_number,
            erp_state=row.erp_state,
            changed_at=row.erp_changed_at,
            error=row.sync_error,
        )


@strawberry.interface(name="LineItem", description="A product line of a quote, order or contract.")
class LineItem:
    row: strawberry.Private[Any]
    currency: strawberry.Private[str]

    @strawberry.field(description="Product code.")
    def product_code(self) -> str:
        return self.row.product_code

    @strawberry.field(description="Description.")
    def description(self) -> str:
        return self.row.description

    @strawberry.field(description="Quantity.")
    def quantity(self) -> Decimal:
        return self.row.quantity


@strawberry.type(name="QuoteLine", description="A priced line of a quote.")
class QuoteLineType(LineItem):
    row: strawberry.Private[QuoteLine]

    @strawberry.field(description="The buyer's unit price before this line's discount.")
    def unit_price(self) -> Money:
        return Money(amount=self.row.unit_price, currency=self.currency)

    @strawberry.field(description="Line discount in percent.")
    def discount_percent(self) -> Decimal:
        return self.row.discount_percent

    @strawberry.field(description="Line total after discount.")
    def net_amount(self) -> Money:
        return Money(amount=self.row.net_amount, currency=self.currency)

    @strawberry.field(description="The product, when still listed.")
    async def product(self, info: Info) -> ProductType | None:
        row = await load(info, "Product", self.row.product_id)
        return ProductType.from_row(row) if row else None


@strawberry.type(name="Quote", description="A versioned, priced offer on an opportunity.")
class QuoteType(Node):
    row: strawberry.Private[Quote]

    @classmethod
    def from_row(cls, row: Quote) -> QuoteType:
        return cls(id=to_global_id("Quote", row.id), row=row)

    @strawberry.field(description="Quote number, shared by all its versions.")
    def number(self) -> str:
        return self.row.number

    @strawberry.field(description="Revision number, from 1: reviseQuote makes the next one.")
    def version(self) -> int:
        return self.row.version

    @strawberry.field(description=EDIT_VERSION_DESCRIPTION)
    def edit_version(self) -> int:
        return self.row.row_version

    @strawberry.field(description="Status.")
    def status(self) -> QuoteStatusType:
        return self.row.status

    @strawberry.field(description="Sum of lines before discounts.")
    def subtotal(self) -> Money:
        return Money(amount=self.row.subtotal, currency=self.row.currency)

    @strawberry.field(description="Sum of line discounts.")
    def discount_total(self) -> Money:
        return Money(amount=self.row.discount_total, currency=self.row.currency)

    @strawberry.field(description="Total after discounts.")
    def total(self) -> Money:
        return Money(amount=self.row.total, currency=self.row.currency)

    @strawberry.field(description="The largest line discount, in percent.")
    def max_discount_percent(self) -> Decimal:
        return self.row.max_discount_percent

    @strawberry.field(description="Valid until (inclusive).")
    def valid_until(self) -> date | None:
        return self.row.valid_until

    @strawberry.field(description="When it was sent.")
    def sent_at(self) -> datetime | None:
        return self.row.sent_at

    @strawberry.field(description="When the customer accepted it.")
    def accepted_at(self) -> datetime | None:
        return self.row.accepted_at

    @strawberry.field(description="Lines, in order.")
    async def lines(self, info: Info) -> list[QuoteLineType]:
        rows = await ctx(info).loaders.quote_lines.load(self.row.id)
        return [QuoteLineType(row=r, currency=self.row.currency) for r in rows]

    @strawberry.field(description="The opportunity.")
    async def opportunity(self, info: Info) -> OpportunityType | None:
        row = await load(info, "Opportunity", self.row.opportunity_id)
        return OpportunityType.from_row(row) if row else None

    @strawberry.field(description="The partner whose price list priced it (null: list prices).")
    async def priced_for(self, info: Info) -> OrganizationType | None:
        row = await load(info, "Organization", self.row.partner_organization_id)
        return OrganizationType.from_row(row) if row else None

    @strawberry.field(description="Who approved (or rejected) its discount.")
    async def approved_by(self, info: Info) -> UserType | None:
        row = await load(info, "User", self.row.approved_by_id)
        return UserType.from_row(row) if row else None


@strawberry.type(name="Installment", description="An amount due on a date.")
class InstallmentType:
    row: strawberry.Private[Installment]

    @strawberry.field(description="1, 2, …")
    def sequence(self) -> int:
        return self.row.sequence

    @strawberry.field(description="Due date.")
    def due_date(self) -> date:
        return self.row.due_date

    @strawberry.field(description="Amount due.")
    def amount(self) -> Money:
        return Money(amount=self.row.amount, currency=self.row.currency)

    @strawberry.field(description="Paid so far, as the ERP reports.")
    def paid(self) -> Money:
        return Money(amount=self.row.paid_amount, currency=self.row.currency)

    @strawberry.field(description="Unpaid and past its due date.")
    def overdue(self) -> bool:
        return self.row.paid_amount < self.row.amount and self.row.due_date < utcnow().date()


@strawberry.type(name="Payment", description="Money the ERP reported received.")
class PaymentType:
    row: strawberry.Private[Payment]

    @strawberry.field(description="Amount received.")
    def amount(self) -> Money:
        return Money(amount=self.row.amount, currency=self.row.currency)

    @strawberry.field(description="When the CRM learnt of it.")
    def received_at(self) -> datetime:
        return self.row.received_at


@strawberry.type(name="OrderLine", description="A line of an order.")
class OrderLineType(LineItem):
    row: strawberry.Private[OrderLine]

    @strawberry.field(description="Net unit price.")
    def unit_price(self) -> Money:
        return Money(amount=self.row.unit_price, currency=self.currency)

    @strawberry.field(description="Line total.")
    def net_amount(self) -> Money:
        return Money(amount=self.row.net_amount, currency=self.currency)


@strawberry.type(name="Order", description="A sales order, made in the CRM and confirmed by the ERP.")
class OrderType(Node):
    row: strawberry.Private[Order]

    @classmethod
    def from_row(cls, row: Order) -> OrderType:
        return cls(id=to_global_id("Order", row.id), row=row)

    @strawberry.field(description="Order number (the ERP's reference for it).")
    def number(self) -> str:
        return self.row.number

    @strawberry.field(description="Status, from the ERP's confirmation, shipment and payment.")
    def status(self) -> OrderStatusType:
        return self.row.status

    @strawberry.field(description="Order total.")
    def total(self) -> Money:
        return Money(amount=self.row.total, currency=self.row.currency)

    @strawberry.field(description="Paid so far, as the ERP reports.")
    def paid(self) -> Money:
        return Money(amount=self.row.paid_amount, currency=self.row.currency)

    @strawberry.field(description="The ERP's invoice state (none, pending, awaiting payment, paid, …).")
    def invoice_state(self) -> str | None:
        return self.row.invoice_state

    @strawberry.field(description="The ERP's shipment state (none, waiting, sent, …).")
    def shipment_state(self) -> str | None:
        return self.row.shipment_state

    @strawberry.field(description="Where it stands with the ERP.")
    def sync(self) -> ErpSync:
        return ErpSync.of(self.row)

    @strawberry.field(
        description="Whether the CRM may still cancel it (cancelOrder): not cancelled, and the ERP has not received "
        "it. Your role decides whether you may."
    )
    def cancellable(self) -> bool:
        return is_cancellable(self.row)

    @strawberry.field(description="When it was placed.")
    def placed_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(description="Lines, in order.")
    async def lines(self, info: Info) -> list[OrderLineType]:
        rows = await ctx(info).loaders.order_lines.load(self.row.id)
        return [OrderLineType(row=r, currency=self.row.currency) for r in rows]

    @strawberry.field(description="The payment plan.")
    async def installments(self, info: Info) -> list[InstallmentType]:
        return [InstallmentType(row=r) for r in await ctx(info).loaders.installments.load(self.row.id)]

    @strawberry.field(description="Payments received.")
    async def payments(self, info: Info) -> list[PaymentType]:
        return [PaymentType(row=r) for r in await ctx(info).loaders.payments.load(self.row.id)]

    @strawberry.field(description="The end customer (null for a partner's stock order, or when not visible).")
    async def account(self, info: Info) -> AccountType | None:
        row = await load(info, "Account", self.row.account_id)
        return AccountType.from_row(row) if row else None

    @strawberry.field(description="The won opportunity it came from, when visible.")
    async def opportunity(self, info: Info) -> OpportunityType | None:
        row = await load(info, "Opportunity", self.row.opportunity_id)
        return OpportunityType.from_row(row) if row else None

    @strawberry.field(description="The accepted quote it came from.")
    async def quote(self, info: Info) -> QuoteType | None:
        row = await load(info, "Quote", self.row.quote_id)
        return QuoteType.from_row(row) if row else None

    @strawberry.field(description="The buying partner (null for direct business).")
    async def partner(self, info: Info) -> OrganizationType | None:
        row = await load(info, "Organization", self.row.partner_organization_id)
        return OrganizationType.from_row(row) if row else None


@strawberry.type(name="ContractLine", description="A product of a contract, priced per month.")
class ContractLineType(LineItem):
    row: strawberry.Private[ContractLine]

    @strawberry.field(description="Price per unit per month.")
    def monthly_price(self) -> Money:
        return Money(amount=self.row.monthly_price, currency=self.currency)


@strawberry.type(name="Contract", description="A term contract with a customer, renewed before it ends.")
class ContractType(Node):
    row: strawberry.Private[Contract]

    @classmethod
    def from_row(cls, row: Contract) -> ContractType:
        return cls(id=to_global_id("Contract", row.id), row=row)

    @strawberry.field(description=VERSION_DESCRIPTION)
    def version(self) -> int:
        return self.row.row_version

    @strawberry.field(description="Contract number (the ERP's reference for it).")
    def number(self) -> str:
        return self.row.number

    @strawberry.field(description="Status.")
    def status(self) -> ContractStatusType:
        return self.row.status

    @strawberry.field(description="First day.")
    def start_date(self) -> date:
        return self.row.start_date

    @strawberry.field(description="Last day.")
    def end_date(self) -> date:
        return self.row.end_date

    @strawberry.field(description="Term in months.")
    def term_months(self) -> int:
        return self.row.term_months

    @strawberry.field(description="Value over the whole term.")
    def value(self) -> Money:
        return Money(amount=self.row.value, currency=self.row.currency)

    @strawberry.field(description="Paid so far, as the ERP reports.")
    def paid(self) -> Money:
        return Money(amount=self.row.paid_amount, currency=self.row.currency)

    @strawberry.field(description="Why it was terminated.")
    def termination_reason(self) -> str | None:
        return self.row.termination_reason

    @strawberry.field(description="Where it stands with the ERP.")
    def sync(self) -> ErpSync:
        return ErpSync.of(self.row)

    @strawberry.field(description="Lines, in order.")
    async def lines(self, info: Info) -> list[ContractLineType]:
        rows = await ctx(info).loaders.contract_lines.load(self.row.id)
        return [ContractLineType(row=r, currency=self.row.currency) for r in rows]

    @strawberry.field(description="The payment plan.")
    async def installments(self, info: Info) -> list[InstallmentType]:
        return [InstallmentType(row=r) for r in await ctx(info).loaders.installments.load(self.row.id)]

    @strawberry.field(description="The customer, when visible.")
    async def account(self, info: Info) -> AccountType | None:
        row = await load(info, "Account", self.row.account_id)
        return AccountType.from_row(row) if row else None

    @strawberry.field(description="The opportunity it came from, when visible.")
    async def opportunity(self, info: Info) -> OpportunityType | None:
        row = await load(info, "Opportunity", self.row.opportunity_id)
        return OpportunityType.from_row(row) if row else None

    @strawberry.field(description="The renewal opportunity, once opened and when visible.")
    async def renewal_opportunity(self, info: Info) -> OpportunityType | None:
        row = await load(info, "Opportunity", self.row.renewal_opportunity_id)
        return OpportunityType.from_row(row) if row else None

    @strawberry.field(
        description="The contract for the next term, made when the renewal opportunity was won; when visible."
    )
    async def renewed_by(self, info: Info) -> ContractType | None:
        row = await load(info, "Contract", self.row.renewed_by_contract_id)
        return ContractType.from_row(row) if row else None


@strawberry.type(name="Receivables", description="Planned, billed, paid, due and overdue, in one currency.")
class ReceivablesType:
    row: strawberry.Private[ReceivableTotals]

    @strawberry.field(description="Everything on the payment plans, invoiced or not.")
    def planned(self) -> Money:
        return Money(amount=self.row.planned, currency=self.row.currency)

    @strawberry.field(
        description="What the ERP has invoiced: orders it reports invoiced (an invoice state past none and pending), "
        "and the months of contracts it holds that have begun; money received always counts."
    )
    def billed(self) -> Money:
        return Money(amount=self.row.billed, currency=self.row.currency)

    @strawberry.field(description="Paid, as the ERP reports.")
    def paid(self) -> Money:
        return Money(amount=self.row.paid, currency=self.row.currency)

    @strawberry.field(description="Not yet paid.")
    def due(self) -> Money:
        return Money(amount=self.row.due, currency=self.row.currency)

    @strawberry.field(description="Not yet paid and past its due date.")
    def overdue(self) -> Money:
        return Money(amount=self.row.overdue, currency=self.row.currency)


@strawberry.type(name="OutboxMessage", description="A change the ERP must receive, and how its delivery went.")
class OutboxMessageType(Node):
    id: strawberry.ID = strawberry.field(description="Global ID (retry takes it).")
    row: strawberry.Private[OutboxMessage]

    @classmethod
    def from_row(cls, row: OutboxMessage) -> OutboxMessageType:
        return cls(id=to_global_id("OutboxMessage", row.id), row=row)

    @strawberry.field(description="Order or contract.")
    def kind(self) -> MessageKindType:
        return self.row.kind

    @strawberry.field(description="The record's number, which is also the idempotency key.")
    def reference(self) -> str:
        return self.row.idempotency_key

    @strawberry.field(description="Pending, delivered or dead.")
    def status(self) -> MessageStatusType:
        return self.row.status

    @strawberry.field(description="Attempts made.")
    def attempts(self) -> int:
        return self.row.attempts

    @strawberry.field(
        description="The attempt bound of earlier versions; it no longer parks a message (see retryUntil).",
        deprecation_reason="Retries are bounded by time: use retryUntil.",
    )
    def max_attempts(self) -> int:
        return self.row.max_attempts

    @strawberry.field(description="When the next attempt is due (pending).")
    def next_attempt_at(self) -> datetime:
        return self.row.next_attempt_at

    @strawberry.field(
        description="When a message that keeps failing is parked as dead: the retry budget (24 hours unless "
        "configured) counted from its first failure in a row. Null until it fails, and again once delivered or retried."
    )
    def retry_until(self) -> datetime | None:
        return self.row.retry_until

    @strawberry.field(description="The last error.")
    def last_error(self) -> str | None:
        return self.row.last_error

    @strawberry.field(description="When it was delivered.")
    def delivered_at(self) -> datetime | None:
        return self.row.delivered_at

    @strawberry.field(description="When it was queued.")
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(description="The order it carries, when it is an order's and the viewer may see it.")
    async def order(self, info: Info) -> OrderType | None:
        if self.row.kind is not MessageKind.ORDER:
            return None
        row = await load(info, "Order", self.row.record_id)
        return OrderType.from_row(row) if row else None

    @strawberry.field(description="The contract it carries, when it is a contract's and the viewer may see it.")
    async def contract(self, info: Info) -> ContractType | None:
        if self.row.kind is not MessageKind.CONTRACT:
            return None
        row = await load(info, "Contract", self.row.record_id)
        return ContractType.from_row(row) if row else None


@strawberry.type(name="ErpStatus", description="How the tenant's ERP link is doing (never its credentials).")
class ErpStatusType:
    adapter: str | None = strawberry.field(description="tryton or webhook; null when no ERP is connected.")
    url: str | None = strawberry.field(description="The ERP's base URL.")
    last_polled_at: datetime | None = strawberry.field(description="When the worker last asked it for changes.")
    last_poll_error: str | None = strawberry.field(description="Why the last poll failed, if it did.")
    products_synced_at: datetime | None = strawberry.field(description="When the catalogue was last pulled.")
    pending: int = strawberry.field(description="Outbox messages waiting for delivery.")
    dead: int = strawberry.field(description="Outbox messages parked as dead.")
    oldest_pending_at: datetime | None = strawberry.field(description="When the oldest waiting message was queued.")


@strawberry.type(name="CommerceSettings", description="A tenant's commerce settings.")
class CommerceSettingsType:
    quote_approval_discount_percent: Decimal = strawberry.field(
        description="A quote line discount above this percentage needs approval."
    )
    payment_terms_days: int = strawberry.field(description="Days from an order to its payment being due.")
    contract_renewal_days: int = strawberry.field(description="Days before a contract's end its renewal is opened.")


def settings_type(row: CommerceSettings) -> CommerceSettingsType:
    return CommerceSettingsType(
        quote_approval_discount_percent=row.quote_approval_discount_percent,
        payment_terms_days=row.payment_terms_days,
        contract_renewal_days=row.contract_renewal_days,
    )
