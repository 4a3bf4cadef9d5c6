"""Forecast and funnel: the numbers, their rollups, and that no total counts a deal the viewer cannot see."""

from __future__ import annotations

from datetime import date

import pytest

from tests.integration.graphql_client import gid

FORECAST = """
query($start: Date!, $end: Date!, $currency: String!) {
  forecast(periodStart: $start, periodEnd: $end, currency: $currency) {
    currency
    byCategory { category count amount weightedAmount }
    byOwner { user { email } own { category count } rollup { category count amount } }
    byPartner { organization { name } own { category count } rollup { category count amount } }
  }
}
"""
FUNNEL = """
query($start: Date!, $end: Date!, $currency: String!) {
  funnel(periodStart: $start, periodEnd: $end, currency: $currency) {
    stages { stage count amount } winRate averageCycleDays
  }
}
"""
MOVE = """
mutation($input: MoveOpportunityStageInput!) { moveOpportunityStage(input: $input) { errors { field code } } }
"""
PERIOD = {"start": "2027-01-01", "end": "2027-06-30", "currency": "USD"}


@pytest.fixture
async def closed_world(world, as_):  # type: ignore[no-untyped-def]
    """O2 won and O5 lost (both am_west's); the other four open in QUALIFICATION, 1,000 USD at 20 % each."""
    west = await as_("am_west")
    await west.data(
        MOVE,
        input={
            "id": gid("Opportunity", world.opportunities["O2"].id),
            "stage": "CLOSED_WON",
            "reasonCode": "PRODUCT_FIT",
        },
    )
    await west.data(
        MOVE,
        input={"id": gid("Opportunity", world.opportunities["O5"].id), "stage": "CLOSED_LOST", "reasonCode": "PRICE"},
    )
    return world


def _by(rows: list[dict], key: str, world, kind: str) -> dict:  # type: ignore[no-untyped-def]
    names = (
        {o.name: k for k, o in world.orgs.items()} if kind == "org" else {u.email: k for k, u in world.users.items()}
    )
    return {names[r[key]["name" if kind == "org" else "email"]]: r for r in rows}


async def test_forecast_by_category_owner_line_and_partner_tree(closed_world, as_) -> None:  # type: ignore[no-untyped-def]
    world = closed_world
    data = (await (await as_("admin")).data(FORECAST, **PERIOD))["forecast"]
    assert data["byCategory"] == [
        {"category": "PIPELINE", "count": 4, "amount": "4000.00", "weightedAmount": "800.00"},
        {"category": "CLOSED", "count": 1, "amount": "1000.00", "weightedAmount": "1000.00"},
        {"category": "OMITTED", "count": 1, "amount": "1000.00", "weightedAmount": "0.00"},
    ]
    owners = _by(data["byOwner"], "user", world, "user")
    assert owners["am_east"]["own"] == [{"category": "PIPELINE", "count": 3}]
    # The East manager and the director above carry am_east's deals in their rollup
    for manager in ("manager_east", "director"):
        assert owners[manager]["own"] == []
        assert owners[manager]["rollup"] == [{"category": "PIPELINE", "count": 3, "amount": "3000.00"}]
    partners = _by(data["byPartner"], "organization", world, "org")
    # D1's rollup counts its own O6 and its dealers' O3 and O4, each once
    assert partners["D1"]["own"] == [{"category": "PIPELINE", "count": 1}]
    assert partners["D1"]["rollup"] == [{"category": "PIPELINE", "count": 3, "amount": "3000.00"}]
    assert partners["D2"]["rollup"] == [{"category": "OMITTED", "count": 1, "amount": "1000.00"}]


@pytest.mark.parametrize(
    ("role", "pipeline", "partners"),
    [
        ("d1_admin", 3, {"D1", "R1a", "R1b"}),
        ("r1a_sales", 1, {"R1a"}),
        ("d2_admin", 0, {"D2", "R2a"}),
        ("am_east", 3, None),
    ],
)
async def test_no_number_counts_a_deal_the_viewer_cannot_see(role, pipeline, partners, closed_world, as_) -> None:  # type: ignore[no-untyped-def]
    world = closed_world
    data = (await (await as_(role)).data(FORECAST, **PERIOD))["forecast"]
    counts = {b["category"]: b["count"] for b in data["byCategory"]}
    assert counts.get("PIPELINE", 0) == pipeline
    if role.startswith(("d", "r")):
        # Partners see no internal owner by name, and only their own subtree's partners
        assert data["byOwner"] == []
        assert set(_by(data["byPartner"], "organization", world, "org")) <= partners
    funnel = (await (await as_(role)).data(FUNNEL, **PERIOD))["funnel"]
    assert sum(s["count"] for s in funnel["stages"]) == sum(counts.values())


async def test_funnel_win_rate_and_cycle(closed_world, as_) -> None:  # type: ignore[no-untyped-def]
    data = (await (await as_("admin")).data(FUNNEL, **PERIOD))["funnel"]
    stages = {s["stage"]: (s["count"], s["amount"]) for s in data["stages"]}
    assert stages["QUALIFICATION"] == (4, "4000.00")
    assert stages["CLOSED_WON"] == (1, "1000.00") and stages["CLOSED_LOST"] == (1, "1000.00")
    assert stages["NEGOTIATION"] == (0, "0.00")
    assert data["winRate"] == 0.5
    assert data["averageCycleDays"] == pytest.approx((date(2027, 3, 31) - date.today()).days, abs=1)
    other = (await (await as_("d1_admin")).data(FUNNEL, **PERIOD))["funnel"]
    assert other["winRate"] is None


async def test_bad_periods_and_currencies_are_named(closed_world, as_) -> None:  # type: ignore[no-untyped-def]
    admin = await as_("admin")
    body = await admin(FORECAST, start="2027-06-30", end="2027-01-01", currency="USD")
    assert body["errors"][0]["extensions"] == {"code": "OUT_OF_RANGE", "field": "periodEnd"}
    body = await admin(FUNNEL, start="2027-01-01", end="2027-06-30", currency="dollars")
    assert body["errors"][0]["extensions"] == {"code": "INVALID", "field": "currency"}


SET_QUOTA = """
mutation($input: SetQuotaInput!) {
  setQuota(input: $input) {
    quota { user { email } territory { name } organization { name } quota { amount } attained { amount }
            openPipeline { amount } attainment coverage }
    errors { field code message }
  }
}
"""
QUOTAS = """
query($start: Date!, $end: Date!) {
  quotas(periodStart: $start, periodEnd: $end) {
    user { email } territory { name } organization { name } attained { amount } openPipeline { amount } attainment
  }
}
"""
Q = {"periodStart": "2027-01-01", "periodEnd": "2027-06-30", "currency": "USD"}


async def test_quotas_measure_attainment_and_coverage_up_each_hierarchy(closed_world, as_) -> None:  # type: ignore[no-untyped-def]
    world = closed_world
    director = await as_("director")
    # The East manager's line (am_east: 3 open deals of 1,000) against 4,000
    data = await director.data(
        SET_QUOTA, input=Q | {"userId": gid("User", world.users["manager_east"].id), "amount": "4000"}
    )
    quota = data["setQuota"]["quota"]
    assert (quota["attained"], quota["openPipeline"]) == ({"amount": "0.00"}, {"amount": "3000.00"})
    assert (quota["attainment"], quota["coverage"]) == (0.0, 0.75)
    # West territory: O2 won (1,000), O4 open; O5 lost counts for nothing
    data = await director.data(
        SET_QUOTA, input=Q | {"territoryId": gid("Territory", world.territories["West"].id), "amount": "2000"}
    )
    quota = data["setQuota"]["quota"]
    assert (quota["attained"], quota["openPipeline"], quota["attainment"], quota["coverage"]) == (
        {"amount": "1000.00"},
        {"amount": "1000.00"},
        0.5,
        1.0,
    )
    # D1 and its dealers: O3, O4, O6 open
    data = await director.data(
        SET_QUOTA, input=Q | {"organizationId": gid("Organization", world.orgs["D1"].id), "amount": "3000"}
    )
    assert data["setQuota"]["quota"]["openPipeline"] == {"amount": "3000.00"}
    # A distributor sees its own quota, measured on its own deals, and no internal quota
    seen = (await (await as_("d1_admin")).data(QUOTAS, start="2027-01-01", end="2027-06-30"))["quotas"]
    assert seen == [
        {
            "user": None,
            "territory": None,
            "organization": {"name": world.orgs["D1"].name},
            "attained": {"amount": "0.00"},
            "openPipeline": {"amount": "3000.00"},
            "attainment": 0.0,
        }
    ]


async def test_only_leadership_sets_quotas_for_one_subject(closed_world, as_) -> None:  # type: ignore[no-untyped-def]
    world = closed_world
    am = await as_("am_east")
    payload = await am.data(SET_QUOTA, input=Q | {"userId": gid("User", world.users["am_east"].id), "amount": "1"})
    assert payload["setQuota"]["errors"][0]["code"] == "FORBIDDEN"
    director = await as_("director")
    both = Q | {
        "userId": gid("User", world.users["am_east"].id),
        "territoryId": gid("Territory", world.territories["East"].id),
        "amount": "1",
    }
    assert (await director.data(SET_QUOTA, input=both))["setQuota"]["errors"][0]["field"] == "userId"
    negative = Q | {"userId": gid("User", world.users["am_east"].id), "amount": "-1"}
    assert (await director.data(SET_QUOTA, input=negative))["setQuota"]["errors"][0]["field"] == "amount"


ADJUST = """
mutation($input: AdjustForecastInput!) {
  adjustForecast(input: $input) { adjustment { category amount note } errors { field code } }
}
"""
MANAGER_LINE = """
query($start: Date!, $end: Date!, $currency: String!) {
  forecast(periodStart: $start, periodEnd: $end, currency: $currency) {
    byOwner { user { email } rollup { category amount } adjusted { category amount } adjustments { category amount note } }
  }
}
"""
LEADERBOARD = """
query($start: Date!, $end: Date!, $currency: String!, $territory: ID) {
  leaderboard(periodStart: $start, periodEnd: $end, currency: $currency, territoryId: $territory) {
    user { email } wonCount wonAmount
  }
}
"""
SLICED = """
query($start: Date!, $end: Date!, $currency: String!, $partner: ID) {
  funnel(periodStart: $start, periodEnd: $end, currency: $currency, partnerOrganizationId: $partner) { stages { stage count } }
}
"""


async def test_manager_adjusts_the_forecast_and_the_original_stays(closed_world, as_) -> None:  # type: ignore[no-untyped-def]
    world = closed_world
    manager = await as_("manager_east")
    adjustment = {
        "periodStart": "2027-01-01",
        "periodEnd": "2027-06-30",
        "currency": "USD",
        "category": "PIPELINE",
        "amount": "2500",
        "note": "One deal will slip",
    }
    payload = (await manager.data(ADJUST, input=adjustment))["adjustForecast"]
    assert payload["adjustment"] == {"category": "PIPELINE", "amount": "2500.00", "note": "One deal will slip"}
    await manager.data(ADJUST, input=adjustment | {"amount": "2000", "note": "Two will"})
    rows = (await (await as_("director")).data(MANAGER_LINE, **PERIOD))["forecast"]["byOwner"]
    line = next(r for r in rows if r["user"]["email"] == world.users["manager_east"].email)
    assert line["rollup"] == [{"category": "PIPELINE", "amount": "3000.00"}]
    assert line["adjusted"] == [{"category": "PIPELINE", "amount": "2000.00"}]
    assert [a["note"] for a in line["adjustments"]] == ["Two will", "One deal will slip"]
    # Only managers adjust, always with a note
    payload = (await (await as_("am_east")).data(ADJUST, input=adjustment))["adjustForecast"]
    assert payload["errors"] == [{"field": None, "code": "FORBIDDEN"}]
    payload = (await manager.data(ADJUST, input=adjustment | {"note": " "}))["adjustForecast"]
    assert payload["errors"] == [{"field": "note", "code": "REQUIRED"}]


async def test_leaderboard_and_slices(closed_world, as_) -> None:  # type: ignore[no-untyped-def]
    world = closed_world
    admin = await as_("admin")
    board = (await admin.data(LEADERBOARD, **PERIOD))["leaderboard"]
    assert board == [{"user": {"email": world.users["am_west"].email}, "wonCount": 1, "wonAmount": "1000.00"}]
    east = gid("Territory", world.territories["East"].id)
    assert (await admin.data(LEADERBOARD, **PERIOD, territory=east))["leaderboard"] == []
    # A partner sees no internal owner on the board
    assert (await (await as_("d2_admin")).data(LEADERBOARD, **PERIOD))["leaderboard"] == []
    # The funnel sliced to D1's subtree counts O3, O4 and O6 only
    sliced = (await admin.data(SLICED, **PERIOD, partner=gid("Organization", world.orgs["D1"].id)))["funnel"]["stages"]
    assert {s["stage"]: s["count"] for s in sliced if s["count"]} == {"QUALIFICATION": 3}


HISTORY = """
query { funnel(periodStart: "2027-01-01", periodEnd: "2027-06-30", currency: "USD") {
  stages { stage count conversionRate averageDaysInStage } } }
"""


async def test_funnel_conversion_and_days_in_stage_come_from_the_stage_history(world, as_) -> None:  # type: ignore[no-untyped-def]
    am = await as_("am_east")
    o1, o3 = gid("Opportunity", world.opportunities["O1"].id), gid("Opportunity", world.opportunities["O3"].id)
    # O1 goes QUALIFICATION → SOLUTION → PROPOSAL; O3 goes to SOLUTION and back; O6 stays in QUALIFICATION
    for opp, stage, reason in (
        (o1, "SOLUTION", None),
        (o1, "PROPOSAL", None),
        (o3, "SOLUTION", None),
        (o3, "QUALIFICATION", "Customer paused"),
    ):
        payload = await am.data(MOVE, input={"id": opp, "stage": stage, **({"reason": reason} if reason else {})})
        assert payload["moveOpportunityStage"]["errors"] == []
    stages = {s["stage"]: s for s in (await am.data(HISTORY))["funnel"]["stages"]}
    assert stages["QUALIFICATION"]["conversionRate"] == pytest.approx(2 / 3)  # O1 and O3 moved on, O6 did not
    assert stages["SOLUTION"]["conversionRate"] == 0.5  # O1 went on, O3 came back
    assert stages["PROPOSAL"]["conversionRate"] == 0.0
    assert stages["NEGOTIATION"]["conversionRate"] is None and stages["CLOSED_WON"]["conversionRate"] is None
    assert 0 <= stages["QUALIFICATION"]["averageDaysInStage"] < 1
    assert stages["PROPOSAL"]["averageDaysInStage"] is None  # O1 is still there
