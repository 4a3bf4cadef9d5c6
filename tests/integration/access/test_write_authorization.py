"""Write authorization, as tables of roles × records × operations: who may change a deal's owner, team and
partner links, move partners, pass stage gates; and what the new rules let people read and explain.

The world (tests/integration/world.py) is set up further by `seated`: r1a_sales holds an EDIT seat on O3
(am_east's deal, sourced by R1a) as the issue's partner rep did, the internal solution specialist a READ seat
on it, R2a (another distributor's dealer) is linked to it, and P1 is a deal r1a_sales opened and owns.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from api.graphql.relay import parse_global_id
from domain.channel.organizations import Organization
from tests.integration.graphql_client import Caller, caller_for, gid
from tests.integration.world import World, build_world

ERRORS = "errors { field code message }"
MUTATIONS = {
    "transfer": f"mutation($input: TransferOwnershipInput!) {{ transferOpportunityOwnership(input: $input) {{ {ERRORS} }} }}",
    "add": f"mutation($input: AddTeamMemberInput!) {{ addOpportunityTeamMember(input: $input) {{ {ERRORS} }} }}",
    "remove": f"mutation($input: RemoveTeamMemberInput!) {{ removeOpportunityTeamMember(input: $input) {{ {ERRORS} }} }}",
    "swap": f"mutation($input: SwapTeamMemberInput!) {{ swapOpportunityTeamMember(input: $input) {{ {ERRORS} }} }}",
    "link": f"mutation($input: LinkPartnerInput!) {{ linkOpportunityPartner(input: $input) {{ {ERRORS} }} }}",
    "unlink": f"mutation($input: UnlinkPartnerInput!) {{ unlinkOpportunityPartner(input: $input) {{ {ERRORS} }} }}",
}  # fmt: skip
ROOTS = {
    "transfer": "transferOpportunityOwnership", "add": "addOpportunityTeamMember",
    "remove": "removeOpportunityTeamMember", "swap": "swapOpportunityTeamMember",
    "link": "linkOpportunityPartner", "unlink": "unlinkOpportunityPartner",
}  # fmt: skip
WHO_WORKS_IT = """
query($id: ID!) { node(id: $id) { ... on Opportunity {
  owner { email } team { salesRole access user { email } } partners { role organization { name } } } } }
"""
NODE = "query($id: ID!) { node(id: $id) { id } }"
ADD_INPUT = {"salesRole": "PARTNER_REP", "access": "EDIT"}
CREATE = f"mutation($input: CreateOpportunityInput!) {{ createOpportunity(input: $input) {{ opportunity {{ id }} {ERRORS} }} }}"  # fmt: skip


@pytest.fixture
async def seated(world: World, as_) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Global ids of the deals, with O3's seats and links and the partner-owned P1 in place."""
    admin = await as_("admin")
    deals = {key: gid("Opportunity", opp.id) for key, opp in world.opportunities.items()}
    for user, role, access in (("r1a_sales", "PARTNER_REP", "EDIT"), ("specialist", "SOLUTION_SPECIALIST", "READ")):
        payload = await admin.data(MUTATIONS["add"], input={"opportunityId": deals["O3"], "userId": _user(world, user),
                                                            "salesRole": role, "access": access})  # fmt: skip
        assert payload["addOpportunityTeamMember"]["errors"] == []
    payload = await admin.data(MUTATIONS["link"], input={"opportunityId": deals["O3"], "organizationId":
                                                         _org(world, "R2a"), "role": "INFLUENCING"})  # fmt: skip
    assert payload["linkOpportunityPartner"]["errors"] == []
    created = await (await as_("r1a_sales")).data(CREATE, input={
        "accountId": gid("Account", world.accounts["A_r1a"].id), "name": "P1", "amount": "100", "currency": "USD",
        "closeDate": "2027-05-31"})  # fmt: skip
    deals["P1"] = created["createOpportunity"]["opportunity"]["id"]
    return deals


def _user(world: World, key: str) -> str:
    return gid("User", world.users[key].id)


def _org(world: World, key: str) -> str:
    return gid("Organization", world.orgs[key].id)


def _input(world: World, deals: dict[str, str], operation: str, target: tuple[str, ...]) -> dict[str, Any]:
    deal, *rest = target
    match operation:
        case "transfer":
            return {"id": deals[deal], "newOwnerId": _user(world, rest[0]), "reason": "Hand-over",
                    "keepPreviousOwnerOnTeam": False}  # fmt: skip
        case "add":
            return {"opportunityId": deals[deal], "userId": _user(world, rest[0]), **ADD_INPUT}
        case "remove":
            return {"opportunityId": deals[deal], "userId": _user(world, rest[0]), "reason": "Off the deal"}
        case "swap":
            return {"opportunityId": deals[deal], "outgoingUserId": _user(world, rest[0]),
                    "incomingUserId": _user(world, rest[1]), "reason": "Hand-over"}  # fmt: skip
        case "link":
            return {"opportunityId": deals[deal], "organizationId": _org(world, rest[0]), "role": "INFLUENCING"}
        case _:
            return {"opportunityId": deals[deal], "organizationId": _org(world, rest[0])}


OK = None
# (actor, operation, (deal, people or organizations...), the error (field, code) or OK)
TEAM_AND_OWNERSHIP = [
    # Ownership: a team seat (the issue's partner rep, or an internal specialist) never hands a deal over;
    # partners hand over only deals owned by their own organization's people, to their own organization's people.
    ("r1a_sales", "transfer", ("O3", "r1a_sales"), ("id", "FORBIDDEN")),
    ("r1a_admin", "transfer", ("O3", "r1a_admin"), ("id", "FORBIDDEN")),
    ("d1_admin", "transfer", ("O3", "d1_admin"), ("id", "FORBIDDEN")),
    ("d1_admin", "transfer", ("O6", "d1_manager"), ("id", "FORBIDDEN")),
    ("specialist", "transfer", ("O2", "specialist"), ("id", "FORBIDDEN")),
    ("channel_mgr", "transfer", ("O3", "am_west"), ("id", "FORBIDDEN")),
    ("am_west", "transfer", ("O3", "am_west"), ("id", "NOT_FOUND")),
    ("manager_east", "transfer", ("O2", "am_east"), ("id", "NOT_FOUND")),
    ("r1b_sales", "transfer", ("P1", "r1b_sales"), ("id", "NOT_FOUND")),
    ("d1_admin", "transfer", ("P1", "d1_admin"), ("id", "FORBIDDEN")),
    ("r1a_sales", "transfer", ("P1", "am_east"), ("newOwnerId", "NOT_FOUND")),
    ("r1a_sales", "transfer", ("P1", "r1a_admin"), OK),
    ("r1a_admin", "transfer", ("P1", "r1a_admin"), OK),
    ("am_east", "transfer", ("O3", "am_west"), OK),
    ("am_east", "transfer", ("O3", "r1a_sales"), OK),
    ("manager_east", "transfer", ("O1", "am_west"), OK),
    ("director", "transfer", ("O5", "am_east"), OK),
    ("admin", "transfer", ("P1", "am_east"), OK),
    # Seats: partners add, remove and swap their own organization's people only; someone they cannot see is
    # "not on the team" to them, as they cannot add such a person either.
    ("r1a_sales", "add", ("O3", "am_west"), ("userId", "NOT_FOUND")),
    ("d1_admin", "add", ("O3", "r1a_admin"), ("userId", "FORBIDDEN")),
    ("r1b_sales", "add", ("O3", "r1b_sales"), ("opportunityId", "NOT_FOUND")),
    ("channel_mgr", "add", ("O3", "am_west"), ("opportunityId", "FORBIDDEN")),
    ("r1a_sales", "add", ("O3", "r1a_admin"), OK),
    ("d1_admin", "add", ("O3", "d1_manager"), OK),
    ("am_east", "add", ("O3", "r1a_admin"), OK),
    ("r1a_sales", "remove", ("O3", "specialist"), ("userId", "NOT_FOUND")),
    ("d1_admin", "remove", ("O3", "specialist"), ("userId", "NOT_FOUND")),
    ("d1_admin", "remove", ("O3", "r1a_sales"), ("userId", "FORBIDDEN")),
    ("r1a_admin", "remove", ("O3", "r1a_sales"), OK),
    ("r1a_sales", "remove", ("O3", "r1a_sales"), OK),
    ("am_east", "remove", ("O3", "specialist"), OK),
    ("am_east", "remove", ("O3", "r1a_sales"), OK),
    ("r1a_sales", "swap", ("O3", "specialist", "r1a_admin"), ("outgoingUserId", "NOT_FOUND")),
    ("d1_admin", "swap", ("O3", "r1a_sales", "d1_manager"), ("outgoingUserId", "FORBIDDEN")),
    ("r1a_admin", "swap", ("O3", "r1a_sales", "am_east"), ("incomingUserId", "NOT_FOUND")),
    ("r1a_admin", "swap", ("O3", "r1a_sales", "r1a_admin"), OK),
    ("am_east", "swap", ("O3", "specialist", "am_west"), OK),
    # Partner links: partners link and unlink their own organization only; an organization they cannot see
    # is not linked, to them.
    ("d1_admin", "link", ("O3", "R1b"), ("organizationId", "FORBIDDEN")),
    ("r1a_admin", "link", ("O3", "D1"), ("organizationId", "NOT_FOUND")),
    ("d1_admin", "link", ("O3", "D1"), OK),
    ("am_east", "link", ("O3", "R1b"), OK),
    ("r1a_admin", "unlink", ("O3", "R2a"), ("organizationId", "NOT_FOUND")),
    ("d1_admin", "unlink", ("O3", "R1a"), ("organizationId", "FORBIDDEN")),
    ("r1a_admin", "unlink", ("O6", "D1"), ("opportunityId", "NOT_FOUND")),
    ("r1a_admin", "unlink", ("O3", "R1a"), OK),
    ("d1_admin", "unlink", ("O6", "D1"), OK),
    ("am_east", "unlink", ("O3", "R2a"), OK),
]


@pytest.mark.parametrize(("actor", "operation", "target", "refused"), TEAM_AND_OWNERSHIP)
async def test_who_may_change_who_works_a_deal(actor, operation, target, refused, world, seated, as_) -> None:  # type: ignore[no-untyped-def]
    # Given the deal as an admin sees who works it
    admin = await as_("admin")
    before = (await admin.data(WHO_WORKS_IT, id=seated[target[0]]))["node"]
    # When the actor changes its owner, team or partner links
    payload = (await (await as_(actor)).data(MUTATIONS[operation], input=_input(world, seated, operation, target)))[
        ROOTS[operation]
    ]
    after = (await admin.data(WHO_WORKS_IT, id=seated[target[0]]))["node"]
    # Then the change is made, or refused with the field at fault and nothing changed
    if refused is OK:
        assert payload["errors"] == [], payload
        assert after != before
    else:
        assert [(e["field"], e["code"]) for e in payload["errors"]] == [refused], payload
        assert after == before


async def test_the_partner_rep_of_the_issue_cannot_take_the_deal_nor_touch_internal_people(world, seated, as_) -> None:  # type: ignore[no-untyped-def]
    # Given a partner rep with an EDIT seat on a deal an account manager owns
    rep, owner = await as_("r1a_sales"), await as_("am_east")
    o3 = seated["O3"]
    # When it tries to take the deal without keeping the owner on the team
    payload = await rep.data(MUTATIONS["transfer"], input=_input(world, seated, "transfer", ("O3", "r1a_sales")))
    error = payload["transferOpportunityOwnership"]["errors"][0]
    # Then it is refused with a sentence saying why, and the owner still has the deal
    assert (error["field"], error["code"]) == ("id", "FORBIDDEN") and "hand" in error["message"]
    assert (await owner.data(NODE, id=o3))["node"] is not None
    # And the internal member it cannot see is not there for it, exactly like someone who is not on the team
    team = (await rep.data(WHO_WORKS_IT, id=o3))["node"]["team"]
    assert {(m["salesRole"], m["user"] is None) for m in team} == {
        ("PARTNER_REP", False),
        ("SOLUTION_SPECIALIST", True),
    }
    hidden = await rep.data(MUTATIONS["remove"], input=_input(world, seated, "remove", ("O3", "specialist")))
    nobody = await rep.data(MUTATIONS["remove"], input=_input(world, seated, "remove", ("O3", "am_west")))
    assert hidden["removeOpportunityTeamMember"]["errors"] == nobody["removeOpportunityTeamMember"]["errors"]


# (actor, account, owner of the new deal, the error or OK): naming another owner at creation places a person too
NEW_DEAL_OWNERS = [
    ("d1_admin", "A_east", "r1a_sales", ("ownerId", "FORBIDDEN")),  # a dealer's rep is not the distributor's own
    ("r1a_sales", "A_r1a", "am_east", ("ownerId", "NOT_FOUND")),
    ("d1_admin", "A_east", "d1_manager", OK),
    ("am_east", "A_east", "am_west", OK),
]


@pytest.mark.parametrize(("actor", "account", "owner", "refused"), NEW_DEAL_OWNERS)
async def test_who_may_name_the_owner_of_a_new_deal(actor, account, owner, refused, world, as_) -> None:  # type: ignore[no-untyped-def]
    deal = {"accountId": gid("Account", world.accounts[account].id), "name": "Owned by another", "amount": "10",
            "currency": "USD", "closeDate": "2027-05-31", "ownerId": _user(world, owner)}  # fmt: skip
    payload = (await (await as_(actor)).data(CREATE, input=deal))["createOpportunity"]
    if refused is OK:
        assert payload["errors"] == []
    else:
        assert [(e["field"], e["code"]) for e in payload["errors"]] == [refused]
        listed = await (await as_("admin")).data(
            '{ opportunities(filter: {search: "Owned by another"}) { totalCount } }'
        )
        assert listed["opportunities"]["totalCount"] == 0


MOVE = f"mutation($input: MoveOrganizationInput!) {{ moveOrganization(input: $input) {{ {ERRORS} }} }}"
PARENT = "query($id: ID!) { node(id: $id) { ... on Organization { parent { name } } } }"
ONBOARD = f"mutation($input: OnboardPartnerInput!) {{ onboardPartner(input: $input) {{ organization {{ id }} {ERRORS} }} }}"  # fmt: skip
UPDATE_PARTNER = f"mutation($input: UpdatePartnerInput!) {{ updatePartner(input: $input) {{ {ERRORS} }} }}"
OPPORTUNITY_NAMES = "{ opportunities(first: 100) { edges { node { name } } } }"

# (actor, partner moved, new parent, the error (field, code) or OK); channel_mgr manages D1 and D3, channel_mgr2 D2
MOVES = [
    ("channel_mgr", "R1a", "D2", ("newParentId", "FORBIDDEN")),  # the issue: under a distributor it does not manage
    ("channel_mgr", "R1a", "E", ("newParentId", "FORBIDDEN")),
    ("channel_mgr", "R2a", "D1", ("id", "FORBIDDEN")),  # a dealer it does not manage, into its own distributor
    ("channel_mgr2", "R2a", "D1", ("newParentId", "FORBIDDEN")),
    ("am_east", "R1a", "D2", ("id", "FORBIDDEN")),
    ("d1_admin", "R1a", "D3", (None, "FORBIDDEN")),
    ("channel_mgr", "R1a", "D3", OK),  # both ends its own
    ("admin", "R1a", "D2", OK),
]


@pytest.fixture
async def d3(world: World, as_) -> World:  # type: ignore[no-untyped-def]
    """A second distributor, D3, that channel_mgr onboards and manages."""
    payload = (await (await as_("channel_mgr")).data(ONBOARD, input={
        "name": "D3", "kind": "DISTRIBUTOR", "parentId": _org(world, "E"), "channelManagerId":
        _user(world, "channel_mgr")}))["onboardPartner"]  # fmt: skip
    assert payload["errors"] == []
    parsed = parse_global_id(payload["organization"]["id"])
    assert parsed is not None
    world.orgs["D3"] = Organization(tenant_id=world.tenant_id, id=parsed[1], name="D3")
    return world


@pytest.mark.parametrize(("actor", "partner", "parent", "refused"), MOVES)
async def test_moves_need_rights_over_both_ends(actor, partner, parent, refused, d3, as_) -> None:  # type: ignore[no-untyped-def]
    world = d3
    admin = await as_("admin")
    before = (await admin.data(PARENT, id=_org(world, partner)))["node"]["parent"]
    # When the actor moves the partner under the new parent
    payload = (await (await as_(actor)).data(MOVE, input={"id": _org(world, partner), "newParentId":
                                                          _org(world, parent), "reason": "Realignment"}))  # fmt: skip
    errors = payload["moveOrganization"]["errors"]
    after = (await admin.data(PARENT, id=_org(world, partner)))["node"]["parent"]
    # Then it moves only with rights over both ends, and a refused move leaves the tree as it was
    if refused is OK:
        assert errors == [] and after == {"name": world.orgs[parent].name}
    else:
        assert [(e["field"], e["code"]) for e in errors] == [refused], errors
        assert after == before


async def test_a_channel_manager_keeps_sight_of_the_partners_it_moves(d3, as_) -> None:  # type: ignore[no-untyped-def]
    world = d3
    channel = await as_("channel_mgr")
    payload = await channel.data(MOVE, input={"id": _org(world, "R1a"), "newParentId": _org(world, "D3"),
                                              "reason": "New distributor"})  # fmt: skip
    assert payload["moveOrganization"]["errors"] == []
    assert "O3" in {e["node"]["name"] for e in (await channel.data(OPPORTUNITY_NAMES))["opportunities"]["edges"]}
    # And it changes the partners it manages only
    own = await channel.data(UPDATE_PARTNER, input={"id": _org(world, "R1a"), "tier": "GOLD"})
    other = await channel.data(UPDATE_PARTNER, input={"id": _org(world, "R2a"), "tier": "GOLD"})
    assert own["updatePartner"]["errors"] == []
    assert [(e["field"], e["code"]) for e in other["updatePartner"]["errors"]] == [("id", "FORBIDDEN")]


SET_GATE = f"mutation($input: SetStageGateInput!) {{ setStageGate(input: $input) {{ {ERRORS} }} }}"
MOVE_STAGE = f"mutation($input: MoveOpportunityStageInput!) {{ moveOpportunityStage(input: $input) {{ {ERRORS} }} }}"
UPDATE = f"mutation($input: UpdateOpportunityInput!) {{ updateOpportunity(input: $input) {{ {ERRORS} }} }}"
STAGE = "query($id: ID!) { node(id: $id) { ... on Opportunity { stage } } }"
REQUEST = """
mutation($id: ID!, $stage: OpportunityStage!) {
  requestStageApproval(opportunityId: $id, stage: $stage) { approval { id } errors { field code } }
}
"""
DECIDE = f"mutation($input: DecideStageApprovalInput!) {{ decideStageApproval(input: $input) {{ {ERRORS} }} }}"
GATES = [
    {"stage": "SOLUTION", "requiredFields": ["decisionDate"], "requireDecisionMaker": False, "requiredTeamRoles": [],
     "requiresApproval": False},
    {"stage": "PROPOSAL", "requiredFields": ["budget"], "requireDecisionMaker": False, "requiredTeamRoles": [],
     "requiresApproval": True},
]  # fmt: skip
EVERY_GATE_UP_TO_PROPOSAL = [
    ("decisionDate", "STAGE_GATE_UNMET"),
    ("budget", "STAGE_GATE_UNMET"),
    ("approval", "APPROVAL_PENDING"),
]


@pytest.fixture
async def gated(world: World, as_) -> World:  # type: ignore[no-untyped-def]
    admin = await as_("admin")
    for gate in GATES:
        assert (await admin.data(SET_GATE, input=gate))["setStageGate"]["errors"] == []
    return world


# From QUALIFICATION, with gates on SOLUTION (decisionDate) and PROPOSAL (budget and a manager's approval)
STAGE_MOVES = [
    ("SOLUTION", {}, [("decisionDate", "STAGE_GATE_UNMET")]),
    ("PROPOSAL", {}, EVERY_GATE_UP_TO_PROPOSAL),
    ("NEGOTIATION", {}, EVERY_GATE_UP_TO_PROPOSAL),  # the issue: skipping PROPOSAL skipped its gate
    ("CLOSED_WON", {"reasonCode": "PRICE"}, EVERY_GATE_UP_TO_PROPOSAL),
    ("CLOSED_LOST", {"reasonCode": "PRICE"}, []),  # losing passes no open stage
]


@pytest.mark.parametrize(("stage", "extra", "unmet"), STAGE_MOVES)
async def test_passing_a_stage_meets_its_gate(stage, extra, unmet, gated, as_) -> None:  # type: ignore[no-untyped-def]
    world = gated
    am, o1 = await as_("am_east"), gid("Opportunity", world.opportunities["O1"].id)
    # When the owner moves O1 from QUALIFICATION straight to the stage
    errors = (await am.data(MOVE_STAGE, input={"id": o1, "stage": stage, **extra}))["moveOpportunityStage"]["errors"]
    # Then every requirement of every gate on the way is reported at once, and the deal stays put
    assert [(e["field"], e["code"]) for e in errors] == unmet
    if unmet:
        assert (await am.data(STAGE, id=o1))["node"]["stage"] == "QUALIFICATION"
    if stage == "NEGOTIATION":
        assert errors[0]["message"] == "decisionDate is required to pass SOLUTION on the way to NEGOTIATION."


# Creating on A_east in a stage: the gates of the stages after the first one, up to it, are met from the input
# or refused; what no input can meet (an approval) is reported on `stage`.
CREATIONS = [
    ("QUALIFICATION", {}, []),
    ("SOLUTION", {}, [("decisionDate", "STAGE_GATE_UNMET")]),
    ("SOLUTION", {"decisionDate": "2027-02-01"}, []),
    (
        "NEGOTIATION",
        {},
        [("decisionDate", "STAGE_GATE_UNMET"), ("budget", "STAGE_GATE_UNMET"), ("stage", "APPROVAL_PENDING")],
    ),
    ("NEGOTIATION", {"decisionDate": "2027-02-01", "budget": "5000"}, [("stage", "APPROVAL_PENDING")]),
    ("CLOSED_WON", {"decisionDate": "2027-02-01", "budget": "5000"}, [("stage", "APPROVAL_PENDING")]),
]


@pytest.mark.parametrize(("stage", "extra", "unmet"), CREATIONS)
async def test_creating_in_a_later_stage_meets_the_gates_before_it(stage, extra, unmet, gated, as_) -> None:  # type: ignore[no-untyped-def]
    world = gated
    am = await as_("am_east")
    deal = {"accountId": gid("Account", world.accounts["A_east"].id), "name": f"New in {stage}", "amount": "5000",
            "currency": "USD", "closeDate": "2027-06-30", "stage": stage, **extra}  # fmt: skip
    payload = (await am.data(CREATE, input=deal))["createOpportunity"]
    assert [(e["field"], e["code"]) for e in payload["errors"]] == unmet
    assert (payload["opportunity"] is None) is bool(unmet)
    if unmet and unmet[-1][0] == "stage":
        assert "PROPOSAL" in payload["errors"][-1]["message"] and "earlier stage" in payload["errors"][-1]["message"]
    listed = await am.data(
        "query($s: String) { opportunities(filter: {search: $s}) { totalCount } }", s=f"New in {stage}"
    )
    assert listed["opportunities"]["totalCount"] == (0 if unmet else 1)


async def test_a_deal_that_meets_every_gate_on_the_way_passes(gated, as_) -> None:  # type: ignore[no-untyped-def]
    world = gated
    am, manager = await as_("am_east"), await as_("manager_east")
    o1 = gid("Opportunity", world.opportunities["O1"].id)
    await am.data(UPDATE, input={"id": o1, "budget": "90000", "decisionDate": "2027-02-15"})
    # The approval is asked for the gated stage passed on the way, and decided by a manager of the deal
    approval = (await am.data(REQUEST, id=o1, stage="PROPOSAL"))["requestStageApproval"]["approval"]["id"]
    assert (await manager.data(DECIDE, input={"id": approval, "approve": True}))["decideStageApproval"]["errors"] == []
    payload = (await am.data(MOVE_STAGE, input={"id": o1, "stage": "NEGOTIATION"}))["moveOpportunityStage"]
    assert payload["errors"] == []
    assert (await am.data(STAGE, id=o1))["node"]["stage"] == "NEGOTIATION"


PENDING = """
{ pendingStageApprovals(first: 10) {
    totalCount edges { node { id stage status requestedBy { email } opportunity { name } } } } }
"""
# role -> the deals whose requested approvals wait on them (O1, O3: East, requested by am_east; O2: West, by am_west)
WAITING_ON = {
    "manager_east": {"O1", "O3"},
    "director": {"O1", "O2", "O3"},
    "admin": {"O1", "O2", "O3"},
    "am_east": set(),
    "am_west": set(),
    "specialist": set(),
    "finance": set(),
    "channel_mgr": set(),
    "d1_admin": set(),
    "r1a_sales": set(),
}


@pytest.mark.parametrize("role", sorted(WAITING_ON))
async def test_managers_list_the_approvals_waiting_on_them(role, gated, as_) -> None:  # type: ignore[no-untyped-def]
    world = gated
    for owner, deal in (("am_east", "O1"), ("am_east", "O3"), ("am_west", "O2")):
        requested = await (await as_(owner)).data(REQUEST, id=gid("Opportunity", world.opportunities[deal].id),
                                                  stage="PROPOSAL")  # fmt: skip
        assert requested["requestStageApproval"]["errors"] == []
    caller = await as_(role)
    pending = (await caller.data(PENDING))["pendingStageApprovals"]
    assert {e["node"]["opportunity"]["name"] for e in pending["edges"]} == WAITING_ON[role]
    assert pending["totalCount"] == len(WAITING_ON[role])
    assert {(e["node"]["stage"], e["node"]["status"]) for e in pending["edges"]} <= {("PROPOSAL", "REQUESTED")}
    if WAITING_ON[role]:
        # Once decided, an approval no longer waits
        first = pending["edges"][0]["node"]
        assert first["requestedBy"]["email"] in {world.users["am_east"].email, world.users["am_west"].email}
        decided = await caller.data(DECIDE, input={"id": first["id"], "approve": False, "reason": "Not yet"})
        assert decided["decideStageApproval"]["errors"] == []
        assert (await caller.data(PENDING))["pendingStageApprovals"]["totalCount"] == len(WAITING_ON[role]) - 1


RULE = f"mutation($input: SetTeamStageRuleInput!) {{ setTeamStageRule(input: $input) {{ {ERRORS} }} }}"
EXPLAIN = """
query($record: ID!, $user: ID) {
  explainAccess(recordId: $record, userId: $user) { canRead canEdit editableFieldGroups summary }
}
"""
# O2 is am_west's deal with the solution specialist on its team (EDIT); the rules let solution specialists
# change commercial terms in NEGOTIATION only, the details in SOLUTION and PROPOSAL only, and never move it.
SPECIALIST_RULES = [("NEGOTIATION", "COMMERCIAL", True), ("SOLUTION", "DETAILS", True), ("PROPOSAL", "DETAILS", True),
                    ("QUALIFICATION", "STAGE", False)]  # fmt: skip
# stage -> what the specialist may change there
SPECIALIST_MAY = {"QUALIFICATION": [], "SOLUTION": ["DETAILS"], "PROPOSAL": ["DETAILS"], "NEGOTIATION": ["COMMERCIAL"]}
ATTEMPTS = {
    "COMMERCIAL": lambda o2: (UPDATE, {"id": o2, "amount": "1234"}, "updateOpportunity"),
    "DETAILS": lambda o2: (UPDATE, {"id": o2, "name": "O2"}, "updateOpportunity"),
    "STAGE": lambda o2: (MOVE_STAGE, {"id": o2, "stage": "CLOSED_LOST", "reasonCode": "PRICE"}, "moveOpportunityStage"),
}  # fmt: skip


@pytest.mark.parametrize("stage", sorted(SPECIALIST_MAY))
async def test_explain_access_says_what_the_team_stage_rules_allow(stage, world, as_) -> None:  # type: ignore[no-untyped-def]
    admin = await as_("admin")
    for at, group, can in SPECIALIST_RULES:
        cell = {"salesRole": "SOLUTION_SPECIALIST", "stage": at, "fieldGroup": group, "canEdit": can}
        assert (await admin.data(RULE, input=cell))["setTeamStageRule"]["errors"] == []
    o2 = gid("Opportunity", world.opportunities["O2"].id)
    order = ["QUALIFICATION", "SOLUTION", "PROPOSAL", "NEGOTIATION"]
    for step in order[1 : order.index(stage) + 1]:
        assert (await admin.data(MOVE_STAGE, input={"id": o2, "stage": step}))["moveOpportunityStage"]["errors"] == []
    # When the specialist asks what it may do to O2 in this stage
    specialist = await as_("specialist")
    explained = (await specialist.data(EXPLAIN, record=o2))["explainAccess"]
    # Then it hears exactly what the rules leave it, and "can edit" only when that is something
    assert explained["editableFieldGroups"] == SPECIALIST_MAY[stage]
    assert explained["canRead"] is True and explained["canEdit"] is bool(SPECIALIST_MAY[stage])
    assert (
        "team stage rules" in explained["summary"]
        and f"solution_specialist on its team while it is in {stage}" in (explained["summary"])
    )
    # And the explanation agrees with what it is then allowed to do
    for group, attempt in ATTEMPTS.items():
        query, input_, root = attempt(o2)
        errors = (await specialist.data(query, input=input_))[root]["errors"]
        assert (errors == []) is (group in SPECIALIST_MAY[stage]), (group, errors)
    # The owner is never bound by the rules
    owner = (await admin.data(EXPLAIN, record=o2, user=_user(world, "am_west")))["explainAccess"]
    assert owner["canEdit"] and owner["editableFieldGroups"] == ["COMMERCIAL", "DETAILS", "STAGE"]
    assert owner["summary"] == "Can see and edit it."


async def test_explain_access_knows_partners_only_read_closed_deals(world, as_) -> None:  # type: ignore[no-untyped-def]
    o3 = gid("Opportunity", world.opportunities["O3"].id)
    partner = await as_("d1_admin")
    assert (await partner.data(EXPLAIN, record=o3))["explainAccess"]["canEdit"] is True
    won = await (await as_("am_east")).data(MOVE_STAGE, input={"id": o3, "stage": "CLOSED_WON", "reasonCode": "PRICE"})
    assert won["moveOpportunityStage"]["errors"] == []
    explained = (await partner.data(EXPLAIN, record=o3))["explainAccess"]
    assert (explained["canRead"], explained["canEdit"], explained["editableFieldGroups"]) == (True, False, [])
    assert "closed" in explained["summary"]


ACCOUNT = "query($id: ID!) { node(id: $id) { ... on Account { name contacts(first: 10) { totalCount } } } }"
CONTACT = "mutation($input: CreateContactInput!) { createContact(input: $input) { contact { id } } }"
LOG = "mutation($input: LogActivityInput!) { logActivity(input: $input) { activity { id } } }"
TIMELINE = "query($id: ID!) { node(id: $id) { ... on Opportunity { activities(first: 5) { totalCount } } } }"
RENAME_ACCOUNT = f"mutation($input: UpdateAccountInput!) {{ updateAccount(input: $input) {{ {ERRORS} }} }}"
ACCOUNT_DEALS = "query($id: ID!) { node(id: $id) { ... on Account { opportunities(first: 10) { totalCount } } } }"

# (who hands over, the deal, its new owner, its account: one the new owner could not see before)
HAND_OVERS = [
    ("am_east", "O1", "am_west", "A_east"),
    ("am_west", "O5", "r1a_sales", "A_west"),
    ("admin", "O6", "am_west", "A_east"),
]


@pytest.mark.parametrize(("giver", "deal", "new_owner", "account"), HAND_OVERS)
async def test_a_new_owner_sees_the_deals_account_contacts_and_timeline(giver, deal, new_owner, account, world,
                                                                        as_) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    # Given an account with a contact, a deal on it with an activity, and a user who cannot see the account
    giver_, receiver = await as_(giver), await as_(new_owner)
    account_id, deal_id = gid("Account", world.accounts[account].id), gid("Opportunity", world.opportunities[deal].id)
    admin = await as_("admin")
    contact = (await admin.data(CONTACT, input={"accountId": account_id, "firstName": "Mei", "lastName": "Lin"}))[
        "createContact"
    ]["contact"]["id"]
    assert (await admin.data(LOG, input={"kind": "CALL", "subject": "Intro", "opportunityId": deal_id}))["logActivity"]
    assert (await receiver.data(ACCOUNT, id=account_id))["node"] is None
    # When the deal is handed to them
    payload = await giver_.data(MUTATIONS["transfer"], input={"id": deal_id, "newOwnerId": _user(world, new_owner),
                                                              "reason": "Territory realignment"})  # fmt: skip
    assert payload["transferOpportunityOwnership"]["errors"] == []
    # Then they see the account, its contacts and the deal's timeline
    seen_account = (await receiver.data(ACCOUNT, id=account_id))["node"]
    assert seen_account["name"] == world.accounts[account].name and seen_account["contacts"]["totalCount"] == 1
    assert (await receiver.data(NODE, id=contact))["node"] is not None
    assert (await receiver.data(TIMELINE, id=deal_id))["node"]["activities"]["totalCount"] == 1
    # But owning one deal does not open the account's other deals, nor let them change the account
    assert (await receiver.data(ACCOUNT_DEALS, id=account_id))["node"]["opportunities"]["totalCount"] == 1
    renamed = await receiver.data(RENAME_ACCOUNT, input={"id": account_id, "name": "Renamed"})
    assert [e["code"] for e in renamed["updateAccount"]["errors"]] == ["FORBIDDEN"]


CLOSE_FIELDS = "query($id: ID!) { node(id: $id) { ... on Opportunity { stage closeReasonCode closeReason lostToCompetitor } } }"  # fmt: skip
CLOSE_FIELDS_LIST = "{ opportunities(first: 20) { edges { node { name closeReasonCode closeReason } } } }"
PARTNERS = ["d1_admin", "d1_manager", "r1a_admin", "r1a_sales"]
INTERNAL = ["admin", "am_east", "manager_east", "finance", "channel_mgr"]


@pytest.fixture(scope="module")
async def lost_world(sessions, client) -> World:  # type: ignore[no-untyped-def]
    """O3 lost to a competitor, with a closing note naming price."""
    world = await build_world(sessions)
    am = await caller_for(client, sessions, world.tenant_id, world.users["am_east"].id)
    lost = await am.data(MOVE_STAGE, input={"id": gid("Opportunity", world.opportunities["O3"].id),
                                            "stage": "CLOSED_LOST", "reasonCode": "COMPETITOR",
                                            "competitor": "Rival Automation", "reason": "Rival was 20% cheaper"})  # fmt: skip
    assert lost["moveOpportunityStage"]["errors"] == []
    return world


async def _as(world: World, client, sessions, key: str) -> Caller:  # type: ignore[no-untyped-def]
    return await caller_for(client, sessions, world.tenant_id, world.users[key].id)


@pytest.mark.parametrize("role", PARTNERS + INTERNAL)
async def test_why_a_deal_closed_is_internal(role, lost_world, client, sessions) -> None:  # type: ignore[no-untyped-def]
    caller = await _as(lost_world, client, sessions, role)
    body = await caller(CLOSE_FIELDS, id=gid("Opportunity", lost_world.opportunities["O3"].id))
    node = body["data"]["node"]
    if role in INTERNAL:
        assert not body.get("errors")
        assert node == {"stage": "CLOSED_LOST", "closeReasonCode": "COMPETITOR", "closeReason": "Rival was 20% cheaper",
                        "lostToCompetitor": "Rival Automation"}  # fmt: skip
        return
    # A partner sees that the deal was lost, never why: the three fields are refused alike
    assert node == {"stage": "CLOSED_LOST", "closeReasonCode": None, "closeReason": None, "lostToCompetitor": None}
    assert sorted(e["path"][-1] for e in body["errors"]) == ["closeReason", "closeReasonCode", "lostToCompetitor"]
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}
    listed = await caller(CLOSE_FIELDS_LIST)
    assert "COMPETITOR" not in str(listed) and "cheaper" not in str(listed) and "Rival" not in str(listed)


SLICED = {
    "forecast": """query($t: ID, $p: ID, $l: ID) { forecast(periodStart: "2027-01-01", periodEnd: "2027-12-31",
        currency: "USD", territoryId: $t, partnerOrganizationId: $p, pipelineId: $l) { currency } }""",
    "funnel": """query($t: ID, $p: ID, $l: ID) { funnel(periodStart: "2027-01-01", periodEnd: "2027-12-31",
        currency: "USD", territoryId: $t, partnerOrganizationId: $p, pipelineId: $l) { currency } }""",
    "leaderboard": """query($t: ID, $p: ID, $l: ID) { leaderboard(periodStart: "2027-01-01", periodEnd: "2027-12-31",
        currency: "USD", territoryId: $t, partnerOrganizationId: $p, pipelineId: $l) { wonCount } }""",
    "receivables": """query($a: ID, $p: ID, $o: ID, $c: ID) {
        receivables(accountId: $a, partnerId: $p, orderId: $o, contractId: $c) { due { amount } } }""",
}
ABSENT = uuid.uuid4()
# (viewer, query, argument variable, (type, world key or None for an id that names nothing), the error field or OK)
SLICES = [
    ("r1a_sales", "forecast", "p", ("Organization", "D1"), "partnerOrganizationId"),
    ("r1a_sales", "forecast", "p", ("Organization", "R1b"), "partnerOrganizationId"),
    ("r1a_sales", "forecast", "p", ("Organization", "R1a"), OK),
    ("d1_admin", "funnel", "p", ("Organization", "D2"), "partnerOrganizationId"),
    ("d1_admin", "funnel", "p", ("Organization", "R1b"), OK),
    ("d2_admin", "leaderboard", "p", ("Organization", "R1a"), "partnerOrganizationId"),
    ("channel_mgr", "forecast", "p", ("Organization", "D2"), OK),
    ("d1_admin", "forecast", "t", ("Territory", "East"), "territoryId"),
    ("am_east", "funnel", "t", ("Territory", "West"), OK),
    ("am_east", "leaderboard", "l", ("Pipeline", None), "pipelineId"),
    ("r1a_sales", "receivables", "a", ("Account", "A_west"), "accountId"),
    ("r1a_sales", "receivables", "a", ("Account", "A_r1a"), OK),
    ("d1_admin", "receivables", "p", ("Organization", "D2"), "partnerId"),
    ("d1_admin", "receivables", "p", ("Organization", "R1a"), OK),
    ("am_east", "receivables", "o", ("Order", None), "orderId"),
    ("am_east", "receivables", "c", ("Contract", None), "contractId"),
]


@pytest.fixture(scope="module")
async def slice_world(sessions) -> World:  # type: ignore[no-untyped-def]
    return await build_world(sessions)


@pytest.mark.parametrize(("role", "query", "variable", "ref", "bad_field"), SLICES)
async def test_slices_name_only_what_the_viewer_can_see(role, query, variable, ref, bad_field, slice_world, client,
                                                        sessions) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    world = slice_world
    type_name, key = ref
    records = {"Organization": world.orgs, "Territory": world.territories, "Account": world.accounts}
    record_id = ABSENT if key is None else records[type_name][key].id
    # When the viewer narrows the figures to a record
    body = await (await _as(world, client, sessions, role))(SLICED[query], **{variable: gid(type_name, record_id)})
    # Then a record it cannot see is not found, as any reference would be, and no figure comes back
    if bad_field is OK:
        assert not body.get("errors"), body
    else:
        assert [e["extensions"] for e in body["errors"]] == [{"code": "NOT_FOUND", "field": bad_field}], body
        assert body["data"] is None
