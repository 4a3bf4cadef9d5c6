"""Leads through the API: routing with reasons, partner SLA and re-routing, duplicates, merge, conversion,
and the public web-to-lead form."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from api.graphql.relay import parse_global_id
from domain.channel.lead_routing import expire_offers
from domain.channel.leads import Lead
from domain.channel.web_forms import WebForm, issue_token
from tests.integration.graphql_client import caller_for, gid
from tests.integration.world import build_world
from tests.reads import read_for_test

LEAD_FIELDS = """
  id companyName status source sourceDetail email interests owner { email } partner { name }
  duplicates { recordId name reasons }
"""
CREATE = f"""
mutation($input: CreateLeadInput!) {{ createLead(input: $input) {{ lead {{ {LEAD_FIELDS} }} errors {{ field code message }} }} }}
"""
RULE = """
mutation($input: CreateRoutingRuleInput!) { createRoutingRule(input: $input) { rule { id name } errors { field code } } }
"""
PARTNER = """
mutation($input: UpdatePartnerInput!) { updatePartner(input: $input) { errors { field code } } }
"""
ROUTING = """
query($id: ID!) { node(id: $id) { ... on Lead { status owner { email } partner { name }
  routing { outcome reason user { email } organization { name } } } } }
"""
DECLINE = """
mutation($input: DeclineLeadInput!) { declineLead(input: $input) { lead { status partner { name } } errors { field code } } }
"""
ACCEPT = "mutation($id: ID!) { acceptLead(id: $id) { lead { status } errors { field code } } }"
ASSIGN = """
mutation($input: AssignLeadInput!) { assignLead(input: $input) { lead { status owner { email } } errors { field code } } }
"""
MERGE = f"""
mutation($input: MergeLeadInput!) {{ mergeLead(input: $input) {{ lead {{ {LEAD_FIELDS} }} errors {{ field code }} }} }}
"""
CONVERT = """
mutation($input: ConvertLeadInput!) {
  convertLead(input: $input) {
    lead { status convertedAccount { name managingPartner { name } contacts { totalCount } }
           convertedOpportunity { id name source amount { amount } partners { role organization { name } } } }
    errors { field code message }
  }
}
"""
FORM = "mutation($input: CreateWebFormInput!) { createWebForm(input: $input) { form { key campaign } errors { field code } } }"
LIST = "{ leads(first: 50) { totalCount edges { node { companyName status source sourceDetail } } } }"


async def _create(caller, **fields):  # type: ignore[no-untyped-def]
    payload = (await caller.data(CREATE, input={"lastName": "Buyer", **fields}))["createLead"]
    assert payload["errors"] == [], payload["errors"]
    return payload["lead"]


async def _partner_network(world, as_) -> None:  # type: ignore[no-untyped-def]
    """R1a (silver) and R1b (gold) serve East with robotics; R2a serves West. Each is set by its channel manager."""
    east, west = gid("Territory", world.territories["East"].id), gid("Territory", world.territories["West"].id)
    for org, tier, region, manager in (
        ("R1a", "SILVER", east, "channel_mgr"),
        ("R1b", "GOLD", east, "channel_mgr"),
        ("R2a", "PLATINUM", west, "channel_mgr2"),
    ):
        channel = await as_(manager)
        data = await channel.data(
            PARTNER,
            input={
                "id": gid("Organization", world.orgs[org].id),
                "tier": tier,
                "regionIds": [region],
                "specializations": ["robotics"],
            },
        )
        assert data["updatePartner"]["errors"] == []


async def test_partner_offer_decline_and_sla_expiry_reroute_with_reasons(world, as_, sessions) -> None:  # type: ignore[no-untyped-def]
    await _partner_network(world, as_)
    admin = await as_("admin")
    east = gid("Territory", world.territories["East"].id)
    await admin.data(RULE, input={"name": "East partners", "kind": "PARTNER", "position": 1, "territoryId": east})
    await admin.data(
        RULE,
        input={
            "name": "East desk",
            "kind": "INTERNAL",
            "position": 2,
            "userIds": [gid("User", world.users["am_east"].id)],
        },
    )
    # An East robotics lead is offered to the best-scored partner: R1b (gold beats silver)
    lead = await _create(admin, companyName="Gamma Robotics", interests=["Robotics"], territoryId=east)
    assert (lead["status"], lead["partner"]) == ("OFFERED", {"name": world.orgs["R1b"].name})
    # The dealer and its distributor see it; the sibling dealer and the other distributor do not
    node = "query($id: ID!) { node(id: $id) { id } }"
    for role, sees in (("r1b_sales", True), ("d1_admin", True), ("r1a_sales", False), ("d2_admin", False)):
        assert ((await (await as_(role)).data(node, id=lead["id"]))["node"] is not None) is sees, role
    # Routing reasons are managers' (they compare partners)
    assert (await (await as_("r1b_sales"))(ROUTING, id=lead["id"]))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # R1b declines: remembered, and the lead goes to the next match, R1a
    payload = (await (await as_("r1b_sales")).data(DECLINE, input={"id": lead["id"], "reason": "No capacity"}))[
        "declineLead"
    ]
    # R1b no longer sees the lead (it went to its sibling), so the payload shows nothing of it
    assert payload == {"lead": None, "errors": []}
    now = (await admin.data(ROUTING, id=lead["id"]))["node"]
    assert (now["status"], now["partner"]) == ("OFFERED", {"name": world.orgs["R1a"].name})
    # R1a lets the SLA pass: the job re-routes; no partner is left, so the internal rule assigns it
    lead_id = parse_global_id(lead["id"])[1]  # type: ignore[index]
    async with sessions() as session, session.begin():
        await session.execute(
            update(Lead).where(Lead.id == lead_id).values(offer_expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    async with sessions() as session, session.begin():
        assert await expire_offers(session) >= 1
    routed = (await admin.data(ROUTING, id=lead["id"]))["node"]
    assert (routed["status"], routed["owner"], routed["partner"]) == (
        "ASSIGNED",
        {"email": world.users["am_east"].email},
        None,
    )
    steps = [
        (s["outcome"], (s["organization"] or {}).get("name"), (s["user"] or {}).get("email")) for s in routed["routing"]
    ]
    assert steps == [
        ("OFFERED", world.orgs["R1b"].name, None),
        ("DECLINED", world.orgs["R1b"].name, None),
        ("OFFERED", world.orgs["R1a"].name, None),
        ("EXPIRED", world.orgs["R1a"].name, None),
        ("ASSIGNED", None, world.users["am_east"].email),
    ]
    first = routed["routing"][0]["reason"]
    assert "rule 'East partners'" in first and "serves East" in first and "robotics" in first and "gold tier" in first
    assert world.orgs["R1a"].name in first  # the runner-up is named for the manager
    assert "No capacity" in routed["routing"][1]["reason"]


async def test_accepting_an_offer(world, as_) -> None:  # type: ignore[no-untyped-def]
    await _partner_network(world, as_)
    admin = await as_("admin")
    await admin.data(RULE, input={"name": "West partners", "kind": "PARTNER", "position": 1})
    lead = await _create(
        admin,
        companyName="Delta Robotics",
        interests=["robotics"],
        territoryId=gid("Territory", world.territories["West"].id),
    )
    assert lead["partner"] == {"name": world.orgs["R2a"].name}
    assert (await (await as_("d2_admin")).data(ACCEPT, id=lead["id"]))["acceptLead"]["lead"] == {"status": "ACCEPTED"}
    again = (await (await as_("d2_admin")).data(ACCEPT, id=lead["id"]))["acceptLead"]
    assert again["errors"] == [{"field": "id", "code": "LEAD_ALREADY_ACCEPTED"}]


async def test_round_robin_respects_capacity_then_a_manager_assigns_by_hand(world, as_) -> None:  # type: ignore[no-untyped-def]
    admin = await as_("admin")
    pool = [gid("User", world.users[k].id) for k in ("am_east", "am_west")]
    payload = (
        await admin.data(
            RULE, input={"name": "Desk", "kind": "INTERNAL", "position": 1, "userIds": pool, "maxOpenLeads": 1}
        )
    )["createRoutingRule"]
    assert payload["errors"] == []
    owners = [(await _create(admin, companyName=f"Company {n}"))["owner"] for n in ("One", "Two", "Three")]
    assert owners == [{"email": world.users["am_east"].email}, {"email": world.users["am_west"].email}, None]
    unrouted = (await admin.data(LIST))["leads"]["edges"][0]["node"]
    assert (unrouted["companyName"], unrouted["status"]) == ("Company Three", "UNROUTED")
    third = (await admin.data("{ leads(first: 1) { edges { node { id } } } }"))["leads"]["edges"][0]["node"]["id"]
    payload = (await (await as_("am_east")).data(ASSIGN, input={"id": third, "userId": pool[0], "reason": "x"}))[
        "assignLead"
    ]
    assert payload["errors"] == [{"field": None, "code": "FORBIDDEN"}]
    payload = (await admin.data(ASSIGN, input={"id": third, "userId": pool[1], "reason": "Knows them"}))["assignLead"]
    assert payload["lead"] == {"status": "ASSIGNED", "owner": {"email": world.users["am_west"].email}}
    # Each owner sees their own leads only
    assert {e["node"]["companyName"] for e in (await (await as_("am_west")).data(LIST))["leads"]["edges"]} == {
        "Company Two",
        "Company Three",
    }
    payload = (await admin.data(RULE, input={"name": "Bad", "kind": "INTERNAL", "position": 2}))["createRoutingRule"]
    assert payload["errors"] == [{"field": "userIds", "code": "REQUIRED"}]


async def test_duplicates_are_flagged_with_reasons_and_merged(world, as_) -> None:  # type: ignore[no-untyped-def]
    admin = await as_("admin")
    first = await _create(admin, companyName="Acme Robotics", webDomain="acme-robotics.example")
    second = await _create(
        admin, companyName="ACME Robotics Ltd.", email="li@acme-robotics.example", interests=["drives"]
    )
    assert [(d["recordId"], d["reasons"]) for d in second["duplicates"]] == [
        (first["id"], ['same name "acme robotics"', "e-mail domain acme-robotics.example"])
    ]
    # A lead for a company that is already an account is flagged against it too
    account = await _create(admin, companyName="A_east Industries, Inc.")
    assert [d["name"] for d in account["duplicates"]] == ["A_east Industries"]
    # Merge the duplicate: the survivor gains what it lacked
    merged = (await admin.data(MERGE, input={"id": second["id"], "intoId": first["id"]}))["mergeLead"]["lead"]
    assert (merged["email"], merged["interests"], merged["duplicates"]) == ("li@acme-robotics.example", ["drives"], [])
    statuses = {e["node"]["companyName"]: e["node"]["status"] for e in (await admin.data(LIST))["leads"]["edges"]}
    assert statuses["ACME Robotics Ltd."] == "MERGED"
    again = (await admin.data(MERGE, input={"id": second["id"], "intoId": first["id"]}))["mergeLead"]
    assert again["errors"] == [{"field": "id", "code": "LEAD_CLOSED"}]


async def test_partner_lead_converts_keeping_partner_and_source(world, as_) -> None:  # type: ignore[no-untyped-def]
    dealer = await as_("r1a_sales")
    lead = await _create(dealer, companyName="Omega Plastics", email="buyer@omega.example", firstName="Ana")
    assert (lead["status"], lead["source"], lead["partner"]) == (
        "ACCEPTED",
        "PARTNER",
        {"name": world.orgs["R1a"].name},
    )
    payload = (
        await dealer.data(
            CONVERT, input={"id": lead["id"], "amount": "80000", "currency": "EUR", "closeDate": "2027-05-31"}
        )
    )["convertLead"]
    assert payload["errors"] == []
    converted = payload["lead"]
    assert converted["status"] == "CONVERTED"
    assert converted["convertedAccount"] == {
        "name": "Omega Plastics",
        "managingPartner": {"name": world.orgs["R1a"].name},
        "contacts": {"totalCount": 1},
    }
    opportunity = converted["convertedOpportunity"]
    assert opportunity["source"] == "lead:partner"
    assert opportunity["partners"] == [{"role": "SOURCING", "organization": {"name": world.orgs["R1a"].name}}]
    # The distributor sees the new business; the source is kept on the opportunity
    source = "query($id: ID!) { node(id: $id) { ... on Opportunity { name } } }"
    assert (await (await as_("d1_admin")).data(source, id=opportunity["id"]))["node"] is not None
    payload = await dealer.data(
        CONVERT, input={"id": lead["id"], "amount": "1", "currency": "EUR", "closeDate": "2027-05-31"}
    )
    assert payload["convertLead"]["errors"] == [
        {"field": "id", "code": "LEAD_CLOSED", "message": "A converted lead cannot be converted."}
    ]
    # A converted lead awaits no partner's answer
    payload = (await dealer.data(ACCEPT, id=lead["id"]))["acceptLead"]
    assert payload["errors"] == [{"field": "id", "code": "LEAD_NOT_OFFERED"}]


async def test_internal_lead_converts_into_an_existing_account(world, as_) -> None:  # type: ignore[no-untyped-def]
    admin = await as_("admin")
    lead = await _create(admin, companyName="A_east Industries")
    payload = await admin.data(
        CONVERT,
        input={
            "id": lead["id"],
            "accountId": gid("Account", world.accounts["A_east"].id),
            "amount": "-1",
            "currency": "USD",
            "closeDate": "2027-01-01",
        },
    )
    assert payload["convertLead"]["errors"] == [
        {"field": "amount", "code": "OUT_OF_RANGE", "message": "amount must not be negative."}
    ]
    payload = await admin.data(
        CONVERT,
        input={
            "id": lead["id"],
            "accountId": gid("Account", world.accounts["A_east"].id),
            "amount": "5000",
            "currency": "USD",
            "closeDate": "2027-01-01",
        },
    )
    assert payload["convertLead"]["lead"]["convertedAccount"]["name"] == "A_east Industries"
    # A converted lead is closed to assignment by hand
    by_hand = {"id": lead["id"], "userId": gid("User", world.users["am_east"].id), "reason": "Knows them"}
    payload = (await admin.data(ASSIGN, input=by_hand))["assignLead"]
    assert payload == {"lead": None, "errors": [{"field": "id", "code": "LEAD_CLOSED"}]}


async def test_a_web_form_names_a_territory_of_the_tenant(world, as_) -> None:  # type: ignore[no-untyped-def]
    admin = await as_("admin")
    unknown = {"name": "Contact us", "territoryId": gid("Territory", uuid.uuid4())}
    payload = (await admin.data(FORM, input=unknown))["createWebForm"]
    assert payload == {"form": None, "errors": [{"field": "territoryId", "code": "NOT_FOUND"}]}
    east = {"name": "Contact us", "territoryId": gid("Territory", world.territories["East"].id)}
    assert (await admin.data(FORM, input=east))["createWebForm"]["errors"] == []


async def _form(admin, sessions, campaign: str = "Spring fair"):  # type: ignore[no-untyped-def]
    key = (await admin.data(FORM, input={"name": "Contact us", "campaign": campaign}))["createWebForm"]["form"]["key"]
    async with sessions() as session:
        form = (await session.execute(select(WebForm).where(WebForm.key == key))).scalar_one()
    return key, form


def _submission(form, **fields) -> dict:  # type: ignore[no-untyped-def]
    return {
        "token": issue_token(form, time.time() - 10),
        "companyName": "Visitor Co",
        "lastName": "Chen",
        "email": "chen@visitor.example",
        **fields,
    }


async def test_web_form_takes_a_lead_without_a_token_and_routes_it(world, as_, client, sessions) -> None:  # type: ignore[no-untyped-def]
    admin = await as_("admin")
    await admin.data(
        RULE,
        input={"name": "Desk", "kind": "INTERNAL", "position": 1, "userIds": [gid("User", world.users["am_west"].id)]},
    )
    key, form = await _form(admin, sessions)
    token = await client.get(f"/forms/{key}/token")
    assert token.status_code == 200 and token.headers["access-control-allow-origin"] == "*"
    response = await client.post(f"/forms/{key}/leads", json=_submission(form))
    assert (response.status_code, response.json()) == (202, {"status": "received"})
    lead = (await admin.data(LIST))["leads"]["edges"][0]["node"]
    assert lead == {
        "companyName": "Visitor Co",
        "status": "ASSIGNED",
        "source": "WEB_FORM",
        "sourceDetail": "Spring fair",
    }


async def test_web_form_defences(world, as_, client, sessions) -> None:  # type: ignore[no-untyped-def]
    admin = await as_("admin")
    key, form = await _form(admin, sessions)

    async def leads_now() -> int:
        async with sessions() as session:
            leads = read_for_test(select(func.count()).select_from(Lead).where(Lead.tenant_id == world.tenant_id))
            return (await session.execute(leads)).scalar_one()

    # Unknown form
    assert (await client.post(f"/forms/{uuid.uuid4().hex}/leads", json=_submission(form))).status_code == 404
    # Submitted faster than a person types, or with a forged token
    too_fast = _submission(form, token=issue_token(form, time.time()))
    assert (await client.post(f"/forms/{key}/leads", json=too_fast)).json()["errors"][0]["field"] == "token"
    forged = _submission(form, token=f"{int(time.time()) - 10}.{'0' * 32}")
    assert (await client.post(f"/forms/{key}/leads", json=forged)).status_code == 400
    # A bot filling the honeypot is told "received", and nothing is stored
    response = await client.post(f"/forms/{key}/leads", json=_submission(form, website="http://spam.example"))
    assert response.status_code == 202 and await leads_now() == 0
    # Bad fields are named
    response = await client.post(f"/forms/{key}/leads", json=_submission(form, companyName=" ", email="not-mail"))
    assert response.status_code == 400
    assert {(e["field"], e["code"]) for e in response.json()["errors"]} == {
        ("companyName", "REQUIRED"),
        ("email", "INVALID"),
    }
    # Five a visitor an hour, then 429 with Retry-After
    for n in range(5):
        assert (
            await client.post(f"/forms/{key}/leads", json=_submission(form, companyName=f"Co {n}"))
        ).status_code == 202
    response = await client.post(f"/forms/{key}/leads", json=_submission(form, companyName="Co 6"))
    assert response.status_code == 429 and response.headers["retry-after"] == "3600"
    assert await leads_now() == 5


SLA = "mutation($hours: Int!) { setPartnerLeadSlaHours(hours: $hours) { hours errors { field code } } }"
OFFER = "query($id: ID!) { node(id: $id) { ... on Lead { offerExpiresAt } } }"


async def test_partner_sla_is_a_tenant_setting(world, as_) -> None:  # type: ignore[no-untyped-def]
    await _partner_network(world, as_)
    admin = await as_("admin")
    assert (await (await as_("channel_mgr")).data(SLA, hours=4))["setPartnerLeadSlaHours"]["errors"] == [
        {"field": None, "code": "FORBIDDEN"}
    ]
    assert (await admin.data(SLA, hours=0))["setPartnerLeadSlaHours"]["errors"] == [
        {"field": "hours", "code": "OUT_OF_RANGE"}
    ]
    assert (await admin.data(SLA, hours=4))["setPartnerLeadSlaHours"] == {"hours": 4, "errors": []}
    await admin.data(RULE, input={"name": "Partners", "kind": "PARTNER", "position": 1})
    lead = await _create(
        admin,
        companyName="Sigma Robotics",
        interests=["robotics"],
        territoryId=gid("Territory", world.territories["East"].id),
    )
    due = datetime.fromisoformat((await admin.data(OFFER, id=lead["id"]))["node"]["offerExpiresAt"])
    assert timedelta(hours=3, minutes=59) < due - datetime.now(UTC) <= timedelta(hours=4)


# Who sees which lead: L_r1b offered to dealer R1b (East), L_east assigned to am_east (East),
# L_west assigned to am_west (West), L_r1a found by dealer R1a itself.
VISIBLE_LEADS = {
    "admin": {"L_r1b", "L_east", "L_west", "L_r1a"},
    "director": {"L_r1b", "L_east", "L_west", "L_r1a"},
    "manager_east": {"L_r1b", "L_east"},  # territory East
    "am_east": {"L_east"},
    "am_west": {"L_west"},
    "channel_mgr": {"L_r1b", "L_r1a"},  # manages D1 and its dealers
    "channel_mgr2": set(),
    "d1_admin": {"L_r1b", "L_r1a"},
    "r1a_sales": {"L_r1a"},
    "r1b_sales": {"L_r1b"},
    "d2_admin": set(),
    "finance": set(),
    "specialist": set(),
}


@pytest.fixture(scope="module")
async def lead_world(sessions, client):  # type: ignore[no-untyped-def]
    world = await build_world(sessions)

    async def as_(key: str):  # type: ignore[no-untyped-def]
        return await caller_for(client, sessions, world.tenant_id, world.users[key].id)

    await _partner_network(world, as_)
    admin = await as_("admin")
    east, west = gid("Territory", world.territories["East"].id), gid("Territory", world.territories["West"].id)
    await admin.data(
        RULE,
        input={"name": "East partners", "kind": "PARTNER", "position": 1, "territoryId": east, "interest": "robotics"},
    )
    await admin.data(
        RULE,
        input={
            "name": "East desk",
            "kind": "INTERNAL",
            "position": 2,
            "territoryId": east,
            "userIds": [gid("User", world.users["am_east"].id)],
        },
    )
    await admin.data(
        RULE,
        input={
            "name": "West desk",
            "kind": "INTERNAL",
            "position": 3,
            "territoryId": west,
            "userIds": [gid("User", world.users["am_west"].id)],
        },
    )
    await _create(admin, companyName="L_r1b", interests=["robotics"], territoryId=east)
    await _create(admin, companyName="L_east", territoryId=east)
    await _create(admin, companyName="L_west", territoryId=west)
    await _create(await as_("r1a_sales"), companyName="L_r1a")
    return world


@pytest.mark.parametrize("role", sorted(VISIBLE_LEADS))
async def test_who_sees_which_lead(role, lead_world, client, sessions) -> None:  # type: ignore[no-untyped-def]
    caller = await caller_for(client, sessions, lead_world.tenant_id, lead_world.users[role].id)
    data = await caller.data(LIST)
    assert {e["node"]["companyName"] for e in data["leads"]["edges"]} == VISIBLE_LEADS[role]
    assert data["leads"]["totalCount"] == len(VISIBLE_LEADS[role])
