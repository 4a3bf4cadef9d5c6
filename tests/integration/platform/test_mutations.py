"""The mutations of the foundation, through the API: each works, is audited, and reports bad input by field."""

from __future__ import annotations

from sqlalchemy import func, select

from domain.audit.trail import AuditEvent
from tests.integration.graphql_client import gid
from tests.reads import read_for_test

CREATE_ACCOUNT = """
mutation($input: CreateAccountInput!) {
  createAccount(input: $input) {
    account { id name normalizedName taxId webDomain owner { email } managingPartner { name } }
    errors { field code message }
  }
}
"""
UPDATE_ACCOUNT = """
mutation($input: UpdateAccountInput!) {
  updateAccount(input: $input) { account { id name industry owner { email } } errors { field code message } }
}
"""
CREATE_CONTACT = """
mutation($input: CreateContactInput!) {
  createContact(input: $input) { contact { id firstName email buyingRole account { name } } errors { field code message } }
}
"""
UPDATE_CONTACT = """
mutation($input: UpdateContactInput!) {
  updateContact(input: $input) { contact { id title buyingRole } errors { field code message } }
}
"""
CREATE_OPPORTUNITY = """
mutation($input: CreateOpportunityInput!) {
  createOpportunity(input: $input) {
    opportunity { id name stage probability amount { amount currency } owner { email } partners { role organization { name } } }
    errors { field code message }
  }
}
"""
UPDATE_OPPORTUNITY = """
mutation($input: UpdateOpportunityInput!) {
  updateOpportunity(input: $input) { opportunity { id name amount { amount currency } margin } errors { field code message } }
}
"""
MOVE_STAGE = """
mutation($input: MoveOpportunityStageInput!) {
  moveOpportunityStage(input: $input) { opportunity { stage probability forecastCategory } errors { field code message } }
}
"""
ADD_MEMBER = """
mutation($input: AddTeamMemberInput!) {
  addOpportunityTeamMember(input: $input) {
    opportunity { team { salesRole access user { email } } } errors { field code message }
  }
}
"""
REMOVE_MEMBER = """
mutation($input: RemoveTeamMemberInput!) {
  removeOpportunityTeamMember(input: $input) { opportunity { team { user { email } } } errors { field code message } }
}
"""
TRANSFER = """
mutation($input: TransferOwnershipInput!) {
  transferOpportunityOwnership(input: $input) {
    opportunity { owner { email } team { access user { email } } } errors { field code message }
  }
}
"""
LINK = """
mutation($input: LinkPartnerInput!) {
  linkOpportunityPartner(input: $input) { opportunity { partners { role organization { name } } } errors { field code message } }
}
"""
UNLINK = """
mutation($input: UnlinkPartnerInput!) {
  unlinkOpportunityPartner(input: $input) { opportunity { partners { role } } errors { field code message } }
}
"""
LOG_ACTIVITY = """
mutation($input: LogActivityInput!) {
  logActivity(input: $input) { activity { id kind subject done opportunity { name } account { name } } errors { field code message } }
}
"""
AUDIT = """
query($id: ID!) {
  auditEvents(recordId: $id, first: 50) {
    totalCount edges { node { action actorName changes reason } }
  }
}
"""
TIMELINE = """
query($id: ID!) {
  node(id: $id) { ... on Opportunity { activities(first: 5) { totalCount edges { node { subject } } } } }
}
"""


async def _audit_count(sessions) -> int:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return (await session.execute(read_for_test(select(func.count()).select_from(AuditEvent)))).scalar_one()


async def test_account_and_contact_lifecycle_is_audited(world, as_, sessions) -> None:  # type: ignore[no-untyped-def]
    am = await as_("am_east")
    # When an account manager creates an account with messy input
    data = await am.data(CREATE_ACCOUNT, input={"name": "  ACME, Inc. ", "taxId": "91350100m000100y43",
                                                "webDomain": "https://www.Acme.example/"})  # fmt: skip
    account = data["createAccount"]["account"]
    # Then it is cleaned, owned by them, and its creation is in the audit trail
    assert data["createAccount"]["errors"] == []
    assert (account["name"], account["normalizedName"]) == ("ACME, Inc.", "acme")
    assert (account["taxId"], account["webDomain"]) == ("91350100M000100Y43", "acme.example")
    assert account["owner"]["email"] == world.users["am_east"].email
    # When they change it and add a contact
    data = await am.data(UPDATE_ACCOUNT, input={"id": account["id"], "industry": "Manufacturing"})
    assert data["updateAccount"]["account"]["industry"] == "Manufacturing"
    data = await am.data(CREATE_CONTACT, input={"accountId": account["id"], "firstName": "Li", "lastName": "Wei",
                                                "email": "Li.Wei@Acme.example", "buyingRole": "DECISION_MAKER"})  # fmt: skip
    contact = data["createContact"]["contact"]
    assert (contact["email"], contact["buyingRole"]) == ("li.wei@acme.example", "DECISION_MAKER")
    data = await am.data(UPDATE_CONTACT, input={"id": contact["id"], "title": "CIO", "buyingRole": "CHAMPION"})
    assert data["updateContact"]["contact"] == {"id": contact["id"], "title": "CIO", "buyingRole": "CHAMPION"}
    # Then the account's audit trail has old and new values
    events = (await am.data(AUDIT, id=account["id"]))["auditEvents"]["edges"]
    actions = [e["node"]["action"] for e in events]
    assert actions == ["updated", "created"]
    assert events[0]["node"]["changes"] == {"industry": {"old": None, "new": "Manufacturing"}}
    assert events[0]["node"]["actorName"] == world.users["am_east"].email
    contact_events = (await am.data(AUDIT, id=contact["id"]))["auditEvents"]["edges"]
    assert contact_events[0]["node"]["changes"]["title"] == {"old": None, "new": "CIO"}


async def test_opportunity_journey_through_every_mutation(world, as_) -> None:  # type: ignore[no-untyped-def]
    am = await as_("am_east")
    account_id = gid("Account", world.accounts["A_east"].id)
    # Create
    data = await am.data(CREATE_OPPORTUNITY, input={"accountId": account_id, "name": "Plant upgrade",
                                                    "amount": "250000.00", "currency": "eur", "closeDate": "2027-06-30",
                                                    "margin": "0.2200"})  # fmt: skip
    assert data["createOpportunity"]["errors"] == []
    opp = data["createOpportunity"]["opportunity"]
    assert opp["stage"] == "PROSPECTING" and opp["probability"] == 10
    assert opp["amount"] == {"amount": "250000.00", "currency": "EUR"}
    # Update
    data = await am.data(UPDATE_OPPORTUNITY, input={"id": opp["id"], "amount": "275000.50", "margin": "0.25"})
    assert data["updateOpportunity"]["opportunity"]["amount"]["amount"] == "275000.50"
    assert data["updateOpportunity"]["opportunity"]["margin"] == "0.2500"
    # Move stage
    data = await am.data(MOVE_STAGE, input={"id": opp["id"], "stage": "NEGOTIATION"})
    assert data["moveOpportunityStage"]["opportunity"] == {"stage": "NEGOTIATION", "probability": 80,
                                                           "forecastCategory": "COMMIT"}  # fmt: skip
    # Team: add, duplicate refused, remove
    specialist_id = gid("User", world.users["specialist"].id)
    member = {"opportunityId": opp["id"], "userId": specialist_id, "salesRole": "SOLUTION_SPECIALIST", "access": "EDIT"}
    data = await am.data(ADD_MEMBER, input=member)
    assert data["addOpportunityTeamMember"]["opportunity"]["team"] == [
        {"salesRole": "SOLUTION_SPECIALIST", "access": "EDIT", "user": {"email": world.users["specialist"].email}}
    ]
    data = await am.data(ADD_MEMBER, input=member)
    assert data["addOpportunityTeamMember"]["errors"][0] | {"message": ""} == {"field": "userId", "code": "ALREADY_ON_TEAM",
                                                                               "message": ""}  # fmt: skip
    data = await am.data(REMOVE_MEMBER, input={"opportunityId": opp["id"], "userId": specialist_id, "reason": "done"})
    assert data["removeOpportunityTeamMember"]["opportunity"]["team"] == []
    # Partner link and unlink
    d1 = gid("Organization", world.orgs["D1"].id)
    data = await am.data(LINK, input={"opportunityId": opp["id"], "organizationId": d1, "role": "INFLUENCING"})
    assert data["linkOpportunityPartner"]["opportunity"]["partners"] == [
        {"role": "INFLUENCING", "organization": {"name": world.orgs["D1"].name}}
    ]
    data = await am.data(UNLINK, input={"opportunityId": opp["id"], "organizationId": d1})
    assert data["unlinkOpportunityPartner"]["opportunity"]["partners"] == []
    # Activity on the timeline
    data = await am.data(LOG_ACTIVITY, input={"kind": "MEETING", "subject": "Kick-off", "opportunityId": opp["id"]})
    assert data["logActivity"]["activity"]["opportunity"]["name"] == "Plant upgrade"
    assert data["logActivity"]["activity"]["account"]["name"] == world.accounts["A_east"].name
    timeline = (await am.data(TIMELINE, id=opp["id"]))["node"]["activities"]
    assert timeline["totalCount"] == 1 and timeline["edges"][0]["node"]["subject"] == "Kick-off"
    # Transfer ownership, keeping the previous owner on the team read-only
    data = await am.data(TRANSFER, input={"id": opp["id"], "newOwnerId": gid("User", world.users["am_west"].id),
                                          "reason": "Territory realignment", "keepPreviousOwnerOnTeam": True})  # fmt: skip
    moved = data["transferOpportunityOwnership"]["opportunity"]
    assert moved["owner"]["email"] == world.users["am_west"].email
    assert moved["team"] == [{"access": "READ", "user": {"email": world.users["am_east"].email}}]
    # And every step is in the audit trail, newest first, with reasons where given
    events = [e["node"] for e in (await am.data(AUDIT, id=opp["id"]))["auditEvents"]["edges"]]
    assert [e["action"] for e in events] == [
        "ownership_transferred", "partner_unlinked", "partner_linked", "team_member_removed", "team_member_added",
        "stage_moved", "updated", "created",
    ]  # fmt: skip
    assert events[0]["reason"] == "Territory realignment"
    assert events[0]["changes"]["ownerId"] == {"old": gid("User", world.users["am_east"].id),
                                               "new": gid("User", world.users["am_west"].id)}  # fmt: skip
    assert events[5]["changes"]["stage"] == {"old": "PROSPECTING", "new": "NEGOTIATION"}
    assert events[6]["changes"]["amount"] == {"old": "250000.00", "new": "275000.50"}


async def test_handing_over_without_keeping_access_leaves_nothing_in_the_payload(world, as_) -> None:  # type: ignore[no-untyped-def]
    # Given the east account manager's own deal O1
    am = await as_("am_east")
    data = await am.data(TRANSFER, input={"id": gid("Opportunity", world.opportunities["O1"].id),
                                          "newOwnerId": gid("User", world.users["am_west"].id), "reason": "Leaving"})  # fmt: skip
    # Then the hand-over succeeds and, no longer theirs, it is out of their sight
    assert data["transferOpportunityOwnership"] == {"opportunity": None, "errors": []}
    node = "query($id: ID!) { node(id: $id) { id } }"
    assert (await am.data(node, id=gid("Opportunity", world.opportunities["O1"].id)))["node"] is None
    assert (await (await as_("am_west")).data(node, id=gid("Opportunity", world.opportunities["O1"].id)))["node"]


async def test_partner_created_deal_is_linked_to_its_organization(world, as_) -> None:  # type: ignore[no-untyped-def]
    # Given a dealer's sales user who can see A_east through O3
    dealer = await as_("r1a_sales")
    data = await dealer.data(CREATE_OPPORTUNITY, input={"accountId": gid("Account", world.accounts["A_east"].id),
                                                        "name": "Dealer deal", "amount": "5000", "currency": "USD",
                                                        "closeDate": "2027-01-31"})  # fmt: skip
    opp = data["createOpportunity"]["opportunity"]
    # Then the deal is theirs and sourced by their dealer, so the distributor above sees it and the sibling does not
    assert opp["owner"] == {"email": world.users["r1a_sales"].email}
    assert opp["partners"] == [{"role": "SOURCING", "organization": {"name": world.orgs["R1a"].name}}]
    node = "query($id: ID!) { node(id: $id) { id } }"
    assert (await (await as_("d1_admin")).data(node, id=opp["id"]))["node"] is not None
    assert (await (await as_("r1b_sales")).data(node, id=opp["id"]))["node"] is None


async def test_partner_cannot_set_internal_fields(world, as_, sessions) -> None:  # type: ignore[no-untyped-def]
    before = await _audit_count(sessions)
    d1 = await as_("d1_admin")
    data = await d1.data(UPDATE_OPPORTUNITY.replace(" margin }", " }"),
                         input={"id": gid("Opportunity", world.opportunities["O3"].id), "margin": "0.9"})  # fmt: skip
    assert [(e["field"], e["code"]) for e in data["updateOpportunity"]["errors"]] == [("margin", "FORBIDDEN")]
    assert await _audit_count(sessions) == before


SWAP = """
mutation($input: SwapTeamMemberInput!) {
  swapOpportunityTeamMember(input: $input) { opportunity { team { salesRole access user { email } } } errors { field code } }
}
"""


async def test_swapping_a_team_seat(world, as_) -> None:  # type: ignore[no-untyped-def]
    # Given O1 worked by the solution specialist (read access), owned by am_east
    am = await as_("am_east")
    o1 = gid("Opportunity", world.opportunities["O1"].id)
    seat = {"opportunityId": o1, "outgoingUserId": gid("User", world.users["specialist"].id),
            "incomingUserId": gid("User", world.users["am_west"].id), "reason": "Specialist moved to another region"}  # fmt: skip
    # When the seat is handed to am_west
    payload = (await am.data(SWAP, input=seat))["swapOpportunityTeamMember"]
    # Then am_west holds the same role and access, the specialist is gone, and one audited event says why
    assert payload["opportunity"]["team"] == [
        {"salesRole": "SOLUTION_SPECIALIST", "access": "READ", "user": {"email": world.users["am_west"].email}}
    ]
    event = (await am.data(AUDIT, id=o1))["auditEvents"]["edges"][0]["node"]
    assert (event["action"], event["reason"]) == ("team_member_swapped", "Specialist moved to another region")
    node = "query($id: ID!) { node(id: $id) { id } }"
    assert (await (await as_("specialist")).data(node, id=o1))["node"] is None
    # A seat cannot go to someone already on the deal, and needs a reason
    again = (await am.data(SWAP, input=seat | {"outgoingUserId": seat["incomingUserId"], "incomingUserId":
                                               gid("User", world.users["am_east"].id)}))["swapOpportunityTeamMember"]  # fmt: skip
    assert again["errors"] == [{"field": "incomingUserId", "code": "DEAL_OWNER"}]
    blank = (await am.data(SWAP, input=seat | {"reason": " "}))["swapOpportunityTeamMember"]
    assert blank["errors"] == [{"field": "reason", "code": "REQUIRED"}]
