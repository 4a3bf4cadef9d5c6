"""Each business refusal of commerce answers its own error code, so a front end tells them apart without
reading messages; a refused change writes nothing."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from domain.commerce.orders import Order
from domain.erp.outbox import OutboxMessage
from domain.selling.opportunities import Opportunity
from domain.selling.stages import Stage
from tests.integration.commerce_setup import line, stock_catalogue, win
from tests.integration.graphql_client import Caller, gid

QUOTE = "quote { id status } errors { field code message }"
CREATE_QUOTE = f"mutation($i: CreateQuoteInput!) {{ createQuote(input: $i) {{ {QUOTE} }} }}"
ORDER_FROM_QUOTE = (
    "mutation($q: ID!) { createOrderFromQuote(quoteId: $q) { order { id } errors { field code message } } }"
)
CREATE_CONTRACT = (
    "mutation($i: CreateContractInput!) { createContract(input: $i) { contract { id status } "
    "errors { field code message } } }"
)
PLACE = (
    "mutation($i: PlacePartnerOrderInput!) { placePartnerOrder(input: $i) { order { id number } "
    "errors { field code } } }"
)
CANCEL = (
    'mutation($id: ID!) { cancelOrder(id: $id, reason: "Ordered twice") { order { status } errors { field code } } }'
)


@pytest.fixture
async def shop(world, sessions):  # type: ignore[no-untyped-def]
    return await stock_catalogue(sessions, world.tenant_id)


async def _step(caller: Caller, step: str, quote_id: str) -> dict[str, Any]:
    body = await caller.data(f"mutation($id: ID!) {{ {step}(id: $id) {{ {QUOTE} }} }}", id=quote_id)
    return body[step]  # type: ignore[no-any-return]


def _error(payload: dict[str, Any]) -> tuple[str | None, str]:
    assert len(payload["errors"]) == 1, payload
    return payload["errors"][0]["field"], payload["errors"][0]["code"]


async def _quote(caller: Caller, opportunity_id: Any, shop: dict[str, Any], **extra: Any) -> dict[str, Any]:
    discount = extra.pop("discount", "0")
    variables = {"opportunityId": gid("Opportunity", opportunity_id), "lines": [line(shop, "HW-100", "1", discount)]}
    body = await caller.data(CREATE_QUOTE, i=variables | extra)
    return body["createQuote"]  # type: ignore[no-any-return]


def _contract_input(**source: str) -> dict[str, Any]:
    return {**source, "startDate": date.today().isoformat(), "termMonths": 12}


async def test_each_quote_order_and_contract_refusal_has_its_own_code(as_, world, shop, sessions):  # type: ignore[no-untyped-def]
    am, manager = await as_("am_east"), await as_("manager_east")
    o1, o3, o6 = (world.opportunities[key].id for key in ("O1", "O3", "O6"))
    # A lost deal takes no quotes.
    async with sessions() as session, session.begin():
        await session.execute(
            update(Opportunity)
            .where(Opportunity.tenant_id == world.tenant_id, Opportunity.id == o6)
            .values(stage=Stage.CLOSED_LOST, probability=0)
        )
    assert _error(await _quote(am, o6, shop)) == ("opportunityId", "OPPORTUNITY_LOST")
    # Only an accepted quote becomes an order, and only once its deal is won; a step out of turn is refused.
    draft = (await _quote(am, o1, shop))["quote"]["id"]
    ordered = await am.data(ORDER_FROM_QUOTE, q=draft)
    assert _error(ordered["createOrderFromQuote"]) == ("quoteId", "QUOTE_NOT_ACCEPTED")
    assert (await _step(am, "submitQuote", draft))["quote"]["status"] == "APPROVED"
    assert _error(await _step(am, "acceptQuote", draft)) == ("quoteId", "QUOTE_WRONG_STATUS")
    await _step(am, "sendQuote", draft)
    assert (await _step(am, "acceptQuote", draft))["quote"]["status"] == "ACCEPTED"
    ordered = await am.data(ORDER_FROM_QUOTE, q=draft)
    assert _error(ordered["createOrderFromQuote"]) == ("quoteId", "OPPORTUNITY_NOT_WON")
    contract = await am.data(CREATE_CONTRACT, i=_contract_input(opportunityId=gid("Opportunity", o1)))
    assert _error(contract["createContract"]) == ("opportunityId", "OPPORTUNITY_NOT_WON")
    # A won deal without an accepted quote gives a contract nothing to take its lines from.
    await win(sessions, world.tenant_id, o3)
    contract = await am.data(CREATE_CONTRACT, i=_contract_input(opportunityId=gid("Opportunity", o3)))
    assert _error(contract["createContract"]) == ("opportunityId", "NO_ACCEPTED_QUOTE")
    # A contract is approved only once it is submitted.
    await win(sessions, world.tenant_id, o1)
    contract = await am.data(CREATE_CONTRACT, i=_contract_input(opportunityId=gid("Opportunity", o1)))
    draft_contract = contract["createContract"]["contract"]
    assert draft_contract["status"] == "DRAFT"
    approved = await manager.data(
        "mutation($id: ID!) { approveContract(id: $id) { contract { status } errors { field code } } }",
        id=draft_contract["id"],
    )
    assert _error(approved["approveContract"]) == ("contractId", "CONTRACT_WRONG_STATUS")


async def test_a_quote_past_its_date_and_a_discount_its_author_approves_are_refused(as_, world, shop):  # type: ignore[no-untyped-def]
    am, manager = await as_("am_east"), await as_("manager_east")
    o1 = world.opportunities["O1"].id
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    expired = (await _quote(am, o1, shop, validUntil=yesterday))["quote"]["id"]
    for step in ("submitQuote", "sendQuote"):
        assert not (await _step(am, step, expired))["errors"]
    assert _error(await _step(am, "acceptQuote", expired)) == ("quoteId", "QUOTE_EXPIRED")
    # A manager may approve discounts of the territory's quotes, but not of a quote of their own.
    own = (await _quote(manager, o1, shop, discount="30"))["quote"]["id"]
    assert (await _step(manager, "submitQuote", own))["quote"]["status"] == "PENDING_APPROVAL"
    assert _error(await _step(manager, "approveQuote", own)) == ("quoteId", "QUOTE_SELF_APPROVAL")
    assert (await _step(manager, "sendQuote", own))["errors"][0]["code"] == "DISCOUNT_NEEDS_APPROVAL"


async def test_each_order_cancellation_refusal_has_its_own_code(as_, world, shop, sessions):  # type: ignore[no-untyped-def]
    r1a = await as_("r1a_sales")
    placed = []
    for _ in range(3):
        body = await r1a.data(PLACE, i={"lines": [line(shop, "SVC-200", "1")]})
        assert not body["placePartnerOrder"]["errors"], body
        placed.append(body["placePartnerOrder"]["order"])
    twice, received, in_flight = placed
    # A stock order has no customer to contract with.
    contract = await (await as_("admin")).data(CREATE_CONTRACT, i=_contract_input(orderId=twice["id"]))
    assert _error(contract["createContract"]) == ("orderId", "ORDER_WITHOUT_CUSTOMER")
    assert (await r1a.data(CANCEL, id=twice["id"]))["cancelOrder"]["order"]["status"] == "CANCELLED"
    assert _error((await r1a.data(CANCEL, id=twice["id"]))["cancelOrder"]) == ("id", "ORDER_ALREADY_CANCELLED")
    # Once the ERP holds an order it is cancelled there; while a delivery holds it, not now.
    async with sessions() as session, session.begin():
        await session.execute(
            update(Order)
            .where(Order.tenant_id == world.tenant_id, Order.number == received["number"])
            .values(erp_id="SO-ERP-1")
        )
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.tenant_id == world.tenant_id, OutboxMessage.idempotency_key == in_flight["number"])
            .values(claimed_until=OutboxMessage.created_at + timedelta(days=1), claimed_by="a worker")
        )
    assert _error((await r1a.data(CANCEL, id=received["id"]))["cancelOrder"]) == ("id", "ORDER_NOT_CANCELLABLE")
    assert _error((await r1a.data(CANCEL, id=in_flight["id"]))["cancelOrder"]) == ("id", "ORDER_BEING_SENT")
    for refused in (received, in_flight):  # and nothing of them changed
        still = await r1a.data("query($id: ID!) { node(id: $id) { ... on Order { status } } }", id=refused["id"])
        assert still["node"]["status"] == "SUBMITTED"
    # (the delivery made up above ends, so no later test's worker waits out its day-long lease)
    async with sessions() as session, session.begin():
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.tenant_id == world.tenant_id, OutboxMessage.idempotency_key == in_flight["number"])
            .values(claimed_until=None, claimed_by=None)
        )
