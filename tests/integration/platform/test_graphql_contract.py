"""The contract front-end teams build on: GraphQL over HTTP as the specification says, and a schema that keeps it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.app import create_app
from api.auth.tokens import issue_user_token
from api.settings import Settings
from tests.browser import live_server as serve_live
from tests.integration.graphql_client import gid
from tests.integration.graphql_http_audit import audit


@pytest.fixture
def live_server(database_url: str, test_settings: Settings) -> Iterator[str]:
    """The development app under uvicorn on a free localhost port, in its own thread and event loop."""
    with serve_live(create_app(test_settings, database_url=database_url)) as url:
        yield url


async def test_graphql_http_audit_passes_every_check(live_server, sessions, world) -> None:  # type: ignore[no-untyped-def]
    # Given a signed-in user and the service under a real HTTP server
    token = await issue_user_token(sessions, world.tenant_id, world.users["am_east"].id)
    # When graphql-http's audit of the GraphQL-over-HTTP specification runs against /graphql
    results = audit(f"{live_server}/graphql", token)
    # Then every one of its 61 checks passes, the optional ones included
    assert len(results) == 61
    failing = [f"{r['id']} {r['name']} [{r['status']}]: {r['reason']} ({r['responseStatus']} {r['body']})"
               for r in results if r["status"] != "ok"]  # fmt: skip
    assert not failing, "\n".join(failing)


# --- Every type with an id is a Node, fetched by node(id:) with its own visibility

NODE = "query($id: ID!) { node(id: $id) { __typename id } }"


async def _dependent_records(sessions, world):  # type: ignore[no-untyped-def]
    """One record of each type that has no resource of its own, as the ERP, an admin, a gate or a sign-in makes it."""
    import secrets
    import uuid
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from domain.channel.lead_routing import RoutingRule, RuleKind
    from domain.channel.web_forms import WebForm
    from domain.commerce.catalog import PriceList
    from domain.erp.outbox import MessageKind, MessageStatus, OutboxMessage
    from domain.identity.sign_in.models import AuthSession
    from domain.selling.pipelines import Pipeline
    from domain.selling.stage_gates import ApprovalStatus, StageApproval
    from domain.selling.stages import Stage

    tid = world.tenant_id
    rows = {
        "Pipeline": Pipeline(tenant_id=tid, id=uuid.uuid4(), name="Renewals", is_default=False),
        "PriceList": PriceList(tenant_id=tid, id=uuid.uuid4(), name="Gold dealers", discount_percent=Decimal("12.50")),
        "RoutingRule": RoutingRule(tenant_id=tid, id=uuid.uuid4(), position=1, name="East pool", kind=RuleKind.INTERNAL,
                                   user_ids=[]),
        "WebForm": WebForm(tenant_id=tid, id=uuid.uuid4(), key=secrets.token_hex(8), secret=secrets.token_hex(16),
                           name="Contact us"),
        "StageApproval": StageApproval(tenant_id=tid, id=uuid.uuid4(), opportunity_id=world.opportunities["O1"].id,
                                       stage=Stage.NEGOTIATION, status=ApprovalStatus.REQUESTED),
        "Session": AuthSession(tenant_id=tid, id=uuid.uuid4(), user_id=world.users["am_east"].id, method="password",
                               expires_at=datetime.now(UTC) + timedelta(days=1)),
        "OutboxMessage": OutboxMessage(tenant_id=tid, id=uuid.uuid4(), kind=MessageKind.ORDER, record_id=uuid.uuid4(),
                                       idempotency_key=f"SO-{secrets.token_hex(4)}", status=MessageStatus.PENDING),
    }  # fmt: skip
    async with sessions() as session, session.begin():
        session.add_all(rows.values())
    return {name: gid(name, row.id) for name, row in rows.items()}


@pytest.mark.parametrize(
    ("user", "sees"),
    [
        ("admin", {"Pipeline", "PriceList", "RoutingRule", "WebForm", "StageApproval", "OutboxMessage"}),
        ("am_east", {"Pipeline", "PriceList", "StageApproval", "Session"}),  # O1 and the session are theirs
        ("am_west", {"Pipeline", "PriceList"}),
        ("finance", {"Pipeline", "PriceList", "StageApproval", "OutboxMessage"}),
        # A partner: no internal configuration but the price list it buys from (this one, for every partner kind
        # and tier, is D1's), and O1 is not theirs
        ("d1_admin", {"Pipeline", "PriceList"}),
    ],
)
async def test_every_type_with_an_id_is_a_node_seen_by_its_owners_rule(user, sees, world, as_, sessions) -> None:  # type: ignore[no-untyped-def]
    # Given one record of each type that used to have an id but no node lookup
    ids = await _dependent_records(sessions, world)
    caller = await as_(user)
    # When each is fetched by node(id:)
    found = {}
    for name, record_id in ids.items():
        found[name] = (await caller.data(NODE, id=record_id))["node"]
    # Then the viewer gets exactly those their role may read, as that type, and null for the rest
    assert {name for name, node in found.items() if node is not None} == sees
    assert all(node == {"__typename": name, "id": ids[name]} for name, node in found.items() if node)


# --- A FORBIDDEN field nulls itself, never the record a mutation made

CREATE_LEAD = """
mutation($input: CreateLeadInput!) {
  createLead(input: $input) { lead { id companyName routing { outcome } } errors { field code } }
}
"""
SUBMIT_REGISTRATION = """
mutation($input: SubmitDealRegistrationInput!) {
  submitDealRegistration(input: $input) { dealRegistration { id customerName conflicts { name } } errors { field code } }
}
"""
LEADS = "{ leads(first: 50) { totalCount } }"
REGISTRATIONS = "{ dealRegistrations(first: 50) { totalCount } }"


async def test_a_partner_creating_a_lead_gets_it_back_with_only_the_routing_withheld(world, as_) -> None:  # type: ignore[no-untyped-def]
    # Given a dealer's sales user, who may not read routing reasons
    dealer = await as_("r1a_sales")
    # When they create a lead and ask for its routing too
    body = await dealer(CREATE_LEAD, input={"companyName": "Harbour Works", "lastName": "Lin"})
    # Then the lead comes back (so they do not create it again), and only `routing` is null with a FORBIDDEN
    lead = body["data"]["createLead"]["lead"]
    assert lead["companyName"] == "Harbour Works" and lead["id"]
    assert lead["routing"] is None
    assert body["data"]["createLead"]["errors"] == []
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [(["createLead", "lead", "routing"],
                                                                               "FORBIDDEN")]  # fmt: skip
    assert (await dealer.data(LEADS))["leads"]["totalCount"] == 1


async def test_a_partner_registering_a_deal_gets_it_back_with_only_the_conflicts_withheld(world, as_) -> None:  # type: ignore[no-untyped-def]
    import datetime

    dealer = await as_("r1a_sales")
    close = (datetime.date.today() + datetime.timedelta(days=60)).isoformat()
    body = await dealer(SUBMIT_REGISTRATION, input={"customerName": "Harbour Works", "products": ["Drives"],
                                                    "amount": "120000", "currency": "USD", "expectedCloseDate": close})  # fmt: skip
    registration = body["data"]["submitDealRegistration"]["dealRegistration"]
    assert registration["customerName"] == "Harbour Works" and registration["id"]
    assert registration["conflicts"] is None
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [
        (["submitDealRegistration", "dealRegistration", "conflicts"], "FORBIDDEN")
    ]
    assert (await dealer.data(REGISTRATIONS))["dealRegistrations"]["totalCount"] == 1


def test_every_field_that_can_be_forbidden_is_nullable() -> None:
    """A FORBIDDEN on a non-null field would null its parent: the record of a mutation's payload, say."""
    from graphql import GraphQLInterfaceType, GraphQLNonNull, GraphQLObjectType

    from api.graphql.schema import schema

    offending = [
        f"{name}.{field_name}"
        for name, gql_type in schema._schema.type_map.items()
        if isinstance(gql_type, (GraphQLObjectType, GraphQLInterfaceType)) and name not in {"Query", "Mutation"}
        for field_name, field in gql_type.fields.items()
        if "FORBIDDEN" in (field.description or "") and isinstance(field.type, GraphQLNonNull)
    ]
    assert offending == []


# --- The audit trail speaks the API's language

TRANSFER = """
mutation($input: TransferOwnershipInput!) { transferOpportunityOwnership(input: $input) { errors { field code } } }
"""
ADD_MEMBER = """
mutation($input: AddTeamMemberInput!) { addOpportunityTeamMember(input: $input) { errors { field code } } }
"""
MOVE_STAGE = (
    "mutation($input: MoveOpportunityStageInput!) { moveOpportunityStage(input: $input) { errors { field code } } }"
)
AUDIT = "query($id: ID!) { auditEvents(recordId: $id, first: 20) { edges { node { action recordType changes } } } }"


async def test_audit_events_show_api_field_names_global_ids_and_enum_names(world, as_) -> None:  # type: ignore[no-untyped-def]
    # Given the owner of O1 who adds a specialist, moves the stage and hands the deal over, keeping a seat
    am = await as_("am_east")
    o1 = gid("Opportunity", world.opportunities["O1"].id)
    negotiator, am_west = gid("User", world.users["manager_east"].id), gid("User", world.users["am_west"].id)
    added = await am.data(ADD_MEMBER, input={"opportunityId": o1, "userId": negotiator, "salesRole": "NEGOTIATOR",
                                             "access": "EDIT"})  # fmt: skip
    moved = await am.data(MOVE_STAGE, input={"id": o1, "stage": "PROPOSAL"})
    handed = await am.data(TRANSFER, input={"id": o1, "newOwnerId": am_west, "reason": "Realignment",
                                            "keepPreviousOwnerOnTeam": True})  # fmt: skip
    assert [p["errors"] for d in (added, moved, handed) for p in d.values()] == [[], [], []]
    # When they read its audit trail
    events = {e["node"]["action"]: e["node"] for e in (await am.data(AUDIT, id=o1))["auditEvents"]["edges"]}
    # Then fields are named as in the schema, references are global ids and enum values are the schema's
    assert events["ownership_transferred"]["recordType"] == "Opportunity"
    assert events["ownership_transferred"]["changes"] == {
        "ownerId": {"old": gid("User", world.users["am_east"].id), "new": am_west}
    }
    assert events["team_member_added"]["changes"] == {
        "teamMember": {"old": None, "new": {"userId": negotiator, "salesRole": "NEGOTIATOR", "access": "EDIT"}}
    }
    assert events["stage_moved"]["changes"]["stage"] == {"old": "QUALIFICATION", "new": "PROPOSAL"}
    flattened = str(events)
    assert "_id" not in flattened and str(world.users["am_west"].id) not in flattened


# --- The HTTP layer: media types, GET, and request errors

ME = "{ me { email } }"
GRAPHQL_RESPONSE = "application/graphql-response+json"


@pytest.fixture
async def bearer(world, sessions):  # type: ignore[no-untyped-def]
    token = await issue_user_token(sessions, world.tenant_id, world.users["am_east"].id)
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, application/json;q=0.9", GRAPHQL_RESPONSE),
        (f"application/json, {GRAPHQL_RESPONSE};q=0.5", "application/json"),
    ],
)
async def test_the_response_media_type_is_the_one_the_client_prefers(accept, media_type, client, bearer) -> None:  # type: ignore[no-untyped-def]
    headers = bearer | ({"Accept": accept} if accept else {})
    response = await client.post("/graphql", json={"query": ME}, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    assert response.json()["data"]["me"]["email"]


@pytest.mark.parametrize("query", ["{ me {", "{ me { noSuchField } }", "query($id: ID!) { me { email } }"])
async def test_a_request_that_cannot_run_is_a_400_without_data_under_the_graphql_media_type(
    query, client, bearer
) -> None:  # type: ignore[no-untyped-def]
    # When the document does not parse, does not validate, or its variables do not coerce
    response = await client.post("/graphql", json={"query": query}, headers=bearer | {"Accept": GRAPHQL_RESPONSE})
    # Then the answer says so with a 400 and no data entry at all
    assert response.status_code == 400
    assert "data" not in response.json() and response.json()["errors"]
    # And clients of plain JSON keep the older convention
    legacy = await client.post("/graphql", json={"query": query}, headers=bearer | {"Accept": "application/json"})
    assert legacy.status_code == 200 and legacy.json()["data"] is None


async def test_an_error_during_execution_keeps_data_and_200(client, bearer) -> None:  # type: ignore[no-untyped-def]
    query = "{ opportunities(first: 500) { totalCount } }"
    response = await client.post("/graphql", json={"query": query}, headers=bearer | {"Accept": GRAPHQL_RESPONSE})
    assert response.status_code == 200 and "data" in response.json()


async def test_queries_may_be_sent_as_get_but_mutations_may_not(client, bearer) -> None:  # type: ignore[no-untyped-def]
    # A query over GET, with variables in the URL
    query = "query($n: Int) { opportunities(first: $n) { totalCount } }"
    response = await client.get("/graphql", params={"query": query, "variables": '{"n": 1}'}, headers=bearer)
    assert response.status_code == 200 and response.json()["data"]["opportunities"]["totalCount"] >= 1
    # A mutation over GET is refused as a method, and nothing runs
    mutation = 'mutation { createLead(input: {companyName: "Sneaky", lastName: "Get"}) { errors { code } } }'
    refused = await client.get("/graphql", params={"query": mutation}, headers=bearer | {"Accept": GRAPHQL_RESPONSE})
    assert refused.status_code == 405 and refused.headers["allow"] == "POST"
    assert "data" not in refused.json() and "POST" in refused.json()["errors"][0]["message"]


async def test_a_get_query_without_a_token_is_refused_even_when_it_asks_for_html(client) -> None:  # type: ignore[no-untyped-def]
    response = await client.get("/graphql", params={"query": ME}, headers={"Accept": "text/html"})
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ('"hello"', "JSON object"),
        ("42", "JSON object"),
        ("null", "JSON object"),
        ("[1]", "one operation"),
        ("{not json", "not valid JSON"),
        ('{"query": "{ me { email } }", "variables": {"v": ' + _nested(100_000) + "}}", "JSON"),
        ('{"query": "{ me { email } }", "variables": {"v": ' + _nested(200) + "}}", "nests deeper"),
        (_nested(100_000), "JSON"),
        ('{"query": "query($v: [[String]]) { me { email } }", "variables": {"v": ' + _nested(40) + "}}", "nests"),
    ],
)
async def test_a_body_that_is_not_a_graphql_request_is_a_400_naming_the_problem(body, says, client, bearer) -> None:  # type: ignore[no-untyped-def]
    for accept in ("application/json", GRAPHQL_RESPONSE):
        response = await client.post(
            "/graphql", content=body, headers=bearer | {"Content-Type": "application/json", "Accept": accept}
        )
        assert response.status_code == 400, response.text
        error = response.json()["errors"][0]
        assert says in error["message"] and error["extensions"]["code"] == "BAD_REQUEST"
        assert "data" not in response.json()


async def test_deeply_nested_input_written_in_the_document_is_a_clear_error(client, bearer) -> None:  # type: ignore[no-untyped-def]
    document = "query { opportunities(first: 1, filter: {search: " + "[" * 1500 + "]" * 1500 + "}) { totalCount } }"
    response = await client.post("/graphql", json={"query": document}, headers=bearer | {"Accept": GRAPHQL_RESPONSE})
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["errors"][0]["message"]


def test_every_connection_pages_both_ways() -> None:
    from graphql import GraphQLNonNull, GraphQLObjectType

    from api.graphql.schema import schema

    lacking = []
    for name, gql_type in schema._schema.type_map.items():
        if not isinstance(gql_type, GraphQLObjectType):
            continue
        for field_name, field in gql_type.fields.items():
            returned = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
            if getattr(returned, "name", "").endswith("Connection") and "pageInfo" in returned.fields:
                if not {"first", "after", "last", "before"} <= field.args.keys():
                    lacking.append(f"{name}.{field_name}")
    assert lacking == []
