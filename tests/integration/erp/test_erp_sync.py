"""The outbox relay and the inbound side against an ERP speaking the signed-webhook protocol over HTTP.

(The same journey against a real Tryton server is in test_erp_tryton.py.)
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal

import orjson
import pytest
from sqlalchemy import func, select, text, update

from domain.access.unit_of_work import UnitOfWork, system_unit_of_work
from domain.commerce.orders import Order
from domain.commerce.receivables import Payment
from domain.erp.outbox import ErpAdapterKind, MessageKind, MessageStatus, OutboxMessage
from domain.erp.outbox import ErpParty as ErpPartyLink
from integrations.erp import worker
from integrations.erp.port import ErpUnavailable
from integrations.erp.reconcile import reconcile
from integrations.erp.signing import signed_headers
from integrations.erp.sync import RetryPolicy, deliver, poll, sync_products
from integrations.erp.worker import WorkerSettings
from tests.integration.commerce.test_commerce import PLACE
from tests.integration.commerce_setup import connect_erp, line, quote_to_order, stock_catalogue, win
from tests.integration.graphql_client import gid
from tests.integration.signed_erp import SignedErp

FAST = RetryPolicy(base_seconds=0.05, cap_seconds=0.2)
SECRET = "s3cret-for-tests"


@pytest.fixture
async def erp(world, sessions):  # type: ignore[no-untyped-def]
    await connect_erp(sessions, world.tenant_id, ErpAdapterKind.WEBHOOK, {"url": "http://erp.test"}, SECRET)
    return SignedErp(SECRET, tenant_id=world.tenant_id)


@pytest.fixture
async def shop(world, sessions):  # type: ignore[no-untyped-def]
    return await stock_catalogue(sessions, world.tenant_id)


async def _place(as_, world, shop, user: str = "d2_admin", quantity: str = "1") -> dict:  # type: ignore[no-untyped-def, type-arg]
    body = await (await as_(user)).data(PLACE, i={"lines": [line(shop, "HW-100", quantity)]})
    assert not body["placePartnerOrder"]["errors"], body
    return body["placePartnerOrder"]["order"]  # type: ignore[no-any-return]


def _as_the_worker(session, tenant_id) -> UnitOfWork:  # type: ignore[no-untyped-def]
    """The test reads what the worker wrote as the worker does: through a system unit of work over the tenant."""
    return system_unit_of_work(session, tenant_id, "erp test")


async def _messages(sessions, tenant_id) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        rows = await session.execute(_as_the_worker(session, tenant_id).visible(OutboxMessage))
        return list(rows.scalars())


async def test_delivery_confirms_the_order_and_stores_the_erp_id(as_, world, shop, erp, sessions, database_url):  # type: ignore[no-untyped-def]
    order = await _place(as_, world, shop)
    await worker.drain(database_url, sessions, ports=erp.port, policy=FAST)
    [message] = await _messages(sessions, world.tenant_id)
    assert message.status is MessageStatus.DELIVERED and message.attempts == 1
    assert erp.creates == 1 and erp.bad_signatures == 0
    assert erp.parties[str(world.orgs["D2"].id)]["name"].startswith("D2")  # the buying partner is the ERP's customer
    seen = await (await as_("d2_admin")).data(
        "query($id: ID!) { node(id: $id) { ... on Order { status sync { state erpId erpNumber } } } }", id=order["id"]
    )
    assert seen["node"]["status"] == "CONFIRMED"
    assert seen["node"]["sync"]["state"] == "SYNCED" and seen["node"]["sync"]["erpId"]


async def test_the_same_message_delivered_twice_makes_one_erp_record(as_, world, shop, erp, sessions):  # type: ignore[no-untyped-def]
    await _place(as_, world, shop)
    [message] = await _messages(sessions, world.tenant_id)
    assert await deliver(sessions, world.tenant_id, message.id, ports=erp.port) is MessageStatus.DELIVERED
    # As if the worker died after the ERP call and before its commit: the message is pending again.
    async with sessions() as session, session.begin():
        await session.execute(
            update(OutboxMessage).where(OutboxMessage.id == message.id).values(status=MessageStatus.PENDING)
        )
    assert await deliver(sessions, world.tenant_id, message.id, ports=erp.port) is MessageStatus.DELIVERED
    assert erp.creates == 1 and len(erp.records) == 1


async def test_two_workers_deliver_each_message_once(as_, world, shop, erp, sessions, database_url):  # type: ignore[no-untyped-def]
    for _ in range(8):
        await _place(as_, world, shop)
    calls: list[str] = []
    original = erp.port

    def counting_port(connection):  # type: ignore[no-untyped-def]
        port = original(connection)
        push = port.push_order

        async def push_order(order):  # type: ignore[no-untyped-def]
            calls.append(order.reference)
            await asyncio.sleep(0.01)
            return await push(order)

        port.push_order = push_order  # type: ignore[method-assign]
        return port

    await asyncio.gather(
        worker.drain(database_url, sessions, ports=counting_port, policy=FAST),
        worker.drain(database_url, sessions, ports=counting_port, policy=FAST),
    )
    messages = await _messages(sessions, world.tenant_id)
    assert {m.status for m in messages} == {MessageStatus.DELIVERED}
    assert len(calls) == len(set(calls)) == 8  # no message was pushed twice
    assert erp.creates == 8
    assert erp.party_calls == 1  # the buyer's party was made once, then known by its recorded ERP id


async def test_erp_down_retries_with_backoff_then_delivers(as_, world, shop, erp, sessions, database_url):  # type: ignore[no-untyped-def]
    await _place(as_, world, shop)
    [message] = await _messages(sessions, world.tenant_id)
    erp.down = True
    for _ in range(3):
        await deliver(sessions, world.tenant_id, message.id, ports=erp.port, policy=FAST)
        await asyncio.sleep(0.25)
    [message] = await _messages(sessions, world.tenant_id)
    assert message.status is MessageStatus.PENDING and message.attempts == 3 and "503" in (message.last_error or "")
    order = await (await as_("d2_admin")).data("{ orders { edges { node { sync { state error } } } } }")
    assert order["orders"]["edges"][0]["node"]["sync"]["state"] == "PENDING"
    assert "503" in order["orders"]["edges"][0]["node"]["sync"]["error"]
    status_query = "{ erpStatus { adapter url pending dead oldestPendingAt lastPollError } }"
    backlog = (await (await as_("finance")).data(status_query))["erpStatus"]
    assert (backlog["adapter"], backlog["url"], backlog["pending"], backlog["dead"]) == (
        "webhook",
        "http://erp.test",
        1,
        0,
    )
    assert backlog["oldestPendingAt"] is not None
    await poll(sessions, world.tenant_id, ports=erp.port)  # the ERP is down for the inbound side too
    assert "503" in (await (await as_("finance")).data(status_query))["erpStatus"]["lastPollError"]
    denied = await (await as_("d2_admin"))(status_query)
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    erp.down = False
    await worker.drain(database_url, sessions, ports=erp.port, policy=FAST)
    [message] = await _messages(sessions, world.tenant_id)
    assert message.status is MessageStatus.DELIVERED and erp.creates == 1
    await poll(sessions, world.tenant_id, ports=erp.port)
    healthy = (await (await as_("finance")).data(status_query))["erpStatus"]
    assert (healthy["pending"], healthy["lastPollError"], healthy["oldestPendingAt"]) == (0, None, None)


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    policy = RetryPolicy(base_seconds=1, cap_seconds=60)
    samples = [[policy.delay(n).total_seconds() for _ in range(200)] for n in (1, 4, 10)]
    assert all(0 <= s <= 1 for s in samples[0]) and max(samples[1]) <= 8 and max(samples[2]) <= 60
    assert len({round(s, 3) for s in samples[1]}) > 50  # jittered, not fixed
    assert sum(samples[1]) / 200 > sum(samples[0]) / 200


async def test_a_refused_message_is_dead_listed_and_retried_by_mutation(as_, world, shop, erp, sessions, database_url):  # type: ignore[no-untyped-def]
    await _place(as_, world, shop)
    erp.refuse = "Unknown product HW-100"
    await worker.drain(database_url, sessions, ports=erp.port, policy=FAST)
    finance = await as_("finance")
    dead = await finance.data(
        "{ outboxMessages(status: DEAD) { totalCount edges { node { id reference attempts lastError order { number } contract { number } } } } }"
    )
    assert dead["outboxMessages"]["totalCount"] == 1
    node = dead["outboxMessages"]["edges"][0]["node"]
    assert node["attempts"] == 1 and "Unknown product" in node["lastError"]  # refused: no point retrying by itself
    assert node["order"]["number"] == node["reference"] and node["contract"] is None
    failed = await finance.data("{ orders { edges { node { sync { state } } } } }")
    assert failed["orders"]["edges"][0]["node"]["sync"]["state"] == "FAILED"
    partner = await (await as_("d2_admin"))("{ outboxMessages { totalCount } }")
    assert partner["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    erp.refuse = None
    retried = await finance.data(
        "mutation($id: ID!) { retryOutboxMessage(id: $id) { message { status attempts } errors { code } } }",
        id=node["id"],
    )
    assert retried["retryOutboxMessage"]["message"] == {"status": "PENDING", "attempts": 0}
    again = await finance.data("mutation($id: ID!) { retryOutboxMessage(id: $id) { errors { code } } }", id=node["id"])
    assert again["retryOutboxMessage"]["errors"][0]["code"] == "OUTBOX_MESSAGE_NOT_DEAD"
    await worker.drain(database_url, sessions, ports=erp.port, policy=FAST)
    synced = await finance.data("{ orders { edges { node { sync { state } } } } }")
    assert synced["orders"]["edges"][0]["node"]["sync"]["state"] == "SYNCED"


async def test_transient_failures_park_the_message_once_its_retry_budget_is_spent(as_, world, shop, erp, sessions):  # type: ignore[no-untyped-def]
    # Given an ERP that is down, and a retry budget of 1.5 s (24 hours unless configured)
    await _place(as_, world, shop)
    [message] = await _messages(sessions, world.tenant_id)
    policy = RetryPolicy(base_seconds=0.05, cap_seconds=0.2, budget_seconds=1.5)
    erp.down = True
    # When deliveries keep failing
    started = time.monotonic()
    for _ in range(200):
        if await deliver(sessions, world.tenant_id, message.id, ports=erp.port, policy=policy) is MessageStatus.DEAD:
            break
        await asyncio.sleep(0.05)
    # Then the message is retried for the budget (not a number of attempts), then dead and shown as such
    assert time.monotonic() - started >= 1.4
    finance = await as_("finance")
    dead = await finance.data("{ outboxMessages(status: DEAD) { edges { node { attempts retryUntil lastError } } } }")
    [node] = [e["node"] for e in dead["outboxMessages"]["edges"]]
    assert node["attempts"] > 8 and node["retryUntil"] and "503" in node["lastError"]


async def test_polling_applies_shipment_and_payment_once_and_in_order(as_, world, shop, erp, sessions, database_url):  # type: ignore[no-untyped-def]
    order = await _place(as_, world, shop, quantity="2")
    await worker.drain(database_url, sessions, ports=erp.port, policy=FAST)
    erp.ship(order["number"])
    erp.pay(order["number"])
    first = await poll(sessions, world.tenant_id, ports=erp.port)
    assert first.applied == 1
    second = await poll(sessions, world.tenant_id, ports=erp.port)  # the cursor is inclusive: same news again
    assert second.applied == 0
    view = await (await as_("d1_admin")).data("{ orders { totalCount } }")
    assert view["orders"]["totalCount"] == 0  # D2's order stays D2's
    d2 = await as_("d2_admin")
    seen = await d2.data(
        "query($id: ID!) { node(id: $id) { ... on Order { status paid { amount } invoiceState shipmentState "
        "installments { paid { amount } } payments { amount { amount } } } } }",
        id=order["id"],
    )
    node = seen["node"]
    assert (node["status"], node["paid"]["amount"], node["invoiceState"], node["shipmentState"]) == (
        "COMPLETED", "1400.00", "paid", "sent",
    )  # fmt: skip
    assert [p["amount"]["amount"] for p in node["payments"]] == ["1400.00"]
    receivables = await d2.data("{ receivables { billed { amount } paid { amount } due { amount } } }")
    assert receivables["receivables"][0]["due"]["amount"] == "0.00"
    trail = await (await as_("admin")).data(
        "query($id: ID!) { auditEvents(recordId: $id) { edges { node { action actorName changes } } } }", id=order["id"]
    )
    actions = [e["node"]["action"] for e in trail["auditEvents"]["edges"]]
    assert actions.count("created") == 1 and actions.count("erp_status") == 2  # confirmed, then shipped and paid
    assert {e["node"]["actorName"] for e in trail["auditEvents"]["edges"] if e["node"]["action"] == "erp_status"} == {
        "erp sync"
    }


def _webhook(status: dict, slug: str, *, secret: str = SECRET, delivery: str | None = None, now: float | None = None):  # type: ignore[no-untyped-def, type-arg]
    body = orjson.dumps({"statuses": [status]})
    headers = signed_headers(secret, body, delivery or str(uuid.uuid4()), now=now) | {"x-crm-tenant": slug}
    return body, headers


async def test_signed_webhooks_apply_and_bad_ones_change_nothing(as_, world, shop, erp, sessions, client, database_url):  # type: ignore[no-untyped-def]
    order = await _place(as_, world, shop)
    await worker.drain(database_url, sessions, ports=erp.port, policy=FAST)
    erp.ship(order["number"])
    status = erp.records[order["number"]]

    async def state() -> tuple[str, str | None]:
        async with sessions() as session:
            row = (
                await session.execute(
                    _as_the_worker(session, world.tenant_id).visible(Order).where(Order.number == order["number"])
                )
            ).scalar_one()
            return row.status.value, row.shipment_state

    for body, headers, code in (
        (*_webhook(status, world.slug, secret="wrong"), 401),
        (*_webhook(status, world.slug, now=time.time() - 3600), 401),  # stale
        (*_webhook(status, "no-such-tenant"), 401),
    ):
        response = await client.post("/webhooks/erp", content=body, headers=headers)
        assert response.status_code == code, response.text
    tampered_body, tampered_headers = _webhook(status, world.slug)
    response = await client.post(
        "/webhooks/erp", content=tampered_body.replace(b"sent", b"lost"), headers=tampered_headers
    )
    assert response.status_code == 401
    assert await state() == ("confirmed", "waiting")
    malformed, headers = _webhook({"reference": order["number"]}, world.slug)
    response = await client.post("/webhooks/erp", content=malformed, headers=headers)
    assert response.status_code == 400 and response.json()["field"] == "statuses[0].kind"

    body, headers = _webhook(status, world.slug, delivery="d-1")
    response = await client.post("/webhooks/erp", content=body, headers=headers)
    assert response.status_code == 200 and response.json()["applied"] == 1
    assert await state() == ("shipped", "sent")
    replay = await client.post("/webhooks/erp", content=body, headers=headers)
    assert replay.status_code == 409
    older = dict(status, shipment_state="waiting", changed_at="2025-01-01T00:00:00+00:00")
    body, headers = _webhook(older, world.slug)
    response = await client.post("/webhooks/erp", content=body, headers=headers)
    assert response.json() == {"applied": 0, "unchanged": 1, "unknown": 0}
    assert await state() == ("shipped", "sent")  # older news never overwrites newer


async def test_reconcile_reports_and_repairs_drift(as_, world, shop, erp, sessions, database_url):  # type: ignore[no-untyped-def]
    first = await _place(as_, world, shop)
    second = await _place(as_, world, shop)
    third = await _place(as_, world, shop)
    await worker.drain(database_url, sessions, ports=erp.port, policy=FAST)
    clean = await reconcile(sessions, world.tenant_id, ports=erp.port)
    assert clean.clean and clean.checked == 3
    del erp.records[first["number"]]  # lost on the ERP side
    erp.ship(second["number"])  # shipped, news not yet polled
    erp.records[third["number"]]["total_amount"] = "720.00"  # the ERP invoices a different amount
    erp.copy(second["number"], "SO-000900")  # the ERP holds an order the CRM lost
    report = await reconcile(sessions, world.tenant_id, ports=erp.port)
    assert {(d.kind, d.reference) for d in report.drift} == {
        ("missing_in_erp", first["number"]), ("state_mismatch", second["number"]),
        ("amount_mismatch", third["number"]), ("missing_in_crm", "SO-000900"),
    }  # fmt: skip
    assert not any(d.repaired for d in report.drift)
    repaired = await reconcile(sessions, world.tenant_id, repair=True, ports=erp.port)
    assert all(d.repaired for d in repaired.drift), repaired.drift
    await worker.drain(database_url, sessions, ports=erp.port, policy=FAST)
    assert (await reconcile(sessions, world.tenant_id, ports=erp.port)).clean
    assert erp.creates == 4  # the lost one was sent again, once
    d2 = await as_("d2_admin")
    seen = await d2.data(
        "{ orders(first: 10) { edges { node { number status total { amount } lines { productCode } "
        "installments { amount { amount } } } } } }"
    )
    orders = {e["node"]["number"]: e["node"] for e in seen["orders"]["edges"]}
    restored = orders["SO-000900"]  # back, with its buyer, lines and the ERP's status
    assert (restored["status"], restored["lines"][0]["productCode"]) == ("SHIPPED", "HW-100")
    adopted = orders[third["number"]]
    assert adopted["total"]["amount"] == "720.00" and adopted["installments"][0]["amount"]["amount"] == "720.00"
    after = await _place(as_, world, shop)
    assert after["number"] == "SO-000901"  # numbering moved past the restored order


async def test_the_scheduled_round_pulls_a_stale_catalogue(as_, world, sessions, erp):  # type: ignore[no-untyped-def]
    await worker.sync_tenant(sessions, world.tenant_id, ports=erp.port)  # never pulled: pulls now
    listed = await (await as_("d2_admin")).data("{ products { edges { node { code yourPrice { amount } } } } }")
    assert {e["node"]["code"]: e["node"]["yourPrice"]["amount"] for e in listed["products"]["edges"]} == {
        "HW-100": "1000.00",
        "SVC-200": "200.00",
    }  # fmt: skip  (no price list in this tenant: list price)
    assert await sync_products(sessions, world.tenant_id, ports=erp.port) == 0  # nothing new
    erp.down = True
    await worker.sync_tenant(sessions, world.tenant_id, ports=erp.port)  # fresh: no catalogue call, poll fails softly


async def test_payments_are_counted_once_however_often_reported(as_, world, shop, erp, sessions, database_url):  # type: ignore[no-untyped-def]
    order = await _place(as_, world, shop)
    await worker.drain(database_url, sessions, ports=erp.port, policy=FAST)
    erp.pay(order["number"])
    for _ in range(3):
        await poll(sessions, world.tenant_id, ports=erp.port)
    async with sessions() as session, session.begin():
        await session.execute(
            update(OutboxMessage).values(status=MessageStatus.PENDING).where(OutboxMessage.tenant_id == world.tenant_id)
        )
    [message] = await _messages(sessions, world.tenant_id)
    await deliver(sessions, world.tenant_id, message.id, ports=erp.port)  # a re-delivery reports the paid total too
    async with sessions() as session:
        total = (
            await session.execute(select(func.sum(Payment.amount)).where(Payment.tenant_id == world.tenant_id))
        ).scalar_one()
    assert total == Decimal("700.00")


async def test_a_message_whose_job_was_lost_is_delivered_by_the_running_worker(
    as_, world, shop, erp, sessions, database_url
):  # type: ignore[no-untyped-def]
    # Given a pending message whose queue job is gone (lost, or run early and discarded)
    await _place(as_, world, shop)
    [message] = await _messages(sessions, world.tenant_id)
    async with sessions() as session, session.begin():
        await session.execute(
            text("DELETE FROM pgqueuer WHERE convert_from(payload, 'UTF8')::jsonb ->> 'message_id' = :m"),
            {"m": str(message.id)},
        )
    # When a worker runs
    stop = asyncio.Event()
    running = asyncio.create_task(
        worker.deliver_forever(
            database_url, ports=erp.port, policy=FAST, settings=WorkerSettings(sweep_seconds=0.2), stop=stop
        )
    )
    try:
        for _ in range(50):
            [message] = await _messages(sessions, world.tenant_id)
            if message.status is MessageStatus.DELIVERED:
                break
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await running
    # Then its own sweep of the outbox delivered it, within a sweep or two, with no job needed
    assert message.status is MessageStatus.DELIVERED and erp.creates == 1


async def test_a_retry_after_a_slow_failure_comes_due_from_when_the_failure_was_recorded(
    as_, world, shop, erp, sessions, database_url
):  # type: ignore[no-untyped-def]
    # Given an ERP that takes 2 s to fail the first push (a retry job timed from the attempt's start came due
    # before its message did, and was thrown away as stale), then works
    pushes: list[float] = []
    original = erp.port

    def slow_then_fine(connection):  # type: ignore[no-untyped-def]
        port = original(connection)
        push = port.push_order

        async def push_order(order):  # type: ignore[no-untyped-def]
            if order.reference != placed["number"]:  # another test's leftover, swept up by this worker
                return await push(order)
            pushes.append(time.monotonic())
            if len(pushes) == 1:
                await asyncio.sleep(2)
                raise ErpUnavailable("The ERP answered 503 after a long wait")
            return await push(order)

        port.push_order = push_order  # type: ignore[method-assign]
        return port

    placed = await _place(as_, world, shop)
    # When a worker runs
    stop = asyncio.Event()
    policy = RetryPolicy(base_seconds=0.5, cap_seconds=0.5)
    running = asyncio.create_task(
        worker.deliver_forever(
            database_url, ports=slow_then_fine, policy=policy, settings=WorkerSettings(sweep_seconds=0.2), stop=stop
        )
    )
    deferred_jobs = []
    try:
        for _ in range(80):
            [message] = await _messages(sessions, world.tenant_id)
            if message.status is MessageStatus.DELIVERED:
                break
            if message.attempts == 1 and message.last_error:
                async with sessions() as session:
                    deferred_jobs.append(
                        (
                            await session.execute(text("SELECT count(*) FROM pgqueuer WHERE execute_after > now()"))
                        ).scalar_one()
                    )
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await running
    # Then the retry waits its backoff after the failure, and the worker's sweep makes it then: no job is needed
    assert message.status is MessageStatus.DELIVERED and message.attempts == 2 and erp.creates == 1
    assert 2 <= pushes[1] - pushes[0] <= 2 + 0.5 + 1.5
    assert deferred_jobs and set(deferred_jobs) == {0}


async def test_terminating_a_synced_contract_tells_the_erp_when_billing_stops(
    as_, world, shop, erp, sessions, database_url
):  # type: ignore[no-untyped-def]
    am = await as_("am_east")
    o1 = world.opportunities["O1"]
    await win(sessions, world.tenant_id, o1.id)
    await quote_to_order(am, gid("Opportunity", o1.id), [line(shop, "SVC-200", "1")])
    start = date.today() - timedelta(days=45)
    created = await am.data(
        "mutation($i: CreateContractInput!) { createContract(input: $i) { contract { id number } } }",
        i={"opportunityId": gid("Opportunity", o1.id), "startDate": start.isoformat(), "termMonths": 12},
    )
    contract = created["createContract"]["contract"]
    await am.data("mutation($id: ID!) { submitContract(id: $id) { contract { status } } }", id=contract["id"])
    await (await as_("finance")).data(
        "mutation($id: ID!) { approveContract(id: $id) { contract { status } } }", id=contract["id"]
    )
    await worker.drain(database_url, sessions, ports=erp.port, policy=FAST)
    assert erp.records[contract["number"]]["state"] == "running"
    terminate = 'mutation($id: ID!, $d: Date) { terminateContract(id: $id, reason: "Customer closed the site", effectiveDate: $d) { contract { status endDate sync { state } installments { dueDate } } errors { field code } } }'
    past = await am.data(terminate, id=contract["id"], d=(date.today() - timedelta(days=1)).isoformat())
    assert past["terminateContract"]["errors"] == [{"field": "effectiveDate", "code": "OUT_OF_RANGE"}]
    done = await am.data(terminate, id=contract["id"], d=None)
    ended = done["terminateContract"]["contract"]
    assert (ended["status"], ended["endDate"], ended["sync"]["state"]) == (
        "TERMINATED",
        date.today().isoformat(),
        "PENDING",
    )
    assert all(date.fromisoformat(i["dueDate"]) <= date.today() for i in ended["installments"])
    assert len(ended["installments"]) == 2  # the two that fell due in the 45 days it ran
    await worker.drain(database_url, sessions, ports=erp.port, policy=FAST)
    assert erp.documents[contract["number"]]["end_date"] == date.today().isoformat()
    assert erp.creates == 2  # the order and the contract; the contract amended, not made again
    after = await am.data(
        "query($id: ID!) { node(id: $id) { ... on Contract { status sync { state } } } }", id=contract["id"]
    )
    assert after["node"] == {"status": "TERMINATED", "sync": {"state": "SYNCED"}}


async def test_a_contract_terminated_while_its_delivery_is_at_the_erp_is_sent_again_after_it(
    as_, world, shop, erp, sessions, database_url
):  # type: ignore[no-untyped-def]
    # Given an approved contract whose delivery is at the ERP right now (the ERP is slow to answer)
    am = await as_("am_east")
    o1 = world.opportunities["O1"]
    await win(sessions, world.tenant_id, o1.id)
    await quote_to_order(am, gid("Opportunity", o1.id), [line(shop, "SVC-200", "1")])
    await worker.drain(database_url, sessions, ports=erp.port, policy=FAST)  # the order
    created = await am.data(
        "mutation($i: CreateContractInput!) { createContract(input: $i) { contract { id number } } }",
        i={"opportunityId": gid("Opportunity", o1.id), "startDate": date.today().isoformat(), "termMonths": 12},
    )
    contract = created["createContract"]["contract"]
    await am.data("mutation($id: ID!) { submitContract(id: $id) { contract { status } } }", id=contract["id"])
    await (await as_("finance")).data(
        "mutation($id: ID!) { approveContract(id: $id) { contract { status } } }", id=contract["id"]
    )
    [first] = [m for m in await _messages(sessions, world.tenant_id) if m.idempotency_key == contract["number"]]
    at_the_erp, answer = asyncio.Event(), asyncio.Event()
    original = erp.port

    def slow_port(connection):  # type: ignore[no-untyped-def]
        port = original(connection)
        push = port.push_contract

        async def push_contract(document):  # type: ignore[no-untyped-def]
            at_the_erp.set()
            await answer.wait()
            return await push(document)

        port.push_contract = push_contract  # type: ignore[method-assign]
        return port

    delivering = asyncio.create_task(deliver(sessions, world.tenant_id, first.id, ports=slow_port, policy=FAST))
    await at_the_erp.wait()
    # When it is terminated meanwhile (the delivery under way carries the old end date)
    terminate = 'mutation($id: ID!) { terminateContract(id: $id, reason: "Site closed") { contract { endDate sync { state } } errors { code } } }'
    ended = (await am.data(terminate, id=contract["id"]))["terminateContract"]
    assert ended["errors"] == [] and ended["contract"]["endDate"] == date.today().isoformat()
    answer.set()
    assert await delivering is MessageStatus.DELIVERED
    # Then the contract is not taken for synced on the strength of the old version...
    sync = "query($id: ID!) { node(id: $id) { ... on Contract { sync { state } } } }"
    assert (await am.data(sync, id=contract["id"]))["node"]["sync"]["state"] == "PENDING"
    assert erp.documents[contract["number"]]["end_date"] != date.today().isoformat()
    # ... and the termination follows in a message of its own, so the ERP stops billing today
    await worker.drain(database_url, sessions, ports=erp.port, policy=FAST)
    assert erp.documents[contract["number"]]["end_date"] == date.today().isoformat()
    assert (await am.data(sync, id=contract["id"]))["node"]["sync"]["state"] == "SYNCED"
    assert [m.status for m in await _messages(sessions, world.tenant_id) if m.idempotency_key == contract["number"]] == [
        MessageStatus.DELIVERED, MessageStatus.DELIVERED,
    ]  # fmt: skip


async def test_without_an_erp_connection_the_message_is_parked_and_says_why(as_, world, shop, sessions, database_url):  # type: ignore[no-untyped-def]
    order = await _place(as_, world, shop)
    [message] = await _messages(sessions, world.tenant_id)
    assert await deliver(sessions, world.tenant_id, message.id) is MessageStatus.DEAD
    seen = await (await as_("d2_admin")).data(
        "query($id: ID!) { node(id: $id) { ... on Order { sync { state error } } } }", id=order["id"]
    )
    assert seen["node"]["sync"] == {"state": "FAILED", "error": "No ERP connection is configured."}


async def test_two_messages_of_one_record_reach_the_erp_one_after_the_other(as_, world, shop, erp, sessions):  # type: ignore[no-untyped-def]
    await _place(as_, world, shop)
    [first] = await _messages(sessions, world.tenant_id)
    async with sessions() as session, session.begin():  # a second message for the same order, as a racing re-send makes
        session.add(ErpPartyLink(tenant_id=world.tenant_id, reference=str(world.orgs["D2"].id), erp_id="1"))  # known
        second = OutboxMessage(tenant_id=world.tenant_id, id=uuid.uuid4(), kind=MessageKind.ORDER, record_id=first.record_id,
                               idempotency_key=first.idempotency_key, status=MessageStatus.PENDING, attempts=0, max_attempts=8)  # fmt: skip
        session.add(second)
    in_flight: list[int] = []
    peak: list[int] = []
    original = erp.port

    def slow_port(connection):  # type: ignore[no-untyped-def]
        port = original(connection)
        push = port.push_order

        async def push_order(order):  # type: ignore[no-untyped-def]
            in_flight.append(1)
            peak.append(len(in_flight))
            await asyncio.sleep(0.05)
            try:
                return await push(order)
            finally:
                in_flight.pop()

        port.push_order = push_order  # type: ignore[method-assign]
        return port

    await asyncio.gather(
        deliver(sessions, world.tenant_id, first.id, ports=slow_port),
        deliver(sessions, world.tenant_id, second.id, ports=slow_port),
    )
    assert max(peak) == 1 and erp.creates == 1


async def test_an_order_is_cancelled_before_the_erp_has_it_and_not_after(as_, world, shop, erp, sessions, database_url):  # type: ignore[no-untyped-def]
    cancel = "mutation($id: ID!, $r: String!) { cancelOrder(id: $id, reason: $r) { order { status sync { state } installments { dueDate } } errors { field code message } } }"
    d2 = await as_("d2_admin")
    first = await _place(as_, world, shop)
    blank = await d2.data(cancel, id=first["id"], r=" ")
    assert blank["cancelOrder"]["errors"][0]["field"] == "reason"
    foreign = await (await as_("r1a_sales")).data(cancel, id=first["id"], r="not mine")
    assert foreign["cancelOrder"]["errors"][0]["code"] == "NOT_FOUND"
    done = await d2.data(cancel, id=first["id"], r="Ordered twice by mistake")
    assert done["cancelOrder"]["order"] == {"status": "CANCELLED", "sync": {"state": "NOT_SENT"}, "installments": []}
    again = await d2.data(cancel, id=first["id"], r="again")
    assert again["cancelOrder"]["errors"][0]["code"] == "ORDER_ALREADY_CANCELLED"
    finance = await as_("finance")
    [message] = (await finance.data("{ outboxMessages { edges { node { id status } } } }"))["outboxMessages"]["edges"]
    assert message["node"]["status"] == "CANCELLED"
    retry = await finance.data(
        "mutation($id: ID!) { retryOutboxMessage(id: $id) { errors { code } } }", id=message["node"]["id"]
    )
    assert retry["retryOutboxMessage"]["errors"][0]["code"] == "OUTBOX_MESSAGE_NOT_DEAD"
    await worker.drain(database_url, sessions, ports=erp.port, policy=FAST)
    assert erp.creates == 0  # the cancelled order never reached the ERP

    second = await _place(as_, world, shop)
    await worker.drain(database_url, sessions, ports=erp.port, policy=FAST)
    late = await d2.data(cancel, id=second["id"], r="too late")
    assert (
        late["cancelOrder"]["errors"][0]["code"] == "ORDER_NOT_CANCELLABLE"
        and "ERP" in late["cancelOrder"]["errors"][0]["message"]
    )
    erp.records[second["number"]].update(state="cancelled", changed_at=erp.tick())  # cancelled there by ERP staff
    await poll(sessions, world.tenant_id, ports=erp.port)
    followed = await d2.data("query($id: ID!) { node(id: $id) { ... on Order { status } } }", id=second["id"])
    assert followed["node"]["status"] == "CANCELLED"


async def test_cancelling_while_a_worker_delivers_is_refused_and_changes_nothing(as_, world, shop, sessions):  # type: ignore[no-untyped-def]
    order = await _place(as_, world, shop)
    [message] = await _messages(sessions, world.tenant_id)
    async with sessions() as worker_session, worker_session.begin():  # a worker holds the message mid-delivery
        held = _as_the_worker(worker_session, world.tenant_id).visible(OutboxMessage)
        await worker_session.execute(held.where(OutboxMessage.id == message.id).with_for_update())
        body = await (await as_("d2_admin")).data(
            'mutation($id: ID!) { cancelOrder(id: $id, reason: "mistake") { order { status } errors { code message } } }',
            id=order["id"],
        )
    assert (
        body["cancelOrder"]["errors"][0]["code"] == "ORDER_BEING_SENT"
        and "right now" in body["cancelOrder"]["errors"][0]["message"]
    )
    async with sessions() as session:
        row = (
            await session.execute(
                _as_the_worker(session, world.tenant_id).visible(Order).where(Order.number == order["number"])
            )
        ).scalar_one()
    assert row.status.value == "submitted"
