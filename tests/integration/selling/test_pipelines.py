"""Pipelines: several per tenant, each its own stages and values; deals follow theirs."""

from __future__ import annotations

from tests.integration.graphql_client import gid

CREATE = """
mutation($input: CreatePipelineInput!) {
  createPipeline(input: $input) {
    pipeline { id name isDefault stages { stage label probability forecastCategory } } errors { field code message }
  }
}
"""
PIPELINES = "{ pipelines { name isDefault } }"
NEW_DEAL = """
mutation($input: CreateOpportunityInput!) {
  createOpportunity(input: $input) { opportunity { id stage probability pipeline { name } } errors { field code } }
}
"""
MOVE = """
mutation($input: MoveOpportunityStageInput!) {
  moveOpportunityStage(input: $input) { opportunity { stage probability forecastCategory } errors { field code message } }
}
"""
RENEWAL = {
    "name": "Renewal",
    "stages": [
        {"stage": "QUALIFICATION", "label": "Renewal review", "probability": 60, "forecastCategory": "BEST_CASE"},
        {"stage": "NEGOTIATION", "label": "Renewal terms", "probability": 85},
        {"stage": "CLOSED_WON"},
        {"stage": "CLOSED_LOST"},
    ],
}
NEW_BUSINESS = {
    "name": "New business",
    "stages": [
        {"stage": s}
        for s in ("PROSPECTING", "QUALIFICATION", "SOLUTION", "PROPOSAL", "NEGOTIATION", "CLOSED_WON", "CLOSED_LOST")
    ],
}


async def test_deals_follow_their_pipeline(world, as_) -> None:  # type: ignore[no-untyped-def]
    admin = await as_("admin")
    created = (await admin.data(CREATE, input=NEW_BUSINESS))["createPipeline"]["pipeline"]
    assert created["isDefault"] is True  # the first pipeline becomes the default
    renewal = (await admin.data(CREATE, input=RENEWAL))["createPipeline"]["pipeline"]
    assert renewal["stages"][0] == {
        "stage": "QUALIFICATION",
        "label": "Renewal review",
        "probability": 60,
        "forecastCategory": "BEST_CASE",
    }
    assert renewal["stages"][1]["forecastCategory"] == "COMMIT"  # the stage's default
    assert (await admin.data(PIPELINES))["pipelines"] == [
        {"name": "New business", "isDefault": True},
        {"name": "Renewal", "isDefault": False},
    ]
    am = await as_("am_east")
    deal = {
        "accountId": gid("Account", world.accounts["A_east"].id),
        "name": "Support renewal",
        "amount": "5000",
        "currency": "USD",
        "closeDate": "2027-04-30",
    }
    # A deal in the renewal pipeline starts at its first stage with its values
    opp = (await am.data(NEW_DEAL, input=deal | {"pipelineId": renewal["id"]}))["createOpportunity"]["opportunity"]
    assert (opp["stage"], opp["probability"], opp["pipeline"]) == ("QUALIFICATION", 60, {"name": "Renewal"})
    # It cannot enter a stage its pipeline skips, and takes the pipeline's values where it goes
    payload = (await am.data(MOVE, input={"id": opp["id"], "stage": "SOLUTION"}))["moveOpportunityStage"]
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("stage", "INVALID")]
    payload = (await am.data(MOVE, input={"id": opp["id"], "stage": "NEGOTIATION"}))["moveOpportunityStage"]
    assert payload["opportunity"] == {"stage": "NEGOTIATION", "probability": 85, "forecastCategory": "COMMIT"}
    # Without a pipeline named, a deal follows the default one
    default = (await am.data(NEW_DEAL, input=deal))["createOpportunity"]["opportunity"]
    assert (default["stage"], default["pipeline"]) == ("PROSPECTING", {"name": "New business"})


async def test_pipeline_shape_rules(world, as_) -> None:  # type: ignore[no-untyped-def]
    admin = await as_("admin")
    bad = [
        (
            {
                "name": "X",
                "stages": [
                    {"stage": "NEGOTIATION"},
                    {"stage": "QUALIFICATION"},
                    {"stage": "CLOSED_WON"},
                    {"stage": "CLOSED_LOST"},
                ],
            },
            ("stages", "INVALID"),
        ),
        ({"name": "X", "stages": [{"stage": "QUALIFICATION"}, {"stage": "CLOSED_WON"}]}, ("stages", "REQUIRED")),
        (
            {
                "name": "X",
                "stages": [
                    {"stage": "QUALIFICATION", "probability": 120},
                    {"stage": "CLOSED_WON"},
                    {"stage": "CLOSED_LOST"},
                ],
            },
            ("stages", "OUT_OF_RANGE"),
        ),
    ]
    for pipeline, expected in bad:
        errors = (await admin.data(CREATE, input=pipeline))["createPipeline"]["errors"]
        assert [(e["field"], e["code"]) for e in errors] == [expected], pipeline
    await admin.data(CREATE, input=RENEWAL)
    assert (await admin.data(CREATE, input=RENEWAL))["createPipeline"]["errors"][0]["code"] == "DUPLICATE"
    assert (await (await as_("director")).data(CREATE, input=NEW_BUSINESS))["createPipeline"]["errors"][0][
        "code"
    ] == "FORBIDDEN"


async def test_lists_and_funnels_slice_by_pipeline(world, as_) -> None:  # type: ignore[no-untyped-def]
    admin = await as_("admin")
    renewal = (await admin.data(CREATE, input=RENEWAL))["createPipeline"]["pipeline"]["id"]
    deal = {
        "accountId": gid("Account", world.accounts["A_east"].id),
        "name": "Renewal 2027",
        "amount": "700",
        "currency": "USD",
        "closeDate": "2027-04-30",
        "pipelineId": renewal,
    }
    await admin.data(NEW_DEAL, input=deal)
    listed = await admin.data(
        "query($p: ID) { opportunities(filter: {pipelineId: $p}) { edges { node { name } } } }", p=renewal
    )
    assert [e["node"]["name"] for e in listed["opportunities"]["edges"]] == ["Renewal 2027"]
    funnel = await admin.data(
        """query($p: ID) { funnel(periodStart: "2027-01-01", periodEnd: "2027-12-31", currency: "USD", pipelineId: $p) {
             stages { stage count amount } } }""",
        p=renewal,
    )
    assert {s["stage"]: s["count"] for s in funnel["funnel"]["stages"] if s["count"]} == {"QUALIFICATION": 1}
