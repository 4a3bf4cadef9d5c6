"""Working a deal: tasks and their assignees, the buying centre, and competitors (internal-only)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.integration.graphql_client import gid

LOG = """
mutation($input: LogActivityInput!) {
  logActivity(input: $input) { activity { id subject assignee { email } isOverdue done } errors { field code message } }
}
"""
MY_TASKS = """
query($overdue: Boolean!) {
  myOpenTasks(first: 20, overdueOnly: $overdue) { totalCount edges { node { subject isOverdue opportunity { name } } } }
}
"""
COMPLETE = "mutation($id: ID!) { completeTask(id: $id) { activity { done } errors { field code message } } }"
CONTACT = """
mutation($input: CreateContactInput!) { createContact(input: $input) { contact { id } errors { field code } } }
"""
SET_MEMBER = """
mutation($input: SetBuyingCentreContactInput!) {
  setBuyingCentreContact(input: $input) {
    opportunity { buyingCentre { role attitude contact { lastName } } } errors { field code message }
  }
}
"""
REMOVE_MEMBER = """
mutation($input: RemoveBuyingCentreContactInput!) {
  removeBuyingCentreContact(input: $input) { opportunity { buyingCentre { role } } errors { field code } }
}
"""
SET_COMPETITOR = """
mutation($input: SetCompetitorInput!) {
  setOpportunityCompetitor(input: $input) { opportunity { competitors { name status notes } } errors { field code } }
}
"""
DEAL = "query($id: ID!) { node(id: $id) { ... on Opportunity { buyingCentre { role } competitors { name } } } }"


def _at(hours: int) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


async def test_tasks_with_assignees_open_and_overdue(world, as_) -> None:  # type: ignore[no-untyped-def]
    am = await as_("am_east")
    o1 = gid("Opportunity", world.opportunities["O1"].id)
    specialist = gid("User", world.users["specialist"].id)
    late = (
        await am.data(
            LOG,
            input={
                "kind": "TASK",
                "subject": "Send the sizing",
                "opportunityId": o1,
                "dueAt": _at(-24),
                "assigneeId": specialist,
            },
        )
    )["logActivity"]["activity"]
    await am.data(
        LOG,
        input={
            "kind": "TASK",
            "subject": "Book the demo",
            "opportunityId": o1,
            "dueAt": _at(48),
            "assigneeId": specialist,
        },
    )
    mine = await am.data(LOG, input={"kind": "TASK", "subject": "Call the CFO", "opportunityId": o1, "dueAt": _at(2)})
    assert mine["logActivity"]["activity"]["assignee"] == {"email": world.users["am_east"].email}
    assert late["isOverdue"] is True and late["done"] is False
    # The assignee's open tasks, soonest first, and the overdue ones
    tasks = await as_("specialist")
    data = (await tasks.data(MY_TASKS, overdue=False))["myOpenTasks"]
    assert [e["node"]["subject"] for e in data["edges"]] == ["Send the sizing", "Book the demo"]
    assert data["edges"][0]["node"]["opportunity"] == {"name": "O1"}
    overdue = (await tasks.data(MY_TASKS, overdue=True))["myOpenTasks"]
    assert [e["node"]["subject"] for e in overdue["edges"]] == ["Send the sizing"]
    # Done tasks leave the list
    assert (await tasks.data(COMPLETE, id=late["id"]))["completeTask"]["activity"] == {"done": True}
    assert (await tasks.data(MY_TASKS, overdue=True))["myOpenTasks"]["totalCount"] == 0
    # A task assigned to someone outside the deal reaches them, the deal stays hidden from them
    await am.data(
        LOG,
        input={
            "kind": "TASK",
            "subject": "Check stock",
            "opportunityId": o1,
            "dueAt": _at(5),
            "assigneeId": gid("User", world.users["am_west"].id),
        },
    )
    west = (await (await as_("am_west")).data(MY_TASKS, overdue=False))["myOpenTasks"]["edges"]
    assert [(e["node"]["subject"], e["node"]["opportunity"]) for e in west] == [("Check stock", None)]
    # Only tasks are completed; a task needs a due time
    meeting = await am.data(LOG, input={"kind": "MEETING", "subject": "Kick-off", "opportunityId": o1})
    payload = (await am.data(COMPLETE, id=meeting["logActivity"]["activity"]["id"]))["completeTask"]
    assert payload["errors"][0]["field"] == "id" and payload["errors"][0]["code"] == "INVALID"
    payload = (await am.data(LOG, input={"kind": "TASK", "subject": "No date", "opportunityId": o1}))["logActivity"]
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("dueAt", "REQUIRED")]


async def test_buying_centre(world, as_) -> None:  # type: ignore[no-untyped-def]
    am = await as_("am_east")
    o1 = gid("Opportunity", world.opportunities["O1"].id)
    contact = (
        await am.data(
            CONTACT,
            input={"accountId": gid("Account", world.accounts["A_east"].id), "firstName": "Lin", "lastName": "Zhao"},
        )
    )["createContact"]["contact"]["id"]
    member = {"opportunityId": o1, "contactId": contact, "role": "DECISION_MAKER", "attitude": "SUPPORTER"}
    data = (await am.data(SET_MEMBER, input=member))["setBuyingCentreContact"]
    assert data["opportunity"]["buyingCentre"] == [
        {"role": "DECISION_MAKER", "attitude": "SUPPORTER", "contact": {"lastName": "Zhao"}}
    ]
    data = (await am.data(SET_MEMBER, input=member | {"attitude": "SKEPTIC"}))["setBuyingCentreContact"]
    assert data["opportunity"]["buyingCentre"][0]["attitude"] == "SKEPTIC"
    # A contact of another account does not belong in this deal's buying centre
    admin = await as_("admin")
    other = (
        await admin.data(
            CONTACT, input={"accountId": gid("Account", world.accounts["A_west"].id), "firstName": "X", "lastName": "Y"}
        )
    )["createContact"]["contact"]["id"]
    data = (await am.data(SET_MEMBER, input=member | {"contactId": other}))["setBuyingCentreContact"]
    assert [(e["field"], e["code"]) for e in data["errors"]] in (
        [("contactId", "INVALID")],
        [("contactId", "NOT_FOUND")],
    )
    data = (await am.data(REMOVE_MEMBER, input={"opportunityId": o1, "contactId": contact}))[
        "removeBuyingCentreContact"
    ]
    assert data["opportunity"]["buyingCentre"] == []
    data = (await am.data(REMOVE_MEMBER, input={"opportunityId": o1, "contactId": contact}))[
        "removeBuyingCentreContact"
    ]
    assert data["errors"] == [{"field": "contactId", "code": "NOT_FOUND"}]


async def test_competitors_are_internal_only(world, as_) -> None:  # type: ignore[no-untyped-def]
    am = await as_("am_east")
    o3 = gid("Opportunity", world.opportunities["O3"].id)
    competitor = {"opportunityId": o3, "name": "Rival Automation", "status": "ACTIVE", "notes": "Cheaper drives"}
    data = (await am.data(SET_COMPETITOR, input=competitor))["setOpportunityCompetitor"]
    assert data["opportunity"]["competitors"] == [
        {"name": "Rival Automation", "status": "ACTIVE", "notes": "Cheaper drives"}
    ]
    data = (await am.data(SET_COMPETITOR, input=competitor | {"status": "ELIMINATED"}))["setOpportunityCompetitor"]
    assert data["opportunity"]["competitors"][0]["status"] == "ELIMINATED"
    # The distributor works O3 but never reads or writes its competitors
    partner = await as_("d1_admin")
    body = await partner(DEAL, id=o3)
    assert body["data"]["node"] == {"buyingCentre": [], "competitors": None}
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN" and "Rival" not in str(body)
    data = await partner.data(SET_COMPETITOR.replace(" competitors { name status notes } ", " id "), input=competitor)
    assert data["setOpportunityCompetitor"]["errors"] == [{"field": None, "code": "FORBIDDEN"}]


TEAM = """
mutation($input: AddTeamMemberInput!) { addOpportunityTeamMember(input: $input) { errors { field code message } } }
"""
SWAP = """
mutation($input: SwapTeamMemberInput!) { swapOpportunityTeamMember(input: $input) { errors { field code message } } }
"""
LINK = """
mutation($input: LinkPartnerInput!) { linkOpportunityPartner(input: $input) { errors { field code message } } }
"""


async def test_seats_and_links_a_deal_already_has_are_refused_each_with_its_own_code(world, as_) -> None:  # type: ignore[no-untyped-def]
    am = await as_("am_east")
    o1 = gid("Opportunity", world.opportunities["O1"].id)
    o3 = gid("Opportunity", world.opportunities["O3"].id)
    owner, specialist = gid("User", world.users["am_east"].id), gid("User", world.users["specialist"].id)
    seat = {"opportunityId": o1, "salesRole": "NEGOTIATOR", "access": "EDIT"}
    # Given O1, owned by am_east and with the specialist on its team, and O3, sourced by R1a
    # When the owner is seated, or the specialist seated again, or the seat handed to either
    owned = (await am.data(TEAM, input=seat | {"userId": owner}))["addOpportunityTeamMember"]["errors"]
    seated = (await am.data(TEAM, input=seat | {"userId": specialist}))["addOpportunityTeamMember"]["errors"]
    swap = {"opportunityId": o1, "outgoingUserId": specialist, "reason": "Hand-over"}
    to_owner = (await am.data(SWAP, input=swap | {"incomingUserId": owner}))["swapOpportunityTeamMember"]["errors"]
    # Then each refusal says which it is, and nothing changed
    assert [(e["field"], e["code"]) for e in owned] == [("userId", "DEAL_OWNER")]
    assert "ownership already gives full access" in owned[0]["message"]
    assert [(e["field"], e["code"]) for e in seated] == [("userId", "ALREADY_ON_TEAM")]
    assert [(e["field"], e["code"]) for e in to_owner] == [("incomingUserId", "DEAL_OWNER")]
    # And a partner already linked to a deal is not linked twice
    r1a = gid("Organization", world.orgs["R1a"].id)
    linked = await am.data(LINK, input={"opportunityId": o3, "organizationId": r1a, "role": "INFLUENCING"})
    errors = linked["linkOpportunityPartner"]["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [("organizationId", "PARTNER_ALREADY_LINKED")]


NEW_ACCOUNT = (
    "mutation($input: CreateAccountInput!) { createAccount(input: $input) { account { id } errors { code } } }"
)
HAND_OVER = """
mutation($input: UpdateAccountInput!) {
  updateAccount(input: $input) { account { id owner { email } } errors { field code message } }
}
"""
ACCOUNT = "query($id: ID!) { node(id: $id) { id } }"


async def test_a_change_that_moves_a_record_out_of_the_callers_sight_answers_no_record(world, as_) -> None:  # type: ignore[no-untyped-def]
    am_east, am_west = await as_("am_east"), await as_("am_west")
    created = (await am_east.data(NEW_ACCOUNT, input={"name": "Handed Over Ltd"}))["createAccount"]["account"]
    # When the account manager hands the account (with no deal of theirs) to a colleague
    data = await am_east.data(HAND_OVER, input={"id": created["id"], "ownerId": gid("User", world.users["am_west"].id)})
    # Then the change is made, and the payload shows what the caller may still see of it: nothing
    assert data["updateAccount"] == {"account": None, "errors": []}
    assert (await am_east.data(ACCOUNT, id=created["id"]))["node"] is None
    assert (await am_west.data(ACCOUNT, id=created["id"]))["node"] == {"id": created["id"]}
