"""Lead to cash against a real Tryton 8.2 server, driven through the CRM's API, its worker and Tryton's own API.

One Tryton server per test session (tests/tryton/harness.py installs it from PyPI in its own
environment and initialises a template once); every test gets a fresh copy of the ERP database.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date
from decimal import Decimal

import pytest
from click.testing import CliRunner
from sqlalchemy import delete

from api.cli import main as cli
from domain.access.unit_of_work import UnitOfWork, system_unit_of_work
from domain.channel.organizations import OrganizationKind
from domain.commerce.catalog import PriceList
from domain.commerce.orders import Order
from domain.commerce.receivables import Installment
from domain.erp.outbox import ErpAdapterKind, MessageStatus, OutboxMessage
from integrations.erp import worker
from integrations.erp.reconcile import reconcile
from integrations.erp.sync import RetryPolicy, deliver, poll
from tests.integration.commerce.test_commerce import PLACE
from tests.integration.commerce_setup import ORDER_FIELDS, connect_erp, quote_to_order, win
from tests.integration.graphql_client import gid
from tests.tryton import backoffice
from tests.tryton.harness import TrytonServer, session_server

pytestmark = pytest.mark.erp
FAST = RetryPolicy(base_seconds=0.05, cap_seconds=0.2)


def _as_the_worker(session, tenant_id) -> UnitOfWork:  # type: ignore[no-untyped-def]
    """The test reads what the worker wrote as the worker does: through a system unit of work over the tenant."""
    return system_unit_of_work(session, tenant_id, "erp test")


@pytest.fixture(scope="module")
def tryton() -> TrytonServer:
    return session_server()


@pytest.fixture
async def erp_db(tryton, world, sessions) -> str:  # type: ignore[no-untyped-def]
    """A fresh Tryton database connected to the world's tenant, and the ERP's products pulled through the API."""
    name = tryton.new_database(f"crm_{uuid.uuid4().hex[:10]}")
    settings = {"url": tryton.url, "database": name, "login": tryton.login, "password": tryton.password}
    await connect_erp(sessions, world.tenant_id, ErpAdapterKind.TRYTON, settings)
    async with sessions() as session, session.begin():
        session.add(PriceList(tenant_id=world.tenant_id, id=uuid.uuid4(), name="Distributors",
                              partner_kind=OrganizationKind.DISTRIBUTOR, discount_percent=Decimal("30")))  # fmt: skip
    return name


async def _products(as_) -> dict[str, str]:  # type: ignore[no-untyped-def]
    admin = await as_("admin")
    synced = await admin.data("mutation { syncProducts { changed errors { message } } }")
    assert synced["syncProducts"]["changed"] >= 3, synced
    listed = await admin.data("{ products { edges { node { id code listPrice { amount currency } } } } }")
    return {e["node"]["code"]: e["node"]["id"] for e in listed["products"]["edges"]}


def _line(products: dict[str, str], code: str, quantity: str) -> dict[str, str]:
    return {"productId": products[code], "quantity": quantity}


async def test_won_deal_to_shipped_paid_order_and_active_contract(as_, world, sessions, database_url, tryton, erp_db):  # type: ignore[no-untyped-def]
    products = await _products(as_)
    am = await as_("am_east")
    o1 = world.opportunities["O1"]
    await win(sessions, world.tenant_id, o1.id)
    order = await quote_to_order(
        am, gid("Opportunity", o1.id), [_line(products, "HW-100", "2"), _line(products, "SVC-200", "1")]
    )
    assert order["total"]["amount"] == "549.90"  # Tryton's list prices: 2 × 250.00 + 49.90
    contract = (await am.data(
        "mutation($i: CreateContractInput!) { createContract(input: $i) { contract { id number } errors { message } } }",
        i={"opportunityId": gid("Opportunity", o1.id), "startDate": date.today().isoformat(), "termMonths": 12,
           "productIds": [products["SVC-200"]]},
    ))["createContract"]["contract"]  # fmt: skip
    await am.data("mutation($id: ID!) { submitContract(id: $id) { contract { status } } }", id=contract["id"])
    await (await as_("manager_east")).data(
        "mutation($id: ID!) { approveContract(id: $id) { contract { status } } }", id=contract["id"]
    )

    await worker.drain(database_url, sessions, policy=FAST)  # the worker delivers both to Tryton
    assert backoffice.sale_count(tryton, erp_db, order["number"]) == 1
    confirmed = await am.data(
        f"query($id: ID!) {{ node(id: $id) {{ ... on Order {{ {ORDER_FIELDS} }} }} }}", id=order["id"]
    )
    assert confirmed["node"]["status"] == "CONFIRMED"
    assert confirmed["node"]["sync"]["state"] == "SYNCED" and confirmed["node"]["sync"]["erpState"] == "processing"

    backoffice.ship_sale(tryton, erp_db, order["number"])  # ERP staff, through Tryton's own API
    backoffice.pay_sale(tryton, erp_db, order["number"])
    result = await poll(sessions, world.tenant_id)
    assert result.applied >= 1

    done = await am.data(
        f"query($o: ID!, $c: ID!) {{ order: node(id: $o) {{ ... on Order {{ {ORDER_FIELDS} }} }} "
        "contract: node(id: $c) { ... on Contract { status sync { state erpState } syncError: sync { error } } } "
        "receivables(orderId: $o) { due { amount } paid { amount } } }",
        o=order["id"],
        c=contract["id"],
    )
    assert done["order"]["status"] == "COMPLETED"
    assert (done["order"]["shipmentState"], done["order"]["invoiceState"]) == ("sent", "paid")
    assert done["order"]["paid"]["amount"] == done["order"]["total"]["amount"]
    assert done["receivables"][0]["due"]["amount"] == "0.00"
    assert done["contract"]["status"] == "ACTIVE"
    assert done["contract"]["sync"] == {"state": "SYNCED", "erpState": "running"}, done["contract"]["syncError"]

    # Terminated in the CRM: Tryton's subscription is set to end today (back to draft, new end, run again).
    await am.data(
        'mutation($id: ID!) { terminateContract(id: $id, reason: "Site closed") { contract { status } } }',
        id=contract["id"],
    )
    await worker.drain(database_url, sessions, policy=FAST)
    assert backoffice.subscription(tryton, erp_db, contract["number"]) == {
        "count": 1, "state": "running", "end_date": date.today().isoformat(),
    }  # fmt: skip

    runner = CliRunner()
    report = await asyncio.to_thread(
        runner.invoke,
        __import__("api.cli", fromlist=["main"]).main,
        ["erp", "reconcile", "--tenant", world.slug, "--json"],
        env={"DATABASE_URL": database_url},
    )
    assert report.exit_code == 0, report.output
    assert json.loads(report.output[report.output.index("{") :])["drift"] == []


async def test_tryton_stopped_mid_run_loses_and_duplicates_nothing(as_, world, sessions, database_url, tryton, erp_db):  # type: ignore[no-untyped-def]
    products = await _products(as_)
    d2 = await as_("d2_admin")
    numbers = []
    for _ in range(3):
        placed = await d2.data(PLACE, i={"lines": [_line(products, "HW-101", "1")]})
        assert not placed["placePartnerOrder"]["errors"], placed
        numbers.append(placed["placePartnerOrder"]["order"]["number"])
    async with sessions() as session:
        messages = list(
            (await session.execute(_as_the_worker(session, world.tenant_id).visible(OutboxMessage))).scalars()
        )
    await deliver(sessions, world.tenant_id, messages[0].id, policy=FAST)  # one gets through
    tryton.stop()
    try:
        for message in messages[1:]:
            assert await deliver(sessions, world.tenant_id, message.id, policy=FAST) is MessageStatus.PENDING
        failing = await (await as_("finance")).data("{ orders { edges { node { number sync { state error } } } } }")
        states = {e["node"]["number"]: e["node"]["sync"] for e in failing["orders"]["edges"]}
        waiting = [m.idempotency_key for m in messages[1:]]  # the messages come back in no set order
        assert sorted(waiting) == sorted(set(numbers) - {messages[0].idempotency_key})
        assert all(states[n]["state"] == "PENDING" and states[n]["error"] for n in waiting)
        assert states[messages[0].idempotency_key]["state"] == "SYNCED"
    finally:
        tryton.start(wake=[erp_db])
    await asyncio.sleep(0.3)
    await worker.drain(database_url, sessions, policy=FAST)
    assert [backoffice.sale_count(tryton, erp_db, n) for n in numbers] == [1, 1, 1]
    async with sessions() as session:
        door = _as_the_worker(session, world.tenant_id)
        statuses = set((await session.execute(door.visible_columns(OutboxMessage, OutboxMessage.status))).scalars())
    assert statuses == {MessageStatus.DELIVERED}


async def test_duplicate_delivery_and_two_workers_make_one_sale_each(
    as_, world, sessions, database_url, tryton, erp_db
):  # type: ignore[no-untyped-def]
    products = await _products(as_)
    d2 = await as_("d2_admin")
    numbers = []
    for _ in range(4):
        placed = await d2.data(PLACE, i={"lines": [_line(products, "HW-100", "1")]})
        numbers.append(placed["placePartnerOrder"]["order"]["number"])
    await asyncio.gather(
        worker.drain(database_url, sessions, policy=FAST), worker.drain(database_url, sessions, policy=FAST)
    )
    # The same message once more, as after a crash between the ERP call and our commit.
    async with sessions() as session, session.begin():
        door = _as_the_worker(session, world.tenant_id)
        message = (
            await session.execute(door.visible(OutboxMessage).where(OutboxMessage.idempotency_key == numbers[0]))
        ).scalar_one()
        message.status = MessageStatus.PENDING
    assert await deliver(sessions, world.tenant_id, message.id, policy=FAST) is MessageStatus.DELIVERED
    assert [backoffice.sale_count(tryton, erp_db, n) for n in numbers] == [1, 1, 1, 1]
    seen = await d2.data("{ orders { edges { node { total { amount } sync { state } } } } }")
    assert {e["node"]["sync"]["state"] for e in seen["orders"]["edges"]} == {"SYNCED"}
    assert {e["node"]["total"]["amount"] for e in seen["orders"]["edges"]} == {"175.00"}  # 250 less 30 %


async def test_partner_credit_limit_comes_from_tryton(as_, world, sessions, database_url, tryton, erp_db):  # type: ignore[no-untyped-def]
    products = await _products(as_)
    d2 = await as_("d2_admin")
    first = await d2.data(PLACE, i={"lines": [_line(products, "HW-100", "1")]})
    assert not first["placePartnerOrder"]["errors"]
    await worker.drain(database_url, sessions, policy=FAST)  # the partner is now a party in Tryton
    backoffice.set_credit_limit(tryton, erp_db, str(world.orgs["D2"].id), Decimal("300"))
    refused = await d2.data(PLACE, i={"lines": [_line(products, "HW-100", "1")]})
    assert refused["placePartnerOrder"]["errors"][0]["field"] == "lines"  # 175 open + 175 > 300
    backoffice.set_credit_limit(tryton, erp_db, str(world.orgs["D2"].id), Decimal("1000"))
    accepted = await d2.data(PLACE, i={"lines": [_line(products, "HW-100", "1")]})
    assert not accepted["placePartnerOrder"]["errors"], accepted


async def test_reconcile_restores_an_order_the_crm_lost(as_, world, sessions, database_url, tryton, erp_db):  # type: ignore[no-untyped-def]
    products = await _products(as_)
    d2 = await as_("d2_admin")
    placed = await d2.data(PLACE, i={"lines": [_line(products, "HW-100", "2"), _line(products, "SVC-200", "1")]})
    order = placed["placePartnerOrder"]["order"]
    await worker.drain(database_url, sessions, policy=FAST)
    async with sessions() as session, session.begin():  # as if the CRM were restored from an older backup
        await session.execute(delete(Installment).where(Installment.tenant_id == world.tenant_id))
        await session.execute(delete(Order).where(Order.tenant_id == world.tenant_id))
    runner = CliRunner()
    report = await asyncio.to_thread(
        runner.invoke, cli, ["erp", "reconcile", "--tenant", world.slug], env={"DATABASE_URL": database_url}
    )
    assert report.exit_code == 3 and "missing_in_crm" in report.output and order["number"] in report.output
    repaired = await asyncio.to_thread(
        runner.invoke, cli, ["erp", "reconcile", "--tenant", world.slug, "--repair"], env={"DATABASE_URL": database_url}
    )
    assert repaired.exit_code == 0 and "(repaired)" in repaired.output, repaired.output
    seen = await d2.data(
        "{ orders { edges { node { number status total { amount } sync { state erpState } lines { productCode quantity } } } } }"
    )
    [restored] = [e["node"] for e in seen["orders"]["edges"]]
    assert restored["number"] == order["number"] and restored["total"]["amount"] == order["total"]["amount"]
    assert restored["sync"] == {"state": "SYNCED", "erpState": "processing"}
    assert sorted((x["productCode"], x["quantity"]) for x in restored["lines"]) == [
        ("HW-100", "2.00"),
        ("SVC-200", "1.00"),
    ]


async def test_a_taxed_order_is_paid_in_full_before_tax(as_, world, sessions, database_url, tryton, erp_db):  # type: ignore[no-untyped-def]
    products = await _products(as_)
    d2 = await as_("d2_admin")
    placed = await d2.data(PLACE, i={"lines": [_line(products, "HW-101", "2")]})
    order = placed["placePartnerOrder"]["order"]
    assert order["total"]["amount"] == "168.00"  # 2 × 120.00 less 30 %; Tryton invoices 184.80 with its 10 % tax
    await worker.drain(database_url, sessions, policy=FAST)
    backoffice.ship_sale(tryton, erp_db, order["number"])
    backoffice.pay_sale(tryton, erp_db, order["number"])
    await poll(sessions, world.tenant_id)
    seen = await d2.data(
        "query($id: ID!) { node(id: $id) { ... on Order { status paid { amount } } } receivables { due { amount } } }",
        id=order["id"],
    )
    assert seen["node"] == {"status": "COMPLETED", "paid": {"amount": "168.00"}}
    assert seen["receivables"][0]["due"]["amount"] == "0.00"
    assert (await reconcile(sessions, world.tenant_id)).clean
