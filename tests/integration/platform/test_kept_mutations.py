"""Kept mutations: a mutation document the pipeline answered once is answered ahead of it next time, with the
same payload, errors, statements and audit, and whatever its variables hold this time.

The suite's other tests run in check mode, where nothing is answered ahead of the pipeline; here the service runs
as it does by default (`CRM_COMPILED_READS=on`), and `off` is the pipeline alone to compare with.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from strawberry.schema.schema_converter import CustomGraphQLEnumType

from api.graphql.compiled import execution, kept_mutations
from api.graphql.loaders import NodeLoaders
from api.graphql.relay import parse_global_id
from domain.audit.trail import AuditEvent
from domain.identity.users import User
from domain.selling.activities import Activity
from tests.integration.graphql_client import Caller, caller_for, gid
from tests.integration.platform.conftest import PERSONAS, deactivated, post_as
from tests.integration.platform.test_kept_reads import PER_REQUEST, _charged
from tests.integration.platform.test_query_cost import limited_client
from tests.integration.world import World, build_world
from tests.reads import read_for_test
from tests.statement_counts import statements_sent

ACTIVITY = "id kind subject notes occurredAt dueAt done __typename"
LOG = f"""
mutation Log($input: LogActivityInput!) {{
  logActivity(input: $input) {{
    __typename
    activity {{ ...Logged opportunity {{ id name stage amount {{ amount currency }} }} by: owner {{ id name }} }}
    errors {{ field code message }}
  }}
}}
fragment Logged on Activity {{ {ACTIVITY} account {{ id name }} }}
"""
# What the payload shows, read back through the resolvers.
NODE = f"""
query Node($id: ID!) {{
  node(id: $id) {{
    ... on Activity {{
      {ACTIVITY} account {{ id name }} opportunity {{ id name stage amount {{ amount currency }} }} by: owner {{ id name }}
    }}
  }}
}}
"""
# The benchmark's form: the input written in the document, the deal a variable.
COUNTED = """
mutation Log($deal: ID!) {
  logActivity(input: {opportunityId: $deal, kind: CALL, subject: "Counted call"}) {
    activity { id kind subject opportunity { id } owner { id } }
    errors { field code message }
  }
}
"""
# A deal each persona may not see (the admin sees every deal: one that does not exist).
UNSEEN = {"admin": None, "distributor": "O5", "dealer": "O4"}


@pytest.fixture(scope="module")
async def world(sessions) -> World:  # type: ignore[no-untyped-def]
    return await build_world(sessions)


@pytest.fixture(autouse=True)
def compiled_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_COMPILED_READS", "on")


async def _kept(caller: Caller, world: World, query: str = LOG) -> httpx.Response:
    """The pipeline's answer to a first request of `query`, which keeps it."""
    execution.CACHE.kept.clear()
    before = kept_mutations.kept_answers
    first = await post_as(caller, query, _input(world, "O3", subject="First call"))
    assert first.status_code == 200, first.text
    assert kept_mutations.kept_answers == before, "the first request goes through the pipeline"
    return first


async def _by_the_pipeline(
    monkeypatch: pytest.MonkeyPatch, caller: Caller, query: str, variables: dict[str, Any]
) -> httpx.Response:
    """The pipeline's own answer (`CRM_COMPILED_READS=off`), the service back on as the tests run it."""
    monkeypatch.setenv("CRM_COMPILED_READS", "off")
    try:
        return await post_as(caller, query, variables)
    finally:
        monkeypatch.setenv("CRM_COMPILED_READS", "on")


def _input(world: World, deal: str | None = None, account: str | None = None, **fields: Any) -> dict[str, Any]:
    value: dict[str, Any] = {"kind": "CALL", "subject": "A call", **fields}
    if deal is not None:
        value["opportunityId"] = gid("Opportunity", world.opportunities[deal].id)
    if account is not None:
        value["accountId"] = gid("Account", world.accounts[account].id)
    return {"input": value}


async def _activities(sessions) -> int:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return int(await session.scalar(read_for_test(select(func.count()).select_from(Activity))) or 0)


@pytest.mark.parametrize("target", ["deal", "account"])
@pytest.mark.parametrize("persona", PERSONAS)
async def test_a_kept_mutation_answers_with_the_payload_the_resolvers_read_back(
    persona: str, target: str, callers: dict[str, Caller], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    caller = callers[persona]
    first = await _kept(caller, world)
    # When the same document comes again, with other variables
    variables = (
        _input(world, "O3", subject="Kept call", notes="Spoke to the buyer")
        if target == "deal"
        else _input(world, account="A_r1a", kind="TASK", subject="Kept task", dueAt="2031-05-01T09:30:00+02:00")
    )
    before = kept_mutations.kept_answers
    again = await post_as(caller, LOG, variables)
    # Then it is answered ahead of the pipeline, with the status and headers the pipeline gives
    assert kept_mutations.kept_answers == before + 1
    assert again.status_code == first.status_code == 200
    assert {k: v for k, v in again.headers.items() if k not in PER_REQUEST} == {
        k: v for k, v in first.headers.items() if k not in PER_REQUEST
    }
    payload = again.json()["data"]["logActivity"]
    assert payload["errors"] == [] and payload["__typename"] == "ActivityPayload"
    activity = payload["activity"]
    assert activity["subject"] == variables["input"]["subject"]
    # And the activity is what the resolvers read back for it, field for field and in the document's order
    node = (await _by_the_pipeline(monkeypatch, caller, NODE, {"id": activity["id"]})).json()["data"]["node"]
    assert activity == node
    assert list(activity) == [*ACTIVITY.split(), "account", "opportunity", "by"]
    if target == "deal":
        assert activity["opportunity"]["id"] == gid("Opportunity", world.opportunities["O3"].id)
        assert activity["account"] == {"id": gid("Account", world.accounts["A_east"].id), "name": "A_east Industries"}
    else:
        assert activity["opportunity"] is None and activity["dueAt"] == "2031-05-01T07:30:00+00:00"
    assert activity["by"]["id"] == gid("User", world.users[PERSONAS[persona]].id)


def _refused(world: World, persona: str) -> dict[str, dict[str, Any]]:
    """Inputs the payload's errors refuse, each naming its field; nothing is written for any of them."""
    unseen = UNSEEN[persona]
    return {
        "empty subject": _input(world, "O3", subject="  "),
        "deal and account": _input(world, "O3", account="A_r1a"),
        "malformed id": {"input": {"kind": "CALL", "subject": "x", "opportunityId": "not-an-id"}},
        "task without dueAt": _input(world, "O3", kind="TASK"),
        "naive time": _input(world, "O3", occurredAt="2030-01-01T10:00:00"),
        "unseen deal": (
            _input(world, unseen)
            if unseen
            else {"input": {"kind": "CALL", "subject": "x", "opportunityId": gid("Opportunity", uuid.uuid4())}}
        ),
    }


@pytest.mark.parametrize("persona", PERSONAS)
async def test_a_kept_mutation_refuses_bad_input_as_the_pipeline_does_and_writes_nothing(
    persona: str,
    callers: dict[str, Caller],
    world: World,
    sessions,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    caller = callers[persona]
    await _kept(caller, world)
    for name, variables in _refused(world, persona).items():
        count = await _activities(sessions)
        # Given the pipeline's answer to the input
        expected = await _by_the_pipeline(monkeypatch, caller, LOG, variables)
        before = kept_mutations.kept_answers
        # When the kept mutation gets it
        answer = await post_as(caller, LOG, variables)
        # Then it answers it, byte for byte as the pipeline did, and neither wrote anything
        assert kept_mutations.kept_answers == before + 1, name
        assert (answer.status_code, answer.content) == (expected.status_code, expected.content), name
        payload = answer.json()["data"]["logActivity"]
        assert payload["activity"] is None and payload["errors"] and payload["errors"][0]["field"], name
        assert await _activities(sessions) == count, name


def _break(monkeypatch: pytest.MonkeyPatch, failing: str) -> list[Any]:
    """Make one payload field fail the same way on both paths; the path its error is answered at."""
    if failing == "a record read after the change":
        made = NodeLoaders._batch  # noqa: SLF001

        def batch(self: NodeLoaders, type_name: str) -> Any:
            if type_name != "Account":
                return made(self, type_name)

            async def broken(ids: list[Any]) -> list[Any]:
                raise RuntimeError("the account could not be read")

            return broken

        monkeypatch.setattr(NodeLoaders, "_batch", batch)
        return ["logActivity", "activity", "account"]
    written = CustomGraphQLEnumType.coerce_output_value  # how both paths write an enum

    def coerced(self: CustomGraphQLEnumType, value: Any) -> Any:
        if self.name == "OpportunityStage":
            raise RuntimeError("the stage could not be written")
        return written(self, value)

    monkeypatch.setattr(CustomGraphQLEnumType, "coerce_output_value", coerced)
    return ["logActivity", "activity", "opportunity", "stage"]


@pytest.mark.parametrize("failing", ["a record read after the change", "a non-null value"])
async def test_a_payload_field_failing_after_the_change_is_answered_in_place_as_the_pipeline_answers_it(
    failing: str,
    callers: dict[str, Caller],
    world: World,
    sessions,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    caller = callers["distributor"]
    await _kept(caller, world)
    path = _break(monkeypatch, failing)
    count = await _activities(sessions)
    variables = _input(world, "O3", subject="Logged, then a field fails")
    before = kept_mutations.kept_answers
    # When the kept mutation writes and then one field of its payload fails
    answer = await post_as(caller, LOG, variables)
    assert kept_mutations.kept_answers == before + 1
    expected = await _by_the_pipeline(monkeypatch, caller, LOG, variables)
    assert kept_mutations.kept_answers == before + 1
    # Then both kept the change, and answer the rest of the payload with the failure in place
    assert await _activities(sessions) == count + 2
    assert answer.status_code == expected.status_code == 200
    got, want = answer.json(), expected.json()
    for body in (got, want):
        (error,) = body["errors"]
        assert error["path"] == path and error["message"] == "Unexpected error.", body
        assert error["extensions"].pop("requestId") and error["extensions"] == {"code": "INTERNAL"}, body
        activity = body["data"]["logActivity"]["activity"]
        assert activity["subject"] == "Logged, then a field fails", body
        activity["id"] = activity["occurredAt"] = None  # a new activity each time
    assert got == want
    nulled = got["data"]["logActivity"]["activity"]
    assert nulled[path[2]] is None  # the account, or the deal whose stage failed: the nearest that may be null
    assert nulled["opportunity" if path[2] == "account" else "account"] is not None


@pytest.mark.parametrize(
    "variables",
    [
        {"input": {"kind": "NOPE", "subject": "x"}},  # not a value of the enum
        {"input": {"kind": "CALL"}},  # subject missing
        {"input": {"kind": "CALL", "subject": "nul \x00 inside"}},  # text PostgreSQL cannot store
        {"input": {"kind": "CALL", "subject": "x" * 200_000}},  # over the text limit
        {},  # the variable missing
    ],
    ids=["enum", "missing field", "nul", "too long", "no variable"],
)
async def test_variables_the_pipeline_refuses_go_to_the_pipeline(
    variables: dict[str, Any],
    callers: dict[str, Caller],
    world: World,
    sessions,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    caller = callers["dealer"]
    await _kept(caller, world)
    count = await _activities(sessions)
    expected = await _by_the_pipeline(monkeypatch, caller, LOG, variables)
    before = kept_mutations.kept_answers
    answer = await post_as(caller, LOG, variables)
    # The pipeline answers, naming the variable at fault, and nothing is written
    assert kept_mutations.kept_answers == before
    assert (answer.status_code, answer.content) == (expected.status_code, expected.content)
    assert answer.json()["errors"], answer.text
    assert await _activities(sessions) == count


async def test_a_retry_safe_create_and_a_task_for_someone_named_go_through_the_pipeline(
    callers: dict[str, Caller], world: World
) -> None:
    caller = callers["admin"]
    await _kept(caller, world)
    before = kept_mutations.kept_answers
    key = str(uuid.uuid4())
    retried = [await post_as(caller, LOG, _input(world, "O3", idempotencyKey=key)) for _ in range(2)]
    assigned = _input(
        world, "O3", kind="TASK", dueAt="2031-01-01T00:00:00Z", assigneeId=gid("User", world.users["am_east"].id)
    )
    task = await post_as(caller, LOG, assigned)
    assert kept_mutations.kept_answers == before
    assert retried[0].json() == retried[1].json(), "the retry answers with the activity the first request logged"
    assert task.json()["data"]["logActivity"]["errors"] == []


@pytest.mark.parametrize("persona", PERSONAS)
async def test_a_kept_mutation_is_one_statement_and_writes_its_audit_event(
    persona: str,
    callers: dict[str, Caller],
    world: World,
    sessions,  # type: ignore[no-untyped-def]
) -> None:
    caller = callers[persona]
    deal = gid("Opportunity", world.opportunities["O3"].id)
    await post_as(caller, COUNTED, {"deal": deal})  # kept, and the connection's statements are prepared
    await post_as(caller, COUNTED, {"deal": deal})
    before = kept_mutations.kept_answers
    async with statements_sent() as sent:
        answer = await post_as(caller, COUNTED, {"deal": deal})
    assert kept_mutations.kept_answers == before + 1
    # The sign-in check with the charge (a session seen before) in the statement that checks the deal, writes,
    # audits and reads back
    (statement,) = sent.steady()
    assert "app_user" in statement and "INSERT INTO usage_bucket" in statement
    assert "INSERT INTO activity" in statement and "INSERT INTO audit_event" in statement
    # committed as durably as the pipeline's change: nothing in it turns the WAL flush off for its transaction
    assert "set_config" not in statement
    activity = answer.json()["data"]["logActivity"]["activity"]
    assert activity["owner"] == {"id": gid("User", world.users[PERSONAS[persona]].id)}
    parsed = parse_global_id(activity["id"])
    assert parsed is not None
    async with sessions() as session:
        event = await session.scalar(read_for_test(select(AuditEvent).where(AuditEvent.record_id == parsed[1])))
    assert event is not None and event.action == "created" and event.record_type == "activity"
    assert event.actor_user_id == world.users[PERSONAS[persona]].id


async def test_each_actor_has_its_own_kept_mutation(callers: dict[str, Caller], world: World) -> None:
    # Given the document kept for the dealer
    await _kept(callers["dealer"], world)
    before = kept_mutations.kept_answers
    # When the distributor sends it, it goes through the pipeline, and is kept for the distributor from then on
    await post_as(callers["distributor"], LOG, _input(world, "O3"))
    assert kept_mutations.kept_answers == before
    await post_as(callers["distributor"], LOG, _input(world, "O3"))
    assert kept_mutations.kept_answers == before + 1


async def test_a_kept_mutation_is_charged_its_price_and_refused_once_the_budget_is_spent(
    world: World,
    sessions,
    database_url: str,
    tmp_path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    async with limited_client(
        sessions, database_url, tmp_path, max_cost=200, user_budget=400, user_refill_per_second=1
    ) as http:
        caller = await caller_for(http, sessions, world.tenant_id, world.users["r1a_admin"].id)
        first = await _kept(caller, world)
        cost = int(first.headers["ratelimit-limit"]) - int(first.headers["ratelimit-remaining"])
        before = kept_mutations.kept_answers
        again = await post_as(caller, LOG, _input(world, "O3"))
        # It costs what the pipeline charged
        assert kept_mutations.kept_answers == before + 1
        spent = int(first.headers["ratelimit-remaining"]) - int(again.headers["ratelimit-remaining"])
        assert cost - 1 <= spent <= cost  # a point may refill in between
        # And once the budget cannot pay for it, it is refused as the pipeline refuses it, and logs nothing
        while (answer := await post_as(caller, LOG, _input(world, "O3"))).status_code == 200:
            pass
        count = await _activities(sessions)
        by_pipeline = await _by_the_pipeline(monkeypatch, caller, LOG, _input(world, "O3"))
        assert answer.status_code == by_pipeline.status_code == 429
        (mine,), (theirs,) = answer.json()["errors"], by_pipeline.json()["errors"]
        assert mine["extensions"]["code"] == theirs["extensions"]["code"] == "RATE_LIMITED"
        assert answer.json().keys() == by_pipeline.json().keys()
        assert await _activities(sessions) == count


# The input written in the document around variables: its written values are coerced once, its variables per call.
INLINE = """
mutation Inline($deal: ID, $subject: String!, $notes: String) {
  logActivity(input: {opportunityId: $deal, kind: MEETING, subject: $subject, notes: $notes, done: false}) {
    activity { id kind subject notes done opportunity { id } }
    errors { field code message }
  }
}
"""


def _inline(world: World, **variables: Any) -> dict[str, Any]:
    return {"deal": gid("Opportunity", world.opportunities["O3"].id), "subject": "Inline call", **variables}


@pytest.mark.parametrize(
    ("case", "kept"),
    [
        ("all given", True),
        ("notes left out", True),
        ("deal left out", True),
        ("subject null", False),
        ("subject with a nul", False),
        ("subject too long", False),
    ],
)
async def test_an_input_written_around_variables_is_answered_as_the_pipeline_answers_it(
    case: str,
    kept: bool,
    callers: dict[str, Caller],
    world: World,
    sessions,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    caller = callers["distributor"]
    execution.CACHE.kept.clear()
    await post_as(caller, INLINE, _inline(world, notes="First"))  # the pipeline answers it, and keeps it
    variables = {
        "all given": _inline(world, notes="Spoke to the buyer"),
        "notes left out": _inline(world),
        "deal left out": {"subject": "No deal"},
        "subject null": _inline(world, subject=None),
        "subject with a nul": _inline(world, subject="nul \x00 inside"),
        "subject too long": _inline(world, subject="x" * 200_000),
    }[case]
    count = await _activities(sessions)
    # Given the pipeline's own answer
    expected = await _by_the_pipeline(monkeypatch, caller, INLINE, variables)
    written = await _activities(sessions) - count
    before = kept_mutations.kept_answers
    # When the kept mutation gets the same variables
    answer = await post_as(caller, INLINE, variables)
    # Then it answers them itself only where the pipeline would have gone on to the resolver, and answers alike
    assert kept_mutations.kept_answers == before + (1 if kept else 0)
    assert answer.status_code == expected.status_code
    got, want = answer.json(), expected.json()
    for body in (got, want):
        if (activity := (body.get("data") or {}).get("logActivity", {}).get("activity")) is not None:
            activity["id"] = None  # a new activity each time
    assert got == want
    assert await _activities(sessions) == count + 2 * written
    if case == "notes left out":
        assert got["data"]["logActivity"]["activity"]["notes"] is None
    if case == "deal left out":
        assert got["data"]["logActivity"]["errors"][0]["field"] == "opportunityId"


async def test_a_deactivated_person_is_refused_a_kept_mutation_and_nothing_is_written_or_charged(
    callers: dict[str, Caller], world: World, sessions
) -> None:  # type: ignore[no-untyped-def]
    caller = await caller_for(callers["admin"].client, sessions, world.tenant_id, world.users["r1a_sales"].id)
    deal = gid("Opportunity", world.opportunities["O3"].id)
    await post_as(caller, COUNTED, {"deal": deal})
    await post_as(caller, COUNTED, {"deal": deal})  # kept, and the session known
    # Given a kept logActivity, when its person is deactivated
    async with deactivated(sessions, world.users["r1a_sales"].id):
        count, charged = await _activities(sessions), await _charged(sessions, world, "r1a_sales")
        before = kept_mutations.kept_answers
        refused = await post_as(caller, COUNTED, {"deal": deal})
    # Then the token signs no one in, and the one statement wrote no activity and charged nothing
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert kept_mutations.kept_answers == before
    assert await _activities(sessions) == count
    assert await _charged(sessions, world, "r1a_sales") == charged


async def test_a_person_changed_since_their_last_request_logs_once_as_they_now_are(
    database_url, tmp_path, world: World, sessions
) -> None:  # type: ignore[no-untyped-def]
    person = world.users["r1a_sales"].id
    # Two charges are compared with each other: a budget that barely refills keeps either gap from paying one back
    async with limited_client(
        sessions, database_url, tmp_path, user_budget=20_000, user_refill_per_second=0.001
    ) as http:
        caller = await caller_for(http, sessions, world.tenant_id, person)
        deal = gid("Opportunity", world.opportunities["O3"].id)
        first = await post_as(caller, COUNTED, {"deal": deal})
        answered = kept_mutations.kept_answers
        again = await post_as(caller, COUNTED, {"deal": deal})
        assert kept_mutations.kept_answers == answered + 1  # kept, and the session known
        assert again.json()["data"]["logActivity"]["errors"] == []  # logged by the kept statement
        cost = int(first.headers["ratelimit-remaining"]) - int(again.headers["ratelimit-remaining"])
        # Given the person's roles changed since (a sales rep made the dealer's admin, who sees the dealer's deals)
        async with sessions() as session, session.begin():
            await session.execute(update(User).where(User.id == person).values(roles=["partner_admin"]))
        try:
            count, before = await _activities(sessions), kept_mutations.kept_answers
            moved = await post_as(caller, COUNTED, {"deal": deal})
            after = await _activities(sessions)
        finally:
            async with sessions() as session, session.begin():
                await session.execute(update(User).where(User.id == person).values(roles=["partner_sales"]))
    # Then the kept plan of the person as they were wrote nothing: the pipeline logged the call, once
    assert moved.status_code == 200, moved.text
    assert kept_mutations.kept_answers == before
    assert moved.json()["data"]["logActivity"]["errors"] == []
    assert after == count + 1
    # And it was charged once, by the statement that found them changed
    spent = int(again.headers["ratelimit-remaining"]) - int(moved.headers["ratelimit-remaining"])
    assert spent == cost
