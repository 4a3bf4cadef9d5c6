"""TrytonErp against a real Tryton 8.2 server: one server for the file, a fresh database per test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal

import pytest

from integrations.erp.port import (
    ErpContract,
    ErpLine,
    ErpOrder,
    ErpParty,
    ErpRejected,
    ErpUnavailable,
    RecordKind,
)
from integrations.erp.tryton import TrytonErp
from tests.tryton import backoffice
from tests.tryton.harness import TrytonServer, session_server

pytestmark = pytest.mark.erp

ACME = ErpParty(
    reference="ACC-1001",
    name="Acme Networks GmbH",
    tax_id="DE136695976",
    country_code="DE",
    street="Hauptstrasse 1",
    city="Berlin",
    postal_code="10115",
)


def order(reference: str, party: ErpParty = ACME, *lines: ErpLine) -> ErpOrder:
    return ErpOrder(
        reference=reference,
        party=party,
        currency="USD",
        lines=lines
        or (
            ErpLine("HW-100", "Edge router", Decimal("2"), Decimal("240.00")),
            ErpLine("SVC-200", "Installation", Decimal("1"), Decimal("49.90")),
        ),
        sale_date=date.today(),
    )


@pytest.fixture(scope="module")
def tryton() -> TrytonServer:
    return session_server()


@pytest.fixture
def db(tryton: TrytonServer) -> str:
    return tryton.new_database(f"t_{uuid.uuid4().hex[:10]}")


@pytest.fixture
async def erp(tryton: TrytonServer, db: str) -> AsyncIterator[TrytonErp]:
    client = TrytonErp(tryton.url, db, tryton.login, tryton.password, timeout=10)
    yield client
    await client.close()


async def test_party_is_created_once_and_found_by_tax_id(erp: TrytonErp) -> None:
    first = await erp.ensure_party(ACME)
    assert await erp.ensure_party(ACME) == first
    # Another CRM account with the same VAT number (spelled differently) is the same ERP party.
    same_company = ErpParty(reference="ACC-2002", name="Acme (Munich office)", tax_id="DE 136 695 976")
    assert await erp.ensure_party(same_company) == first
    other = await erp.ensure_party(ErpParty(reference="ACC-3003", name="Beta Ltd", tax_id="not-a-vat-number"))
    assert other != first


async def test_order_pushed_twice_is_one_confirmed_sale(tryton: TrytonServer, db: str, erp: TrytonErp) -> None:
    first = await erp.push_order(order("SO-1"))
    again = await erp.push_order(order("SO-1"))
    assert backoffice.sale_count(tryton, db, "SO-1") == 1
    assert again.erp_id == first.erp_id
    assert first.kind == RecordKind.ORDER and first.reference == "SO-1"
    assert first.state == "processing"
    assert first.total_amount == Decimal("529.90") and first.currency == "USD"
    assert first.invoice_state == "pending" and first.shipment_state == "waiting"
    assert first.paid_amount == Decimal(0)
    assert first.number


async def test_changes_since_sees_shipping_and_payment(tryton: TrytonServer, db: str, erp: TrytonErp) -> None:
    everything = await erp.changes_since(None)
    assert everything.statuses == [] and everything.cursor is None

    pushed = await erp.push_order(order("SO-7"))
    created = await erp.changes_since(None)
    assert [s.reference for s in created.statuses] == ["SO-7"]
    assert created.cursor is not None

    unchanged = await erp.changes_since(created.cursor)  # ">=": the last change comes back, same cursor
    assert unchanged.cursor == created.cursor

    backoffice.ship_sale(tryton, db, "SO-7")
    backoffice.pay_sale(tryton, db, "SO-7")
    changes = await erp.changes_since(created.cursor)
    (status,) = [s for s in changes.statuses if s.reference == "SO-7"]
    assert status.erp_id == pushed.erp_id
    assert (status.state, status.invoice_state, status.shipment_state) == ("done", "paid", "sent")
    assert status.paid_amount == status.total_amount == Decimal("529.90")
    assert status.changed_at > pushed.changed_at
    assert changes.cursor > created.cursor
    assert [s.changed_at for s in changes.statuses] == sorted(s.changed_at for s in changes.statuses)

    reconciled = await erp.statuses(RecordKind.ORDER, ["SO-7", "SO-unknown"])
    assert set(reconciled) == {"SO-7"} and reconciled["SO-7"].invoice_state == "paid"
    assert await erp.all_references(RecordKind.ORDER) == ["SO-7"]


async def test_contract_is_running(erp: TrytonErp) -> None:
    contract = ErpContract(
        reference="CT-1",
        party=ACME,
        currency="USD",
        lines=(ErpLine("SVC-200", "Managed network, 3 sites", Decimal("3"), Decimal("45.00")),),
        start_date=date.today(),
        end_date=date.today() + timedelta(days=365),
    )
    status = await erp.push_contract(contract)
    again = await erp.push_contract(contract)
    assert (status.kind, status.reference, status.state) == (RecordKind.CONTRACT, "CT-1", "running")
    assert again.erp_id == status.erp_id
    assert status.total_amount == Decimal("135.00") and status.currency == "USD"
    assert await erp.all_references(RecordKind.CONTRACT) == ["CT-1"]
    assert (await erp.statuses(RecordKind.CONTRACT, ["CT-1"]))["CT-1"].state == "running"
    changes = await erp.changes_since(None)
    assert [(s.kind, s.reference) for s in changes.statuses] == [(RecordKind.CONTRACT, "CT-1")]


async def test_products_and_prices(tryton: TrytonServer, db: str, erp: TrytonErp) -> None:
    products = {p.code: p for p in await erp.products()}
    assert {"HW-100", "HW-101", "SVC-200"} <= set(products)
    assert products["HW-100"].list_price == Decimal("250.00") and products["HW-100"].currency == "USD"
    assert products["SVC-200"].list_price == Decimal("49.90") and products["SVC-200"].erp_id
    backoffice.set_list_price(tryton, db, "HW-100", Decimal("262.50"))
    assert {p.code: p.list_price for p in await erp.products()}["HW-100"] == Decimal("262.50")


async def test_credit_limit_reads_back_office(tryton: TrytonServer, db: str, erp: TrytonErp) -> None:
    await erp.ensure_party(ACME)
    assert await erp.credit_limit(ACME.reference) == (None, Decimal(0))
    backoffice.set_credit_limit(tryton, db, ACME.reference, Decimal("5000"))
    await erp.push_order(order("SO-9"))
    assert await erp.credit_limit(ACME.reference) == (Decimal("5000"), Decimal(0))  # nothing invoiced yet
    backoffice.post_invoices(tryton, db, "SO-9")
    assert await erp.credit_limit(ACME.reference) == (Decimal("5000"), Decimal("529.90"))
    backoffice.pay_sale(tryton, db, "SO-9")
    assert await erp.credit_limit(ACME.reference) == (Decimal("5000"), Decimal(0))
    assert await erp.credit_limit("ACC-unknown") == (None, Decimal(0))


async def test_bad_data_is_rejected(erp: TrytonErp) -> None:
    with pytest.raises(ErpRejected, match="NOPE-1"):
        await erp.push_order(order("SO-bad", ACME, ErpLine("NOPE-1", "Unknown", Decimal(1), Decimal(1))))
    # Tryton's own validation (a contract ending before it starts) comes back as its message.
    backwards = ErpContract(
        reference="CT-bad",
        party=ACME,
        currency="USD",
        lines=(ErpLine("SVC-200", "Managed network", Decimal(1), Decimal("45.00")),),
        start_date=date.today(),
        end_date=date.today() - timedelta(days=30),
    )
    with pytest.raises(ErpRejected) as rejected:
        await erp.push_contract(backwards)
    assert not rejected.value.transient and "End Date" in str(rejected.value)


async def test_server_down_is_unavailable_then_recovers(tryton: TrytonServer, erp: TrytonErp) -> None:
    assert await erp.ensure_party(ACME)
    tryton.stop()
    try:
        with pytest.raises(ErpUnavailable) as down:
            await erp.products()
        assert down.value.transient
        with pytest.raises(ErpUnavailable):
            await erp.push_order(order("SO-down"))
    finally:
        tryton.start()
    status = await erp.push_order(order("SO-down"))
    assert status.state == "processing"
