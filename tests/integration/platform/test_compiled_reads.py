"""Compiled reads answer exactly as the resolvers do: every role of the access table, every covered query.

Each query runs through the public API twice, once answered from its compiled statement and once by the
resolvers, and the two JSON answers must be identical. The whole suite also runs in check mode (conftest), so
every covered query of every other test is compared the same way.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import orjson
import pytest
from sqlalchemy import insert

from api.graphql.compiled import execution
from domain.selling.opportunities import Opportunity
from domain.selling.stages import ForecastCategory, Stage
from services.compiled_reads import run
from tests.integration.graphql_client import caller_for, gid
from tests.integration.world import USERS, World

LIST = """
query List($first: Int, $after: String) {
  opportunities(first: $first, after: $after) {
    __typename totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id __typename name stage amount { amount currency } closeDate probability
      forecastCategory isClosed createdAt updatedAt version budget { amount } decisionDate source
      account { id name lifecycleStage owner { name organization { name } } }
      owner { id name email isActive territory { name } } territory { id name } } }
  }
}
"""
ORDERED = """
query Ordered($first: Int!, $after: String, $order: OpportunityOrder!, $filter: OpportunityFilterInput) {
  page: opportunities(first: $first, after: $after, orderBy: $order, filter: $filter) {
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { ...Deal } }
  }
}
fragment Deal on Opportunity { id name amount { amount } closeDate }
"""
NODE = """
query Node($id: ID!) {
  __typename
  deal: node(id: $id) { __typename id ... on Opportunity { name stage owner { name } account { name taxId } } }
}
"""
DEAL = """
query Deal($id: ID!) {
  node(id: $id) {
    ... on Opportunity {
      id name stage amount { amount currency } closeDate probability forecastCategory
      account { id name } owner { id name }
      team { salesRole access joinedAt user { id name } }
      partners { role organization { id name } }
      activities(first: 2) {
        totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { id kind subject occurredAt done owner { name } opportunity { name } } }
      }
    }
  }
}
"""
HOME = """
query Home($expiresBefore: DateTime!, $deal: ID!) {
  leads(status: OFFERED, first: 20) {
    totalCount edges { node { id companyName status offerExpiresAt partner { id name } } }
  }
  dealRegistrations(status: APPROVED, protectionExpiresBefore: $expiresBefore, first: 20) {
    totalCount edges { node { id customerName amount { amount currency } protectionExpiresAt partner { id name } } }
  }
  orders(first: 20) { totalCount edges { node { id number status total { amount currency } partner { id name } } } }
  quotes(opportunityId: $deal, first: 10) {
    totalCount edges { node { id number version status total { amount currency } } }
  }
  accounts(first: 5) { totalCount edges { node { id name owner { name } managingPartner { name } } } }
  receivables { planned { amount currency } billed { amount } paid { amount } due { amount } overdue { amount } }
}
"""
FORECAST = """
query Forecast($start: Date!, $end: Date!, $currency: String!) {
  forecast(periodStart: $start, periodEnd: $end, currency: $currency) {
    __typename currency byCategory { category count amount weightedAmount }
  }
}
"""
LOG = """
mutation Log($deal: ID!, $subject: String!) {
  logActivity(input: {opportunityId: $deal, kind: CALL, subject: $subject}) { errors { message } }
}
"""
INTERNAL = "query($id: ID!) { node(id: $id) { ... on Opportunity { name margin internalNotes closeReason } } }"


async def both(caller: Any, monkeypatch: pytest.MonkeyPatch, query: str, **variables: Any) -> dict[str, Any]:
    """The answer from the compiled statement, asserted identical to the resolvers' and to have been compiled."""
    monkeypatch.setenv(execution.MODE, "on")
    before = execution.compiled_answers
    compiled = await caller(query, **variables)
    assert execution.compiled_answers == before + 1, "the compiler did not answer this query"
    monkeypatch.setenv(execution.MODE, "off")
    resolved = await caller(query, **variables)
    assert compiled == resolved, "\n".join(differing(compiled, resolved))
    return compiled


def differing(a: Any, b: Any, at: str = "") -> list[str]:
    """Where two JSON values differ, one line per leaf."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [line for k in sorted(a.keys() | b.keys()) for line in differing(a.get(k), b.get(k), f"{at}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [line for i, (x, y) in enumerate(zip(a, b, strict=True)) for line in differing(x, y, f"{at}[{i}]")]
    return [] if a == b else [f"{at}: compiled {a!r} != resolved {b!r}"]


@pytest.mark.parametrize("user", sorted(USERS))
async def test_every_role_gets_the_resolvers_answer_from_the_compiled_list_and_node(
    client, sessions, world: World, monkeypatch: pytest.MonkeyPatch, user: str
) -> None:  # type: ignore[no-untyped-def]
    admin = await caller_for(client, sessions, world.tenant_id, world.users["admin"].id)
    for key in ("O1", "O3", "O5"):  # timelines of three, to page through: two per page
        for subject in ("Call", "Visit", "Mail"):
            logged = await admin.data(LOG, deal=gid("Opportunity", world.opportunities[key].id), subject=subject)
            assert not logged["logActivity"]["errors"]
    caller = await caller_for(client, sessions, world.tenant_id, world.users[user].id)
    first = await both(caller, monkeypatch, LIST, first=2)
    assert "errors" not in first
    cursor = first["data"]["opportunities"]["pageInfo"]["endCursor"]
    if cursor is not None:
        await both(caller, monkeypatch, LIST, first=2, after=cursor)
    for order in ({"field": "NAME", "direction": "ASC"}, {"field": "AMOUNT", "direction": "DESC"},
                  {"field": "CLOSE_DATE", "direction": "ASC"}):  # fmt: skip
        page = await both(caller, monkeypatch, ORDERED, first=3, order=order, filter={"stages": ["PROSPECTING"]})
        after = page["data"]["page"]["pageInfo"]["endCursor"]
        if after is not None:
            await both(caller, monkeypatch, ORDERED, first=3, after=after, order=order)
    for key in sorted(world.opportunities):
        await both(caller, monkeypatch, NODE, id=gid("Opportunity", world.opportunities[key].id))
        await both(caller, monkeypatch, DEAL, id=gid("Opportunity", world.opportunities[key].id))
    home = await both(caller, monkeypatch, HOME, expiresBefore="2030-01-01T00:00:00Z",
                      deal=gid("Opportunity", world.opportunities["O3"].id))  # fmt: skip
    assert "errors" not in home
    for start, end, currency in (("2026-01-01", "2027-12-31", "USD"), ("2020-01-01", "2021-12-31", "usd")):
        forecast = await both(caller, monkeypatch, FORECAST, start=start, end=end, currency=currency)
        assert "errors" not in forecast
    for key in sorted(world.accounts):
        await both(caller, monkeypatch, NODE, id=gid("Account", world.accounts[key].id))


async def test_internal_only_fields_are_compiled_for_internal_roles_and_refused_to_partners_as_before(
    client, sessions, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    deal = gid("Opportunity", world.opportunities["O3"].id)
    admin = await caller_for(client, sessions, world.tenant_id, world.users["admin"].id)
    answer = await both(admin, monkeypatch, INTERNAL, id=deal)
    assert answer["data"]["node"]["name"] == "O3"
    partner = await caller_for(client, sessions, world.tenant_id, world.users["r1a_admin"].id)
    monkeypatch.setenv(execution.MODE, "on")
    before = execution.compiled_answers
    refused = await partner(INTERNAL, id=deal)
    assert execution.compiled_answers == before  # left to the resolvers, which refuse the fields
    assert {e["extensions"]["code"] for e in refused["errors"]} == {"FORBIDDEN"}


async def test_the_compiled_forecast_rounds_to_the_cent_half_to_even_as_the_resolver_does(
    client, sessions, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    # Given deals whose weighted amounts fall on half a cent: 0.025 (to 0.02) and 0.035 (to 0.04)
    rows = []
    for amount, category in (("0.25", ForecastCategory.COMMIT), ("0.35", ForecastCategory.BEST_CASE)):
        rows.append(dict(tenant_id=world.tenant_id, id=uuid.uuid4(), account_id=world.accounts["A_east"].id,
                         name=f"Half cent {amount}", owner_id=world.users["am_east"].id, stage=Stage.PROPOSAL,
                         amount=Decimal(amount), currency="EUR", close_date=date(2027, 2, 1), probability=10,
                         forecast_category=category))  # fmt: skip
    async with sessions() as session, session.begin():
        await session.execute(insert(Opportunity), rows)
    admin = await caller_for(client, sessions, world.tenant_id, world.users["admin"].id)
    # When the forecast is read from its compiled statement and by the resolver
    answer = await both(admin, monkeypatch, FORECAST, start="2027-01-01", end="2027-12-31", currency="EUR")
    # Then both give the cents Decimal.quantize gives
    weighted = {b["category"]: b["weightedAmount"] for b in answer["data"]["forecast"]["byCategory"]}
    assert weighted == {"COMMIT": "0.02", "BEST_CASE": "0.04"}


async def test_a_row_rule_several_lists_of_a_statement_read_is_built_once(
    client, sessions, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    # Given a distributor's home, whose orders page, orders count and receivables are all narrowed by the orders rule
    compiled: list[Any] = []
    rendering = run.compile_plan

    def kept(*args: Any) -> Any:
        statement = rendering(*args)
        compiled.append(statement)
        return statement

    monkeypatch.setattr(run, "compile_plan", kept)
    caller = await caller_for(client, sessions, world.tenant_id, world.users["d1_manager"].id)
    # When it is compiled, it answers as the resolvers do
    await both(caller, monkeypatch, HOME, expiresBefore="2031-01-01T00:00:00Z",
               deal=gid("Opportunity", world.opportunities["O3"].id))  # fmt: skip
    # and the orders rule (the partner links of its deals) is one materialized set, which the three read
    (statement,) = [s for s in compiled if "receivables" in s.keys]
    assert statement.sql.count("MATERIALIZED") == 1
    rule_set = statement.sql.split(" AS MATERIALIZED", 1)[0].rsplit(" ", 1)[-1]
    assert statement.sql.count(f"FROM {rule_set}") == 3


MIXED = """
query Mixed($first: Int!) {
  me { email }
  deals: opportunities(first: $first) { totalCount edges { node { name } } }
  stageGates { stage }
  opportunities(first: 1) { edges { node { name closeReason } } }
}
"""


@pytest.mark.parametrize("user", ["admin", "r1a_admin"])
async def test_a_document_the_compiler_covers_in_part_answers_the_rest_by_the_resolvers_in_order(
    client, sessions, world: World, monkeypatch: pytest.MonkeyPatch, user: str
) -> None:  # type: ignore[no-untyped-def]
    # Given a document whose `deals` the compiler answers and whose other roots it leaves to the resolvers (`me`,
    # `stageGates`, and a list asking a partner for an internal-only field)
    caller = await caller_for(client, sessions, world.tenant_id, world.users[user].id)
    # When it is answered with the compiler on and off, then the answers are the same, errors included,
    answer = await both(caller, monkeypatch, MIXED, first=3)
    # and the root fields come in the document's order
    assert list(answer["data"]) == ["me", "deals", "stageGates", "opportunities"]
    if user == "r1a_admin":
        assert {e["path"][0] for e in answer["errors"]} == {"opportunities"}


COUNT = "query { opportunities(first: 1) { totalCount } }"


def _a_deal(world: World, name: str) -> dict[str, Any]:
    return dict(tenant_id=world.tenant_id, id=uuid.uuid4(), account_id=world.accounts["A_east"].id, name=name,
                owner_id=world.users["am_east"].id, stage=Stage.PROSPECTING, amount=Decimal("10"), currency="USD",
                close_date=date(2027, 2, 1), probability=10, forecast_category=ForecastCategory.PIPELINE)  # fmt: skip


async def test_checking_tells_a_write_between_the_two_reads_from_a_difference_of_the_compiler(
    client, sessions, world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:  # type: ignore[no-untyped-def]
    # Given check mode writing its differences to a file of this test's
    log = tmp_path / "differences.jsonl"
    monkeypatch.setenv(execution.MODE, "check")
    monkeypatch.setenv(execution.LOG, str(log))
    admin = await caller_for(client, sessions, world.tenant_id, world.users["admin"].id)
    reading = execution.run
    calls = 0

    async def written_after_the_first_read(*args: Any) -> Any:
        nonlocal calls
        answer = await reading(*args)
        calls += 1
        if calls == 1:  # another request's write lands between the compiled read and the resolvers'
            async with sessions() as session, session.begin():
                await session.execute(insert(Opportunity), [_a_deal(world, "Landed between the reads")])
        return answer

    # When a deal is created between the compiled read and the resolvers' read
    monkeypatch.setattr(execution, "run", written_after_the_first_read)
    answer = await admin.data(COUNT)
    # Then the request answers the resolvers' count, the statement was read again, and no difference is recorded
    assert calls == 2
    assert answer["opportunities"]["totalCount"] == len(world.opportunities) + 1
    assert not log.exists()

    # When instead the compiled answer is off by one on every read (a fault of the compiler's)
    async def one_too_many(*args: Any) -> Any:
        answer = await reading(*args)
        data = orjson.loads(orjson.dumps(answer["opportunities"]))
        return {"opportunities": orjson.Fragment(orjson.dumps({**data, "totalCount": data["totalCount"] + 1}))}

    monkeypatch.setattr(execution, "run", one_too_many)
    await admin.data(COUNT)
    # Then it is recorded, with both answers
    (difference,) = [orjson.loads(line) for line in log.read_bytes().splitlines()]
    total = len(world.opportunities) + 1
    assert difference["compiled"]["opportunities"]["totalCount"] == total + 1
    assert difference["resolved"]["opportunities"]["totalCount"] == total
