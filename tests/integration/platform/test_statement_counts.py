"""What a read request costs in SQL statements, counted where PostgreSQL receives them, BEGIN and COMMIT included.

Through the public HTTP API, for the admin, a distributor and a dealer. The sign-in check and the query budget's
charge are one statement each and run outside any transaction; the reads of one request take turns on one session
in autocommit, so they send their statements alone: no BEGIN, COMMIT, ROLLBACK or pre-ping anywhere. These are
the counts of the resolver path (`CRM_COMPILED_READS=off`); a query the compiler answers costs fewer.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import event, text

from tests.integration.graphql_client import Caller, gid
from tests.integration.platform.conftest import PERSONAS
from tests.integration.world import World, build_world
from tests.statement_counts import StatementLog, statements_sent

# Reads nothing but the request's own budget: the sign-in check and the charge alone.
RATE_LIMIT = "{ rateLimit { cost remaining } }"
# `me` reads the viewer's user record once more, through the door.
ME = "{ me { email } }"
LIST = """
query Opps($first: Int!) {
  opportunities(first: $first, orderBy: {field: CREATED_AT, direction: DESC}) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id name stage amount { amount currency } closeDate account { id name } owner { id name } } }
  }
}
"""
DEAL = """
query Deal($id: ID!) {
  node(id: $id) {
    ... on Opportunity {
      id name stage amount { amount currency } closeDate probability forecastCategory
      account { id name } owner { id name }
      team { salesRole access user { id name } }
      partners { role organization { id name } }
      activities(first: 10) { totalCount edges { node { id kind subject occurredAt } } }
    }
  }
  quotes(opportunityId: $id, first: 10) {
    totalCount edges { node { id number version status total { amount currency } } }
  }
}
"""

# Sign-in check, budget charge, then the query's reads (the same for every persona):
EXPECTED = {
    "rateLimit": 2,  # nothing more
    "me": 3,  # the user
    # the page, its totalCount, the accounts, the owners
    "opportunity list": 6,
    # the deal, the quotes' page and count, account, owner, team, partners, the team's users, the partners'
    # organizations, and the activities' first page and count
    "deal page": 12,
}
TRANSACTION_CONTROL = {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", ";"}


@pytest.fixture(scope="module")
async def world(sessions) -> World:  # type: ignore[no-untyped-def]
    return await build_world(sessions)


@pytest.fixture(autouse=True)
def resolver_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every field through its resolver, as a query the compiler does not cover runs."""
    monkeypatch.setenv("CRM_COMPILED_READS", "off")


def _request(name: str, world: World) -> tuple[str, dict[str, object]]:
    deal = gid("Opportunity", world.opportunities["O3"].id)  # linked to the dealer R1a: every persona sees it
    return {
        "rateLimit": (RATE_LIMIT, {}),
        "me": (ME, {}),
        "opportunity list": (LIST, {"first": 50}),
        "deal page": (DEAL, {"id": deal}),
        "partner home": (HOME, {"expiresBefore": "2030-01-01T00:00:00Z"}),
        "forecast": (FORECAST, {"start": "2027-01-01", "end": "2027-06-30"}),
    }[name]


async def _sent(caller: Caller, query: str, variables: dict[str, object]) -> tuple[StatementLog, dict[str, object]]:
    await caller.data(query, **variables)  # the policy enforcer, the key ring and the caller's budget are warm
    async with statements_sent() as sent:
        data = await caller.data(query, **variables)
    return sent, data


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("name", EXPECTED)
async def test_a_read_request_sends_its_reads_alone(
    name: str, persona: str, callers: dict[str, Caller], world: World
) -> None:
    # Given a signed-in persona, when it sends a read request
    query, variables = _request(name, world)
    sent, data = await _sent(callers[persona], query, variables)
    # Then PostgreSQL receives the sign-in check, the charge and the reads, and nothing around them
    steady = sent.steady()
    assert len(steady) == EXPECTED[name], str(sent)
    assert not TRANSACTION_CONTROL & set(sent.kinds()), str(sent)
    assert "usage_bucket" in steady[1], "the second statement is the budget's charge"
    if name == "deal page":
        assert data["node"] is not None, "the deal is visible to every persona"


async def test_the_counter_sees_what_a_transaction_sends(client: httpx.AsyncClient, sessions, world: World) -> None:  # type: ignore[no-untyped-def]
    # Given the counter, when a unit of work runs one statement in its transaction (a write's shape)
    async with statements_sent() as sent:
        async with sessions() as session, session.begin():
            await session.execute(text("SELECT 1"))
    # Then it counts the BEGIN and COMMIT SQLAlchemy's asyncpg adapter sends besides the statement
    assert sent.kinds() == ["BEGIN", "SELECT", "COMMIT"], str(sent)


class PeakConnections:
    """The most connections the app's pool had handed out at once while recording."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.pool_events = app.state.engine.sync_engine
        self.in_use = self.peak = 0

    def _checkout(self, *_: object) -> None:
        self.in_use += 1
        self.peak = max(self.peak, self.in_use)

    def _checkin(self, *_: object) -> None:
        self.in_use -= 1

    async def __aenter__(self) -> PeakConnections:
        event.listen(self.pool_events, "checkout", self._checkout)
        event.listen(self.pool_events, "checkin", self._checkin)
        return self

    async def __aexit__(self, *_: object) -> None:
        event.remove(self.pool_events, "checkout", self._checkout)
        event.remove(self.pool_events, "checkin", self._checkin)


async def test_concurrent_reads_of_one_request_share_one_connection(
    app, callers: dict[str, Caller], world: World
) -> None:  # type: ignore[no-untyped-def]
    # Given a deal page, whose loaders wake concurrently
    query, variables = _request("deal page", world)
    caller = callers["distributor"]
    await caller.data(query, **variables)
    # When one is asked for, and then sixteen at once (the bench's load, which once took the pool of 20)
    async with PeakConnections(app) as one:
        await caller.data(query, **variables)
    async with PeakConnections(app) as sixteen:
        pages = await asyncio.gather(*(caller.data(query, **variables) for _ in range(16)))
    # Then a request never holds more than one connection at a time: its sign-in check's, then its reads'
    assert one.peak == 1
    assert sixteen.peak <= 16
    assert all(page["node"] is not None for page in pages)


HOME = """
query Home($expiresBefore: DateTime!) {
  leads(status: OFFERED, first: 20) {
    totalCount edges { node { id companyName status offerExpiresAt partner { id name } } }
  }
  dealRegistrations(status: APPROVED, protectionExpiresBefore: $expiresBefore, first: 20) {
    totalCount edges { node { id customerName amount { amount currency } protectionExpiresAt partner { id name } } }
  }
  orders(first: 20) { totalCount edges { node { id number status total { amount currency } partner { id name } } } }
  receivables { planned { amount currency } billed { amount } paid { amount } due { amount } overdue { amount } }
}
"""
FORECAST = """
query Forecast($start: Date!, $end: Date!) {
  forecast(periodStart: $start, periodEnd: $end, currency: "USD") {
    currency byCategory { category count amount weightedAmount }
  }
}
"""
# A read the compiler answers whole, of a session seen before: the sign-in check with the charge, in one statement
# (api/auth/signed_in.py), and the one compiled statement. A session's first request sends the check by itself:
# tests/integration/platform/test_kept_reads.py. The read stays a statement of its own: folded into the charge's,
# it would hold the budgets' rows (the tenant's is every request's) locked for as long as it reads.
COMPILED = {"opportunity list": 2, "deal page": 2, "partner home": 2, "forecast": 2}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("name", COMPILED)
async def test_a_compiled_read_is_two_statements_whatever_it_nests(
    name: str, persona: str, callers: dict[str, Caller], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the compiled path, as the service runs by default
    monkeypatch.setenv("CRM_COMPILED_READS", "on")
    query, variables = _request(name, world)
    # When a persona sends the list or the deal page (account, owner, team, partners, activities, quotes)
    sent, data = await _sent(callers[persona], query, variables)
    # Then PostgreSQL receives two statements and nothing around them
    steady = sent.steady()
    assert len(steady) == COMPILED[name], str(sent)
    assert not TRANSACTION_CONTROL & set(sent.kinds()), str(sent)
    assert "app_user" in steady[0] and "INSERT INTO usage_bucket" in steady[0], "the check and the charge"
    assert "json_build_object" in steady[1], "the second statement is the compiled read"
    if name == "deal page":
        assert data["node"] is not None, "the deal is visible to every persona"


LOG_ACTIVITY = """
mutation Log($deal: ID!) {
  logActivity(input: {opportunityId: $deal, kind: CALL, subject: "Counted call"}) {
    activity { id kind subject opportunity { id } owner { id } }
    errors { field code message }
  }
}
"""
# One statement checks the deal, writes the activity and its audit event and reads back the payload's activity,
# deal and owner: atomic alone, so no BEGIN or COMMIT around it. Before it, through the pipeline, the sign-in check
# and the charge; answered as a kept mutation (a session seen before), the check, the charge and the change are
# one statement.
LOG_ACTIVITY_STATEMENTS = {"check": 3, "on": 1}


@pytest.mark.parametrize("mode", LOG_ACTIVITY_STATEMENTS)
@pytest.mark.parametrize("persona", PERSONAS)
async def test_log_activity_is_one_statement_with_the_sign_in_check_and_the_charge_when_kept(
    persona: str, mode: str, callers: dict[str, Caller], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_COMPILED_READS", mode)
    # Given a persona who sees the deal O3, when it logs a call on it
    deal = gid("Opportunity", world.opportunities["O3"].id)
    sent, data = await _sent(callers[persona], LOG_ACTIVITY, {"deal": deal})
    # Then PostgreSQL receives those statements, and the payload has the activity, its deal and its owner
    steady = sent.steady()
    assert len(steady) == LOG_ACTIVITY_STATEMENTS[mode], str(sent)
    assert not TRANSACTION_CONTROL & set(sent.kinds()), str(sent)
    charge = steady[0] if mode == "on" else steady[-2]
    assert "INSERT INTO usage_bucket" in charge, "the charge, with the sign-in check and the change when kept"
    assert "INSERT INTO audit_event" in steady[-1], "the audit event is written by the change's statement"
    payload = data["logActivity"]
    assert payload["errors"] == []
    assert payload["activity"]["opportunity"] == {"id": deal}
    assert payload["activity"]["owner"] == {"id": gid("User", world.users[PERSONAS[persona]].id)}
