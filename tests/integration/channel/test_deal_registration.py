"""Deal registration through the API: pre-check, conflicts, decisions, protection, races, expiry."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update

from api.graphql.relay import parse_global_id
from domain.channel.deal_registrations import DealRegistration, expire_due
from domain.selling.opportunities import Opportunity
from domain.selling.stages import Stage
from tests.integration.graphql_client import gid

PRECHECK = """
query($name: String!, $taxId: String) {
  registrationPrecheck(customerName: $name, customerTaxId: $taxId) { conflict }
}
"""
FIELDS = """
  id customerName customerTaxId status products amount { amount currency } protectionExpiresAt decisionReason
  partner { name } opportunity { id name partners { role organization { name } } team { salesRole user { email } } }
"""
SUBMIT = f"""
mutation($input: SubmitDealRegistrationInput!) {{
  submitDealRegistration(input: $input) {{ dealRegistration {{ {FIELDS} }} errors {{ field code message }} }}
}}
"""
APPROVE = f"""
mutation($input: ApproveDealRegistrationInput!) {{
  approveDealRegistration(input: $input) {{ dealRegistration {{ {FIELDS} }} errors {{ field code message }} }}
}}
"""
REJECT = """
mutation($input: RegistrationReasonInput!) {
  rejectDealRegistration(input: $input) { dealRegistration { status decisionReason } errors { field code message } }
}
"""
WITHDRAW = """
mutation($input: RegistrationReasonInput!) {
  withdrawDealRegistration(input: $input) { dealRegistration { status } errors { field code message } }
}
"""
REQUEST_EXTENSION = """
mutation($input: RegistrationExtensionInput!) {
  requestRegistrationExtension(input: $input) { dealRegistration { extensionRequestedDays } errors { field code } }
}
"""
DECIDE_EXTENSION = """
mutation($input: RegistrationExtensionInput!) {
  decideRegistrationExtension(input: $input) {
    dealRegistration { protectionExpiresAt extensionRequestedDays } errors { field code }
  }
}
"""
LIST = "{ dealRegistrations(first: 50) { totalCount edges { node { customerName status } } } }"
CONFLICTS = "query($id: ID!) { node(id: $id) { ... on DealRegistration { conflicts { kind name reasons } } } }"
SET_DAYS = "mutation($days: Int!) { setDealProtectionDays(days: $days) { days errors { field code } } }"


def _deal(name: str, **extra: object) -> dict[str, object]:
    close = (date.today() + timedelta(days=60)).isoformat()
    return {
        "customerName": name,
        "products": ["Drives", "PLC"],
        "amount": "120000",
        "currency": "USD",
        "expectedCloseDate": close,
        **extra,
    }


async def _submit(caller, name: str, **extra: object) -> dict:  # type: ignore[no-untyped-def]
    payload = (await caller.data(SUBMIT, input=_deal(name, **extra)))["submitDealRegistration"]
    assert payload["errors"] == [], payload["errors"]
    return payload["dealRegistration"]  # type: ignore[no-any-return]


async def test_precheck_says_only_yes_or_no(world, as_) -> None:  # type: ignore[no-untyped-def]
    dealer = await as_("r1a_sales")
    # A customer in active business elsewhere (A_west has another dealer's and direct deals)
    assert (await dealer.data(PRECHECK, name="A_west Industries Ltd."))["registrationPrecheck"] == {"conflict": True}
    assert (await dealer.data(PRECHECK, name="Completely New Customer"))["registrationPrecheck"] == {"conflict": False}
    body = await dealer(PRECHECK, name="X", taxId="91110000600037341M")
    assert body["errors"][0]["extensions"] == {"code": "INVALID", "field": "customerTaxId"}
    body = await (await as_("am_east"))(PRECHECK, name="X")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_submission_conflicts_are_shown_to_the_channel_manager_only(world, as_) -> None:  # type: ignore[no-untyped-def]
    dealer, channel = await as_("r1a_sales"), await as_("channel_mgr")
    registration = await _submit(dealer, "A_west Industries")
    assert registration["status"] == "SUBMITTED"
    conflicts = (await channel.data(CONFLICTS, id=registration["id"]))["node"]["conflicts"]
    assert {(c["kind"], c["name"]) for c in conflicts} == {
        ("ACCOUNT", "A_west Industries"),
        ("OPPORTUNITY", "O2"),
        ("OPPORTUNITY", "O4"),
        ("OPPORTUNITY", "O5"),
    }
    assert all(c["reasons"] == ['same name "a_west industries"'] for c in conflicts)
    body = await dealer(CONFLICTS, id=registration["id"])
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "O2" not in str(body)


@pytest.mark.parametrize(
    ("role", "sees"),
    [
        ("r1a_sales", True),
        ("d1_admin", True),
        ("r1b_sales", False),
        ("d2_admin", False),
        ("channel_mgr", True),
        ("channel_mgr2", False),
        ("admin", True),
        ("am_east", False),
        ("director", True),
    ],
)
async def test_who_sees_a_registration(role, sees, world, as_) -> None:  # type: ignore[no-untyped-def]
    await _submit(await as_("r1a_sales"), "Visible Customer")
    data = await (await as_(role)).data(LIST)
    assert ({e["node"]["customerName"] for e in data["dealRegistrations"]["edges"]} == {"Visible Customer"}) == sees
    assert data["dealRegistrations"]["totalCount"] == (1 if sees else 0)


async def test_approval_protects_the_customer_and_opens_the_opportunity(world, as_) -> None:  # type: ignore[no-untyped-def]
    dealer, channel = await as_("r1a_sales"), await as_("channel_mgr")
    registration = await _submit(dealer, "Brand New Co., Ltd.", customerTaxId="91110000600037341L")
    approved = (await channel.data(APPROVE, input={"id": registration["id"], "amount": "150000"}))[
        "approveDealRegistration"
    ]["dealRegistration"]
    assert approved["status"] == "APPROVED" and approved["amount"]["amount"] == "150000.00"
    expires = datetime.fromisoformat(approved["protectionExpiresAt"])
    assert timedelta(days=89) < expires - datetime.now(UTC) <= timedelta(days=90)
    opportunity = approved["opportunity"]
    assert opportunity["partners"] == [{"role": "SOURCING", "organization": {"name": world.orgs["R1a"].name}}]
    assert opportunity["team"] == [{"salesRole": "PARTNER_REP", "user": {"email": world.users["r1a_sales"].email}}]
    # The distributor above the dealer sees the new deal; another distributor does not
    node = "query($id: ID!) { node(id: $id) { id } }"
    assert (await (await as_("d1_admin")).data(node, id=opportunity["id"]))["node"] is not None
    assert (await (await as_("d2_admin")).data(node, id=opportunity["id"]))["node"] is None
    # Another partner's claim to the same customer (by tax id, under another name) is rejected as a conflict
    rival = await _submit(await as_("r1b_sales"), "BNC Trading", customerTaxId="9111 0000 6000 3734 1L")
    assert rival["status"] == "REJECTED"
    assert rival["decisionReason"] == "Another partner's registration protects this customer."
    assert world.orgs["R1a"].name not in str(rival)
    # ... and so is one by a similar name
    rival = await _submit(await as_("d2_admin"), "Brand New Company")
    assert rival["status"] == "REJECTED"


async def test_of_two_racing_approvals_exactly_one_wins(world, as_) -> None:  # type: ignore[no-untyped-def]
    first = await _submit(await as_("r1a_sales"), "Racing Corp")
    second = await _submit(await as_("r1b_sales"), "Racing Corporation")
    assert first["status"] == second["status"] == "SUBMITTED"
    channel = await as_("channel_mgr")
    results = await asyncio.gather(
        channel.data(APPROVE, input={"id": first["id"]}), channel.data(APPROVE, input={"id": second["id"]})
    )
    payloads = [r["approveDealRegistration"] for r in results]
    winners = [p for p in payloads if p["errors"] == []]
    losers = [p for p in payloads if p["errors"]]
    assert len(winners) == 1 and len(losers) == 1
    assert losers[0]["errors"][0]["code"] == "REGISTRATION_CONFLICT"


async def test_decisions_are_the_channel_managers(world, as_) -> None:  # type: ignore[no-untyped-def]
    dealer = await as_("r1a_sales")
    registration = await _submit(dealer, "Decided Customer")
    assert (await dealer.data(APPROVE, input={"id": registration["id"]}))["approveDealRegistration"]["errors"][0][
        "code"
    ] == "FORBIDDEN"
    channel = await as_("channel_mgr")
    payload = (await channel.data(REJECT, input={"id": registration["id"]}))["rejectDealRegistration"]
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("reason", "REQUIRED")]
    payload = (await channel.data(REJECT, input={"id": registration["id"], "reason": "Direct account"}))[
        "rejectDealRegistration"
    ]
    assert payload["dealRegistration"] == {"status": "REJECTED", "decisionReason": "Direct account"}
    payload = (await channel.data(APPROVE, input={"id": registration["id"]}))["approveDealRegistration"]
    assert payload["errors"][0]["code"] == "REGISTRATION_ALREADY_DECIDED"


async def test_bad_submissions_name_their_fields(world, as_) -> None:  # type: ignore[no-untyped-def]
    dealer = await as_("r1a_sales")
    bad = _deal(
        "",
        amount="-5",
        currency="dollars",
        products=[" "],
        expectedCloseDate="2020-01-01",
        customerTaxId="91110000600037341M",
    )
    payload = (await dealer.data(SUBMIT, input=bad))["submitDealRegistration"]
    assert {(e["field"], e["code"]) for e in payload["errors"]} == {
        ("customerName", "REQUIRED"),
        ("customerTaxId", "INVALID"),
        ("amount", "OUT_OF_RANGE"),
        ("currency", "INVALID"),
        ("products", "REQUIRED"),
        ("expectedCloseDate", "OUT_OF_RANGE"),
    }
    assert (await dealer.data(LIST))["dealRegistrations"]["totalCount"] == 0
    payload = (await (await as_("channel_mgr")).data(SUBMIT, input=_deal("X")))["submitDealRegistration"]
    assert payload["errors"][0]["code"] == "FORBIDDEN"


async def test_expiry_is_honest_before_the_job_and_frees_the_customer(world, as_, sessions) -> None:  # type: ignore[no-untyped-def]
    dealer, channel = await as_("r1a_sales"), await as_("channel_mgr")
    registration = await _submit(dealer, "Expiring Customer")
    await channel.data(APPROVE, input={"id": registration["id"]})
    # Given the protection window has run out (the job has not run yet)
    registration_id = parse_global_id(registration["id"])[1]  # type: ignore[index]
    async with sessions() as session, session.begin():
        await session.execute(
            update(DealRegistration)
            .where(DealRegistration.id == registration_id)
            .values(protection_expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    # Then it already reads as expired, and the job makes it so
    assert {e["node"]["status"] for e in (await dealer.data(LIST))["dealRegistrations"]["edges"]} == {"EXPIRED"}
    async with sessions() as session, session.begin():
        assert await expire_due(session) >= 1
    # And another partner may now register the customer and have it approved
    rival = await _submit(await as_("r1b_sales"), "Expiring Customer")
    assert rival["status"] == "SUBMITTED"
    payload = (await channel.data(APPROVE, input={"id": rival["id"]}))["approveDealRegistration"]
    assert payload["errors"] == [] and payload["dealRegistration"]["status"] == "APPROVED"


async def test_extension_and_withdrawal(world, as_) -> None:  # type: ignore[no-untyped-def]
    dealer, channel = await as_("r1a_sales"), await as_("channel_mgr")
    registration = await _submit(dealer, "Extended Customer")
    approved = (await channel.data(APPROVE, input={"id": registration["id"]}))["approveDealRegistration"][
        "dealRegistration"
    ]
    before = datetime.fromisoformat(approved["protectionExpiresAt"])
    payload = await dealer.data(REQUEST_EXTENSION, input={"id": registration["id"], "days": 999, "reason": "x"})
    assert payload["requestRegistrationExtension"]["errors"] == [{"field": "days", "code": "OUT_OF_RANGE"}]
    payload = await dealer.data(
        REQUEST_EXTENSION, input={"id": registration["id"], "days": 30, "reason": "Tender delayed"}
    )
    assert payload["requestRegistrationExtension"]["dealRegistration"] == {"extensionRequestedDays": 30}
    payload = await channel.data(DECIDE_EXTENSION, input={"id": registration["id"], "days": 30, "reason": "ok"})
    granted = payload["decideRegistrationExtension"]["dealRegistration"]
    assert datetime.fromisoformat(granted["protectionExpiresAt"]) - before == timedelta(days=30)
    assert granted["extensionRequestedDays"] is None
    # Withdrawal ends protection at once
    payload = await dealer.data(WITHDRAW, input={"id": registration["id"], "reason": "Customer chose another vendor"})
    assert payload["withdrawDealRegistration"]["dealRegistration"] == {"status": "WITHDRAWN"}
    rival = await _submit(await as_("r1b_sales"), "Extended Customer")
    assert rival["status"] == "SUBMITTED"


async def test_protection_window_is_a_tenant_setting(world, as_) -> None:  # type: ignore[no-untyped-def]
    payload = (await (await as_("channel_mgr")).data(SET_DAYS, days=30))["setDealProtectionDays"]
    assert payload["errors"] == [{"field": None, "code": "FORBIDDEN"}]
    admin = await as_("admin")
    assert (await admin.data(SET_DAYS, days=0))["setDealProtectionDays"]["errors"] == [
        {"field": "days", "code": "OUT_OF_RANGE"}
    ]
    assert (await admin.data(SET_DAYS, days=30))["setDealProtectionDays"] == {"days": 30, "errors": []}
    registration = await _submit(await as_("r1a_sales"), "Short Window Customer")
    approved = (await (await as_("channel_mgr")).data(APPROVE, input={"id": registration["id"]}))[
        "approveDealRegistration"
    ]["dealRegistration"]
    remaining = datetime.fromisoformat(approved["protectionExpiresAt"]) - datetime.now(UTC)
    assert timedelta(days=29) < remaining <= timedelta(days=30)


async def test_approval_can_link_the_open_opportunity_it_is_about(world, as_) -> None:  # type: ignore[no-untyped-def]
    # Given a dealer registering the deal that is already the open direct opportunity O1 on A_east
    registration = await _submit(await as_("r1a_sales"), "A_east Industries")
    opportunity = gid("Opportunity", world.opportunities["O1"].id)
    # The channel manager of D1 cannot edit O1 (a direct deal), so linking it is refused...
    payload = await (await as_("channel_mgr")).data(
        APPROVE, input={"id": registration["id"], "opportunityId": opportunity}
    )
    assert payload["approveDealRegistration"]["errors"] == [
        {"field": "opportunityId", "code": "NOT_FOUND", "message": "No opportunity with that id."}
    ]
    # ...while an admin links it: the dealer becomes its sourcing partner and its submitter joins the team
    approved = (
        await (await as_("admin")).data(APPROVE, input={"id": registration["id"], "opportunityId": opportunity})
    )["approveDealRegistration"]["dealRegistration"]
    assert approved["opportunity"]["id"] == opportunity
    assert approved["opportunity"]["partners"] == [
        {"role": "SOURCING", "organization": {"name": world.orgs["R1a"].name}}
    ]
    assert {"salesRole": "PARTNER_REP", "user": {"email": world.users["r1a_sales"].email}} in approved["opportunity"][
        "team"
    ]


async def test_each_refused_decision_names_its_own_code(world, as_, sessions) -> None:  # type: ignore[no-untyped-def]
    dealer, channel, admin = await as_("r1a_sales"), await as_("channel_mgr"), await as_("admin")
    submitted = await _submit(dealer, "Code Customer One")
    # Given a submitted registration: it protects nothing yet, so there is nothing to extend
    payload = await dealer.data(REQUEST_EXTENSION, input={"id": submitted["id"], "days": 10, "reason": "x"})
    assert payload["requestRegistrationExtension"]["errors"] == [{"field": "id", "code": "REGISTRATION_NOT_APPROVED"}]
    # When it is withdrawn, withdrawing it again is refused as closed
    await dealer.data(WITHDRAW, input={"id": submitted["id"], "reason": "Lost"})
    payload = await dealer.data(WITHDRAW, input={"id": submitted["id"], "reason": "Again"})
    assert payload["withdrawDealRegistration"]["errors"] == [
        {"field": "id", "code": "REGISTRATION_CLOSED", "message": "A withdrawn registration cannot be withdrawn."}
    ]
    # An approved registration whose window has run out is refused as expired, before the job runs too
    expiring = await _submit(dealer, "Code Customer Two")
    await channel.data(APPROVE, input={"id": expiring["id"]})
    async with sessions() as session, session.begin():
        await session.execute(
            update(DealRegistration)
            .where(DealRegistration.id == parse_global_id(expiring["id"])[1])  # type: ignore[index]
            .values(protection_expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    payload = await dealer.data(REQUEST_EXTENSION, input={"id": expiring["id"], "days": 10, "reason": "x"})
    assert payload["requestRegistrationExtension"]["errors"] == [{"field": "id", "code": "REGISTRATION_EXPIRED"}]
    payload = await channel.data(DECIDE_EXTENSION, input={"id": expiring["id"], "days": 10, "reason": "x"})
    assert payload["decideRegistrationExtension"]["errors"] == [{"field": "id", "code": "REGISTRATION_EXPIRED"}]
    payload = await dealer.data(WITHDRAW, input={"id": expiring["id"], "reason": "x"})
    assert [e["code"] for e in payload["withdrawDealRegistration"]["errors"]] == ["REGISTRATION_EXPIRED"]
    # A closed opportunity cannot take a registration
    await _close(sessions, world.opportunities["O1"].id)
    third = await _submit(dealer, "Code Customer Three")
    payload = await admin.data(
        APPROVE, input={"id": third["id"], "opportunityId": gid("Opportunity", world.opportunities["O1"].id)}
    )
    assert payload["approveDealRegistration"]["errors"] == [
        {
            "field": "opportunityId",
            "code": "REGISTRATION_OPPORTUNITY_CLOSED",
            "message": "A closed opportunity cannot take a registration.",
        }
    ]
    # and nothing of the refused approval was kept
    assert (await channel.data(LIST))["dealRegistrations"]["edges"][0]["node"] == {
        "customerName": "Code Customer Three",
        "status": "SUBMITTED",
    }


async def _close(sessions, opportunity_id) -> None:  # type: ignore[no-untyped-def]
    async with sessions() as session, session.begin():
        await session.execute(
            update(Opportunity).where(Opportunity.id == opportunity_id).values(stage=Stage.CLOSED_LOST)
        )
