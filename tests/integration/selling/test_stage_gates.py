"""Stage gates: every unmet requirement at once, approvals by managers, reasons to go back and to close."""

from __future__ import annotations

from tests.integration.graphql_client import gid

SET_GATE = """
mutation($input: SetStageGateInput!) {
  setStageGate(input: $input) {
    gate { stage requiredFields requireDecisionMaker requiredTeamRoles requiresApproval } errors { field code message }
  }
}
"""
GATES = "{ stageGates { stage requiredFields requiresApproval } }"
MOVE = """
mutation($input: MoveOpportunityStageInput!) {
  moveOpportunityStage(input: $input) {
    opportunity { stage probability closeReasonCode closeReason lostToCompetitor competitors { name status } }
    errors { field code message }
  }
}
"""
UPDATE = """
mutation($input: UpdateOpportunityInput!) { updateOpportunity(input: $input) { errors { field code } } }
"""
CONTACT = "mutation($input: CreateContactInput!) { createContact(input: $input) { contact { id } } }"
MEMBER = """
mutation($input: SetBuyingCentreContactInput!) { setBuyingCentreContact(input: $input) { errors { field code } } }
"""
TEAM = "mutation($input: AddTeamMemberInput!) { addOpportunityTeamMember(input: $input) { errors { field code } } }"
REQUEST = """
mutation($id: ID!, $stage: OpportunityStage!) {
  requestStageApproval(opportunityId: $id, stage: $stage) { approval { id stage status } errors { field code } }
}
"""
DECIDE = """
mutation($input: DecideStageApprovalInput!) {
  decideStageApproval(input: $input) { approval { status reason } errors { field code } }
}
"""
STAGE = "query($id: ID!) { node(id: $id) { ... on Opportunity { stage } } }"
GATE = {
    "stage": "SOLUTION",
    "requiredFields": ["budget", "decisionDate"],
    "requireDecisionMaker": True,
    "requiredTeamRoles": ["SOLUTION_SPECIALIST"],
    "requiresApproval": True,
}


async def test_only_admins_configure_gates_with_known_fields(world, as_) -> None:  # type: ignore[no-untyped-def]
    assert (await (await as_("director")).data(SET_GATE, input=GATE))["setStageGate"]["errors"][0][
        "code"
    ] == "FORBIDDEN"
    admin = await as_("admin")
    bad = (await admin.data(SET_GATE, input=GATE | {"requiredFields": ["budget", "mood"]}))["setStageGate"]["errors"]
    assert [(e["field"], e["code"]) for e in bad] == [("requiredFields", "INVALID")]
    gate = (await admin.data(SET_GATE, input=GATE))["setStageGate"]["gate"]
    assert gate == GATE | {"requiredFields": ["budget", "decisionDate"]}
    assert (await admin.data(GATES))["stageGates"] == [
        {"stage": "SOLUTION", "requiredFields": ["budget", "decisionDate"], "requiresApproval": True}
    ]


async def test_a_gated_move_reports_every_unmet_requirement_then_passes(world, as_) -> None:  # type: ignore[no-untyped-def]
    await (await as_("admin")).data(SET_GATE, input=GATE)
    am = await as_("am_east")
    o3 = gid("Opportunity", world.opportunities["O3"].id)
    # When the owner moves O3 into SOLUTION with nothing in place
    payload = (await am.data(MOVE, input={"id": o3, "stage": "SOLUTION"}))["moveOpportunityStage"]
    # Then every unmet requirement comes back at once, and the deal stays where it was
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [
        ("budget", "STAGE_GATE_UNMET"),
        ("decisionDate", "STAGE_GATE_UNMET"),
        ("buyingCentre", "STAGE_GATE_UNMET"),
        ("team", "STAGE_GATE_UNMET"),
        ("approval", "APPROVAL_PENDING"),
    ]
    assert all("SOLUTION" in e["message"] for e in payload["errors"])
    assert (await am.data(STAGE, id=o3))["node"]["stage"] == "QUALIFICATION"
    # Meet the requirements one by one
    await am.data(UPDATE, input={"id": o3, "budget": "90000", "decisionDate": "2027-02-15"})
    contact = (
        await am.data(
            CONTACT,
            input={"accountId": gid("Account", world.accounts["A_east"].id), "firstName": "Mei", "lastName": "Lin"},
        )
    )["createContact"]["contact"]["id"]
    await am.data(
        MEMBER, input={"opportunityId": o3, "contactId": contact, "role": "DECISION_MAKER", "attitude": "SUPPORTER"}
    )
    await am.data(
        TEAM,
        input={
            "opportunityId": o3,
            "userId": gid("User", world.users["specialist"].id),
            "salesRole": "SOLUTION_SPECIALIST",
            "access": "EDIT",
        },
    )
    payload = (await am.data(MOVE, input={"id": o3, "stage": "SOLUTION"}))["moveOpportunityStage"]
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("approval", "APPROVAL_PENDING")]
    # The qualification gate's approval: the owner asks, only a manager of the deal decides
    approval = (await am.data(REQUEST, id=o3, stage="SOLUTION"))["requestStageApproval"]["approval"]
    assert approval["status"] == "REQUESTED"
    again = (await am.data(REQUEST, id=o3, stage="SOLUTION"))["requestStageApproval"]
    assert again["errors"] == [{"field": "stage", "code": "APPROVAL_ALREADY_REQUESTED"}]
    assert (await am.data(DECIDE, input={"id": approval["id"], "approve": True}))["decideStageApproval"]["errors"] == [
        {"field": "id", "code": "FORBIDDEN"}
    ]
    assert (await (await as_("am_west")).data(DECIDE, input={"id": approval["id"], "approve": True}))[
        "decideStageApproval"
    ]["errors"] == [{"field": "id", "code": "NOT_FOUND"}]
    decided = await (await as_("manager_east")).data(DECIDE, input={"id": approval["id"], "approve": True})
    assert decided["decideStageApproval"]["approval"] == {"status": "APPROVED", "reason": None}
    twice = await (await as_("manager_east")).data(DECIDE, input={"id": approval["id"], "approve": False})
    assert twice["decideStageApproval"]["errors"] == [{"field": "id", "code": "APPROVAL_ALREADY_DECIDED"}]
    payload = (await am.data(MOVE, input={"id": o3, "stage": "SOLUTION"}))["moveOpportunityStage"]
    assert payload["errors"] == [] and payload["opportunity"]["stage"] == "SOLUTION"
    assert payload["opportunity"]["probability"] == 40


async def test_rejecting_an_approval_needs_a_reason(world, as_) -> None:  # type: ignore[no-untyped-def]
    await (await as_("admin")).data(SET_GATE, input=GATE)
    o1 = gid("Opportunity", world.opportunities["O1"].id)
    approval = (await (await as_("am_east")).data(REQUEST, id=o1, stage="SOLUTION"))["requestStageApproval"]["approval"]
    manager = await as_("manager_east")
    payload = (await manager.data(DECIDE, input={"id": approval["id"], "approve": False}))["decideStageApproval"]
    assert payload["errors"] == [{"field": "reason", "code": "REQUIRED"}]
    payload = await manager.data(DECIDE, input={"id": approval["id"], "approve": False, "reason": "Not qualified"})
    assert payload["decideStageApproval"]["approval"] == {"status": "REJECTED", "reason": "Not qualified"}


async def test_moving_back_and_closing_need_reasons(world, as_) -> None:  # type: ignore[no-untyped-def]
    am = await as_("am_east")
    o1 = gid("Opportunity", world.opportunities["O1"].id)
    payload = (await am.data(MOVE, input={"id": o1, "stage": "PROSPECTING"}))["moveOpportunityStage"]
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("reason", "REQUIRED")]
    payload = await am.data(MOVE, input={"id": o1, "stage": "PROSPECTING", "reason": "Budget frozen"})
    assert payload["moveOpportunityStage"]["opportunity"]["stage"] == "PROSPECTING"
    payload = (await am.data(MOVE, input={"id": o1, "stage": "CLOSED_LOST"}))["moveOpportunityStage"]
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("reasonCode", "REQUIRED")]
    payload = (await am.data(MOVE, input={"id": o1, "stage": "NEGOTIATION", "competitor": "X"}))["moveOpportunityStage"]
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("competitor", "INVALID")]
    lost = await am.data(
        MOVE,
        input={
            "id": o1,
            "stage": "CLOSED_LOST",
            "reasonCode": "COMPETITOR",
            "competitor": "Rival Automation",
            "reason": "Lower price",
        },
    )
    opportunity = lost["moveOpportunityStage"]["opportunity"]
    assert (opportunity["stage"], opportunity["probability"], opportunity["closeReasonCode"]) == (
        "CLOSED_LOST",
        0,
        "COMPETITOR",
    )
    assert (opportunity["closeReason"], opportunity["lostToCompetitor"]) == ("Lower price", "Rival Automation")
    assert opportunity["competitors"] == [{"name": "Rival Automation", "status": "PREFERRED"}]
    payload = (await am.data(MOVE, input={"id": o1, "stage": "NEGOTIATION"}))["moveOpportunityStage"]
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("reason", "REQUIRED")]
    # Partners never read who won a lost deal
    body = await (await as_("d1_admin"))(
        "query($id: ID!) { node(id: $id) { ... on Opportunity { lostToCompetitor } } }",
        id=gid("Opportunity", world.opportunities["O3"].id),
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_partners_become_read_only_once_the_deal_is_closed(world, as_) -> None:  # type: ignore[no-untyped-def]
    o3 = gid("Opportunity", world.opportunities["O3"].id)
    partner = await as_("d1_admin")
    assert (await partner.data(UPDATE, input={"id": o3, "name": "Renamed by partner"}))["updateOpportunity"][
        "errors"
    ] == []
    won = await (await as_("am_east")).data(MOVE, input={"id": o3, "stage": "CLOSED_WON", "reasonCode": "PARTNER"})
    assert won["moveOpportunityStage"]["opportunity"]["stage"] == "CLOSED_WON"
    payload = (await partner.data(UPDATE, input={"id": o3, "name": "Again"}))["updateOpportunity"]
    assert payload["errors"] == [{"field": "id", "code": "DEAL_CLOSED"}]
    assert (await partner.data(STAGE, id=o3))["node"]["stage"] == "CLOSED_WON"  # still readable
