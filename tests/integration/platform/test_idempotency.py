"""Idempotency keys: a create retried with the same key gives back the first result and creates nothing more."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
from sqlalchemy import func, select, update

from api.auth.tokens import issue_user_token
from bench.soak import start_server, stop_server, wait_ready
from domain.commerce.orders import Order, record_credit
from domain.erp.outbox import OutboxMessage
from domain.selling.opportunities import Opportunity
from domain.shared.base import utcnow
from domain.shared.idempotency import IdempotencyKey, purge_expired
from tests.integration.commerce_setup import line, stock_catalogue
from tests.integration.graphql_client import gid
from tests.reads import read_for_test

CREATE_DEAL = """
mutation($input: CreateOpportunityInput!) {
  createOpportunity(input: $input) { opportunity { id name amount { amount } } errors { field code message } }
}
"""
LOG = """
mutation($input: LogActivityInput!) { logActivity(input: $input) { activity { id subject } errors { field code } } }
"""
PLACE = """
mutation($i: PlacePartnerOrderInput!) {
  placePartnerOrder(input: $i) { order { id number total { amount } } errors { field code message } }
}
"""
CREATE_ACCOUNT = """
mutation($input: CreateAccountInput!) { createAccount(input: $input) { account { id name } errors { field code } } }
"""


def _deal(world, name: str, **extra: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return {"accountId": gid("Account", world.accounts["A_east"].id), "name": name, "amount": "5000.00",
            "currency": "USD", "closeDate": "2027-09-30", **extra}  # fmt: skip


async def _count(sessions, model, *where) -> int:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        total = read_for_test(select(func.count()).select_from(model).where(*where))
        return int((await session.execute(total)).scalar_one())


async def _deals_named(sessions, world, name: str) -> int:  # type: ignore[no-untyped-def]
    return await _count(sessions, Opportunity, Opportunity.tenant_id == world.tenant_id, Opportunity.name == name)


async def test_a_retry_with_the_same_key_replays_the_first_result(world, as_, sessions) -> None:  # type: ignore[no-untyped-def]
    # Given a create that reached the server but whose answer the client never got
    am = await as_("am_east")
    key = str(uuid.uuid4())
    first = (await am.data(CREATE_DEAL, input=_deal(world, "Retried deal", idempotencyKey=key)))["createOpportunity"]
    assert first["errors"] == []
    # When the client sends it again with the same key (amounts written differently are the same amount)
    again = await am.data(CREATE_DEAL, input=_deal(world, "Retried deal", amount="5000.0", idempotencyKey=key))
    # Then it gets the same deal back, and there is one deal
    assert again["createOpportunity"] == first
    assert await _deals_named(sessions, world, "Retried deal") == 1
    # And without a key, a second create is a second deal, as before
    for _ in range(2):
        assert (await am.data(CREATE_DEAL, input=_deal(world, "Keyless deal")))["createOpportunity"]["errors"] == []
    assert await _deals_named(sessions, world, "Keyless deal") == 2


async def test_the_same_key_with_a_different_request_is_refused(world, as_, sessions) -> None:  # type: ignore[no-untyped-def]
    am = await as_("am_east")
    key = str(uuid.uuid4())
    assert (await am.data(CREATE_DEAL, input=_deal(world, "Keyed deal", idempotencyKey=key)))["createOpportunity"][
        "errors"
    ] == []
    other = (await am.data(CREATE_DEAL, input=_deal(world, "Another deal", idempotencyKey=key)))["createOpportunity"]
    assert other["opportunity"] is None
    assert [(e["field"], e["code"]) for e in other["errors"]] == [("idempotencyKey", "CONFLICT")]
    assert "different" in other["errors"][0]["message"]
    assert await _deals_named(sessions, world, "Another deal") == 0
    # A key is per mutation: the same key on another create is another key
    logged = (await am.data(LOG, input={"kind": "CALL", "subject": "Called", "idempotencyKey": key,
                                        "opportunityId": gid("Opportunity", world.opportunities["O1"].id)}))  # fmt: skip
    assert logged["logActivity"]["errors"] == []


async def test_concurrent_requests_with_one_key_create_one_record(world, as_, sessions) -> None:  # type: ignore[no-untyped-def]
    # Given eight copies of one create sent at once, as a client's retries racing its first attempt would be
    am = await as_("am_east")
    key = str(uuid.uuid4())
    answers = await asyncio.gather(
        *(am.data(CREATE_DEAL, input=_deal(world, "Raced deal", idempotencyKey=key)) for _ in range(8))
    )
    # Then all eight answer with the same deal, and only one exists
    ids = {a["createOpportunity"]["opportunity"]["id"] for a in answers}
    assert len(ids) == 1 and all(a["createOpportunity"]["errors"] == [] for a in answers)
    assert await _deals_named(sessions, world, "Raced deal") == 1


async def test_a_key_belongs_to_its_actor(world, as_, sessions) -> None:  # type: ignore[no-untyped-def]
    key = "shared-key-1"
    mine = await (await as_("am_east")).data(CREATE_DEAL, input=_deal(world, "Mine", idempotencyKey=key))
    theirs = await (await as_("manager_east")).data(CREATE_DEAL, input=_deal(world, "Mine", idempotencyKey=key))
    assert mine["createOpportunity"]["errors"] == [] and theirs["createOpportunity"]["errors"] == []
    assert mine["createOpportunity"]["opportunity"]["id"] != theirs["createOpportunity"]["opportunity"]["id"]
    assert await _deals_named(sessions, world, "Mine") == 2


async def test_a_failed_create_leaves_no_key_and_may_be_retried(world, as_, sessions) -> None:  # type: ignore[no-untyped-def]
    am = await as_("am_east")
    key = str(uuid.uuid4())
    failed = await am.data(CREATE_DEAL, input=_deal(world, "Fixed deal", amount="-1", idempotencyKey=key))
    assert [(e["field"], e["code"]) for e in failed["createOpportunity"]["errors"]] == [("amount", "OUT_OF_RANGE")]
    async with sessions() as session:
        assert (await session.execute(select(IdempotencyKey).where(IdempotencyKey.key == key))).first() is None
    fixed = (await am.data(CREATE_DEAL, input=_deal(world, "Fixed deal", idempotencyKey=key)))["createOpportunity"]
    assert fixed["errors"] == [] and await _deals_named(sessions, world, "Fixed deal") == 1


@pytest.mark.parametrize(
    "key, code", [("", "REQUIRED"), ("   ", "REQUIRED"), ("k" * 256, "TOO_LONG")], ids=["empty", "blank", "long"]
)
async def test_a_bad_key_is_refused_naming_the_field(world, as_, sessions, key, code) -> None:  # type: ignore[no-untyped-def]
    payload = await (await as_("am_east")).data(CREATE_DEAL, input=_deal(world, "Bad key", idempotencyKey=key))
    assert [(e["field"], e["code"]) for e in payload["createOpportunity"]["errors"]] == [("idempotencyKey", code)]
    assert await _deals_named(sessions, world, "Bad key") == 0


async def test_keys_expire_after_a_day(world, as_, sessions) -> None:  # type: ignore[no-untyped-def]
    am = await as_("am_east")
    key = str(uuid.uuid4())
    await am.data(CREATE_ACCOUNT, input={"name": "Expiring Ltd", "idempotencyKey": key})
    async with sessions() as session, session.begin():
        stored = (await session.execute(select(IdempotencyKey).where(IdempotencyKey.key == key))).scalar_one()
        assert timedelta(hours=23, minutes=59) < stored.expires_at - stored.created_at <= timedelta(hours=24)
        await session.execute(
            update(IdempotencyKey).where(IdempotencyKey.key == key).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    # An expired key is free again: a new request with it creates anew
    again = await am.data(CREATE_ACCOUNT, input={"name": "Renewed Ltd", "idempotencyKey": key})
    assert again["createAccount"]["errors"] == [] and again["createAccount"]["account"]["name"] == "Renewed Ltd"
    # And the scheduled purge deletes expired keys
    async with sessions() as session, session.begin():
        await session.execute(
            update(IdempotencyKey).where(IdempotencyKey.key == key).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        assert await purge_expired(session) >= 1
        assert (await session.execute(select(IdempotencyKey).where(IdempotencyKey.key == key))).first() is None


CREATES = ("create", "place", "log", "submitDealRegistration", "onboard", "invite")


def test_every_create_mutation_takes_an_idempotency_key() -> None:
    from graphql import GraphQLInputObjectType, build_schema, get_named_type
    from strawberry.printer import print_schema

    from api.graphql.schema import build_schema as crm_schema

    schema = build_schema(print_schema(crm_schema(production=False)))
    creates = {name: field for name, field in schema.mutation_type.fields.items() if name.startswith(CREATES)}  # type: ignore[union-attr]
    assert {"createOpportunity", "placePartnerOrder", "createLead", "logActivity", "createQuote", "createAccount",
            "createContact", "submitDealRegistration", "onboardPartner", "inviteUser", "createContract",
            "createOrderFromQuote"} <= creates.keys()  # fmt: skip
    for name, field in creates.items():
        taken = set(field.args)
        if "input" in field.args:
            input_type = get_named_type(field.args["input"].type)
            assert isinstance(input_type, GraphQLInputObjectType)
            taken = set(input_type.fields)
        assert "idempotencyKey" in taken, name


# --- A create whose answer was lost when the server was killed --------------------------------------------------


async def _send_without_reading(base: str, token: str, body: dict[str, Any]) -> socket.socket:
    """POST a GraphQL request and do not read the answer, as a client whose connection dropped."""
    parts = urlsplit(base)
    payload = orjson.dumps(body)
    sock = socket.create_connection((parts.hostname, parts.port))
    sock.sendall(
        b"POST /graphql HTTP/1.1\r\nHost: " + parts.netloc.encode() + b"\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + token.encode() + b"\r\nContent-Length: " + str(len(payload)).encode()
        + b"\r\n\r\n" + payload
    )  # fmt: skip
    return sock


async def test_a_retry_after_the_server_was_killed_does_not_duplicate_the_order(
    world, sessions, database_url, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    import httpx

    # Given a dealer with credit, and the service running as an operator runs it
    shop = await stock_catalogue(sessions, world.tenant_id)
    async with sessions() as session, session.begin():
        await record_credit(session, world.tenant_id, str(world.orgs["R1a"].id), Decimal("90000.00"), Decimal("0"))
    token = await issue_user_token(sessions, world.tenant_id, world.users["r1a_sales"].id)
    key = str(uuid.uuid4())
    order = {"query": PLACE, "variables": {"i": {"lines": [line(shop, "HW-100", "1")], "idempotencyKey": key}}}
    server, base = await asyncio.to_thread(start_server, database_url, 1, tmp_path / "first.log")
    try:
        await wait_ready(base, server, tmp_path / "first.log")
        # When the order is placed, committed, and the server is killed before the client reads the answer
        sock = await _send_without_reading(base, token, order)
        deadline = time.monotonic() + 30
        while await _count(sessions, Order, Order.tenant_id == world.tenant_id) == 0:
            assert time.monotonic() < deadline, "the order was never committed"
            await asyncio.sleep(0.05)
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
        sock.close()
    finally:
        await asyncio.to_thread(stop_server, server)
    # And the client retries against the restarted service with the same key
    server, base = await asyncio.to_thread(start_server, database_url, 1, tmp_path / "second.log")
    try:
        await wait_ready(base, server, tmp_path / "second.log")
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            response = await client.post("/graphql", json=order, headers={"Authorization": f"Bearer {token}"})
    finally:
        await asyncio.to_thread(stop_server, server)
    # Then it is told of the order made the first time, and there is one order, handed to the ERP once
    placed = response.json()["data"]["placePartnerOrder"]
    assert placed["errors"] == [] and placed["order"]["total"] == {"amount": "750.00"}
    assert await _count(sessions, Order, Order.tenant_id == world.tenant_id) == 1
    assert await _count(sessions, OutboxMessage, OutboxMessage.tenant_id == world.tenant_id) == 1
    async with sessions() as session:
        orders = read_for_test(select(Order.id).where(Order.tenant_id == world.tenant_id))
        only = (await session.execute(orders)).scalar_one()
    assert placed["order"]["id"] == gid("Order", only)
