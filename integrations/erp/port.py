"""The ERP port: the one small interface every ERP adapter implements.

The CRM speaks of its own references (an order's or contract's number, an account's id); an
adapter looks records up by those references before creating anything, so delivering the
same message twice leaves one record in the ERP. Errors say whether trying again can help.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol


class ErpError(Exception):
    """The ERP refused or could not be reached."""

    transient = False


class ErpUnavailable(ErpError):
    """The ERP could not be reached or failed on its side: trying again later may work."""

    transient = True


class ErpRejected(ErpError):
    """The ERP refused the data: trying again unchanged will fail the same way."""


class ErpNotConnected(ErpError):
    """The tenant has no ERP connection configured: nothing can be asked of an ERP."""


@dataclass(frozen=True)
class ErpParty:
    """A customer (or partner) as the ERP knows it; `reference` is the CRM's account id."""

    reference: str
    name: str
    tax_id: str | None = None
    country_code: str | None = None
    street: str | None = None
    city: str | None = None
    postal_code: str | None = None


@dataclass(frozen=True)
class ErpLine:
    product_code: str
    description: str
    quantity: Decimal
    unit_price: Decimal


@dataclass(frozen=True)
class ErpOrder:
    """A sales order to be confirmed in the ERP; `reference` is the CRM's order number."""

    reference: str
    party: ErpParty
    currency: str
    lines: tuple[ErpLine, ...]
    sale_date: date


@dataclass(frozen=True)
class ErpContract:
    """A recurring contract; `reference` is the CRM's contract number."""

    reference: str
    party: ErpParty
    currency: str
    lines: tuple[ErpLine, ...]
    start_date: date
    end_date: date


class RecordKind(StrEnum):
    ORDER = "order"
    CONTRACT = "contract"


@dataclass(frozen=True)
class ErpStatus:
    """What the ERP says of one order or contract, as of `changed_at` (the ERP's write time).

    Amounts are before tax, as the CRM's are (the ERP adds tax when it invoices): `total_amount` is the
    untaxed total (a contract's per month) and `paid_amount` the share of it paid so far."""

    kind: RecordKind
    reference: str
    erp_id: str
    state: str  # orders: draft, quotation, confirmed, processing, done, cancelled; contracts: … running, closed
    changed_at: datetime
    total_amount: Decimal | None = None
    currency: str | None = None
    invoice_state: str | None = None  # none, pending, awaiting payment, partially paid, paid, exception
    shipment_state: str | None = None  # none, waiting, partially shipped, sent, exception
    paid_amount: Decimal | None = None
    number: str | None = None


@dataclass(frozen=True)
class ErpProduct:
    code: str
    name: str
    list_price: Decimal
    currency: str
    active: bool = True
    erp_id: str | None = None


@dataclass(frozen=True)
class ErpOrderDetails:
    """An order as the ERP holds it: enough to restore it in the CRM (reconcile --repair)."""

    reference: str
    party_reference: str | None  # the party's code: the CRM id of the buying account or partner
    currency: str
    sale_date: date | None
    lines: tuple[ErpLine, ...]
    status: ErpStatus


@dataclass(frozen=True)
class ErpChanges:
    """Statuses changed since a cursor, and the cursor to ask from next time."""

    statuses: list[ErpStatus] = field(default_factory=list)
    cursor: str | None = None


class ErpPort(Protocol):
    """What the CRM needs of an ERP. Every call may raise ErpUnavailable or ErpRejected."""

    async def ensure_party(self, party: ErpParty) -> str:
        """The ERP id of the party, created once: found by reference, then by tax id, else created."""
        ...

    async def push_order(self, order: ErpOrder) -> ErpStatus:
        """Create (unless one with this reference exists) and confirm the sale; its status after."""
        ...

    async def push_contract(self, contract: ErpContract) -> ErpStatus:
        """Create (unless one with this reference exists) and start the contract; its status after."""
        ...

    async def changes_since(self, cursor: str | None) -> ErpChanges:
        """Statuses of CRM-made orders and contracts changed at or after the cursor (all when None)."""
        ...

    async def statuses(self, kind: RecordKind, references: list[str]) -> dict[str, ErpStatus]:
        """The current status of each reference the ERP knows (for reconciliation), keyed by reference."""
        ...

    async def all_references(self, kind: RecordKind) -> list[str]:
        """Every CRM reference the ERP holds for this kind (for finding records missing in the CRM)."""
        ...

    async def order_details(self, reference: str) -> ErpOrderDetails | None:
        """The order with this CRM reference, its party and lines; None when the ERP has none."""
        ...

    async def products(self) -> list[ErpProduct]:
        """The ERP's saleable products with their list prices."""
        ...

    async def credit_limit(self, party_reference: str) -> tuple[Decimal | None, Decimal]:
        """(credit limit or None when unlimited, amount the party owes now) for a party by reference."""
        ...

    async def close(self) -> None: ...
