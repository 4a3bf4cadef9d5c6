"""Optimistic concurrency: a change made from an older read of a record is refused, naming what changed since,
and writes nothing; records people edit together carry a `version` the client sends back as `expectedVersion`."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any

import pytest

from domain.access.unit_of_work import system_unit_of_work
from domain.erp.outbox import MessageKind
from domain.erp.status import ReportedStatus, apply_status
from tests.integration.commerce_setup import line, quote_to_order, stock_catalogue, win
from tests.integration.graphql_client import gid

DEAL = """
query($id: ID!) {
  node(id: $id) { ... on Opportunity { version name stage amount { amount } closeDate probability } }
}
"""
UPDATE = """
mutation($input: UpdateOpportunityInput!) {
  updateOpportunity(input: $input) { opportunity { version amount { amount } closeDate } errors { field code message } }
}
"""
MOVE = """
mutation($input: MoveOpportunityStageInput!) {
  moveOpportunityStage(input: $input) { opportunity { version stage } errors { field code message } }
}
"""
ACCOUNT = "query($id: ID!) { node(id: $id) { ... on Account { version name industry grade } } }"
UPDATE_ACCOUNT = """
mutation($input: UpdateAccountInput!) {
  updateAccount(input: $input) { account { version industry grade } errors { field code message } }
}
"""
CREATE_CONTACT = """
mutation($input: CreateContactInput!) { createContact(input: $input) { contact { id version } errors { code } } }
"""
CONTACT = "query($id: ID!) { node(id: $id) { ... on Contact { version title phone } } }"
UPDATE_CONTACT = """
mutation($input: UpdateContactInput!) {
  updateContact(input: $input) { contact { version title phone } errors { field code message } }
}
"""
CREATE_QUOTE = """
mutation($i: CreateQuoteInput!) { createQuote(input: $i) { quote { id version editVersion status } errors { code } } }
"""
QUOTE = "query($id: ID!) { node(id: $id) { ... on Quote { version editVersion status } } }"
SUBMIT_QUOTE = """
mutation($id: ID!, $v: Int) {
  submitQuote(id: $id, expectedEditVersion: $v) { quote { editVersion status } errors { field code message } }
}
"""
SEND_QUOTE = """
mutation($id: ID!, $v: Int) {
  sendQuote(id: $id, expectedEditVersion: $v) { quote { editVersion status } errors { field code message } }
}
"""
CREATE_CONTRACT = """
mutation($i: CreateContractInput!) { createContract(input: $i) { contract { id number version status } errors { code } } }
"""
CONTRACT = "query($id: ID!) { node(id: $id) { ... on Contract { version status endDate } } }"
SUBMIT_CONTRACT = """
mutation($id: ID!, $v: Int) {
  submitContract(id: $id, expectedVersion: $v) { contract { version status } errors { field code message } }
}
"""
APPROVE_CONTRACT = """
mutation($id: ID!, $v: Int) {
  approveContract(id: $id, expectedVersion: $v) { contract { version status } errors { field code message } }
}
"""
TERMINATE = """
mutation($id: ID!, $v: Int) {
  terminateContract(id: $id, reason: "Customer left", expectedVersion: $v) {
    contract { version status } errors { field code message }
  }
}
"""
PARTNER = "query($id: ID!) { node(id: $id) { ... on Organization { version name specializations tier } } }"
UPDATE_PARTNER = """
mutation($input: UpdatePartnerInput!) {
  updatePartner(input: $input) { organization { version name tier } errors { field code message } }
}
"""


def _codes(errors: list[dict[str, Any]]) -> list[tuple[str | None, str]]:
    return [(e["field"], e["code"]) for e in errors]


async def test_two_people_saving_one_deal_from_the_same_read_lose_nothing(world, as_) -> None:  # type: ignore[no-untyped-def]
    # Given the owner and their manager both open O1 at the same version
    owner, manager = await as_("am_east"), await as_("manager_east")
    o1 = gid("Opportunity", world.opportunities["O1"].id)
    read = (await owner.data(DEAL, id=o1))["node"]
    assert read["version"] == 1
    # When the owner saves a new amount, then the manager saves a close date from the same read
    first = (await owner.data(UPDATE, input={"id": o1, "amount": "2500.00", "expectedVersion": 1}))["updateOpportunity"]
    assert first["errors"] == [] and first["opportunity"]["version"] == 2
    second = (await manager.data(UPDATE, input={"id": o1, "closeDate": "2027-06-30", "expectedVersion": 1}))[
        "updateOpportunity"
    ]
    # Then the manager is told what changed meanwhile, and nothing of theirs was written
    assert second["opportunity"] is None
    assert _codes(second["errors"]) == [("expectedVersion", "CONFLICT"), ("amount", "CONFLICT")]
    assert "version 1" in second["errors"][0]["message"] and "amount changed" in second["errors"][0]["message"]
    now = (await owner.data(DEAL, id=o1))["node"]
    assert now["version"] == 2 and now["amount"] == {"amount": "2500.00"} and now["closeDate"] == "2027-03-31"
    # And from the version now read, the manager's change goes through
    third = (await manager.data(UPDATE, input={"id": o1, "closeDate": "2027-06-30", "expectedVersion": 2}))[
        "updateOpportunity"
    ]
    assert third["errors"] == [] and third["opportunity"] == {
        "version": 3, "amount": {"amount": "2500.00"}, "closeDate": "2027-06-30"
    }  # fmt: skip


async def test_a_stale_stage_move_with_a_reason_does_not_send_the_deal_back(world, as_) -> None:  # type: ignore[no-untyped-def]
    # Given two people reading O1 in QUALIFICATION
    owner, manager = await as_("am_east"), await as_("manager_east")
    o1 = gid("Opportunity", world.opportunities["O1"].id)
    # When one moves it on to PROPOSAL and the other, from the old read, moves it "back" to PROSPECTING with a reason
    moved = await owner.data(MOVE, input={"id": o1, "stage": "PROPOSAL", "expectedVersion": 1})
    assert moved["moveOpportunityStage"]["errors"] == []
    stale = (await manager.data(MOVE, input={"id": o1, "stage": "PROSPECTING", "reason": "Re-qualify",
                                             "expectedVersion": 1}))["moveOpportunityStage"]  # fmt: skip
    # Then the stale move is refused, naming the stage and the terms that moved with it, and the deal stays put
    assert stale["opportunity"] is None
    assert _codes(stale["errors"]) == [
        ("expectedVersion", "CONFLICT"), ("stage", "CONFLICT"), ("probability", "CONFLICT"),
        ("forecastCategory", "CONFLICT"),
    ]  # fmt: skip
    assert (await owner.data(DEAL, id=o1))["node"]["stage"] == "PROPOSAL"


async def test_without_an_expected_version_the_last_write_wins_as_before(world, as_) -> None:  # type: ignore[no-untyped-def]
    owner, manager = await as_("am_east"), await as_("manager_east")
    o1 = gid("Opportunity", world.opportunities["O1"].id)
    assert (await owner.data(UPDATE, input={"id": o1, "amount": "10.00"}))["updateOpportunity"]["errors"] == []
    last = (await manager.data(UPDATE, input={"id": o1, "amount": "20.00"}))["updateOpportunity"]
    assert last["errors"] == [] and last["opportunity"]["version"] == 3


async def test_an_expected_version_the_record_never_had_is_invalid(world, as_) -> None:  # type: ignore[no-untyped-def]
    owner = await as_("am_east")
    o1 = gid("Opportunity", world.opportunities["O1"].id)
    for wrong in (0, 7):
        payload = await owner.data(UPDATE, input={"id": o1, "amount": "5.00", "expectedVersion": wrong})
        errors = payload["updateOpportunity"]["errors"]
        assert _codes(errors) == [("expectedVersion", "INVALID")] and "version 1" in errors[0]["message"]
    assert (await owner.data(DEAL, id=o1))["node"]["amount"] == {"amount": "1000.00"}


async def test_saving_at_the_same_moment_from_one_read_one_wins_one_is_refused(world, as_) -> None:  # type: ignore[no-untyped-def]
    owner, manager = await as_("am_east"), await as_("manager_east")
    o1 = gid("Opportunity", world.opportunities["O1"].id)
    results = await asyncio.gather(
        owner.data(UPDATE, input={"id": o1, "amount": "111.00", "expectedVersion": 1}),
        manager.data(UPDATE, input={"id": o1, "amount": "222.00", "expectedVersion": 1}),
    )
    payloads = [r["updateOpportunity"] for r in results]
    won = [p for p in payloads if not p["errors"]]
    refused = [p for p in payloads if p["errors"]]
    assert len(won) == 1 and len(refused) == 1
    assert _codes(refused[0]["errors"]) == [("expectedVersion", "CONFLICT"), ("amount", "CONFLICT")]
    now = (await owner.data(DEAL, id=o1))["node"]
    assert now["version"] == 2 and now["amount"] == won[0]["opportunity"]["amount"]


async def test_a_conflict_does_not_name_internal_fields_to_a_partner(world, as_) -> None:  # type: ignore[no-untyped-def]
    # Given the dealer's distributor (a partner manager over the dealer) and the owner reading O3, the dealer's deal
    owner, dealer = await as_("am_east"), await as_("d1_manager")
    o3 = gid("Opportunity", world.opportunities["O3"].id)
    assert (await dealer.data(DEAL, id=o3))["node"]["version"] == 1
    # When the owner changes internal-only fields, and the dealer then saves from the old read
    changed = await owner.data(UPDATE, input={"id": o3, "margin": "0.4", "internalNotes": "walk away below 900",
                                              "expectedVersion": 1})  # fmt: skip
    assert changed["updateOpportunity"]["errors"] == []
    stale = await dealer.data(UPDATE, input={"id": o3, "closeDate": "2027-05-01", "expectedVersion": 1})
    errors = stale["updateOpportunity"]["errors"]
    # Then the dealer's save is refused without a word of which internal fields changed
    assert _codes(errors) == [("expectedVersion", "CONFLICT")]
    assert "margin" not in errors[0]["message"] and "internal" not in errors[0]["message"].lower()


async def test_accounts_and_contacts_refuse_a_save_from_an_older_read(world, as_) -> None:  # type: ignore[no-untyped-def]
    owner, manager = await as_("am_east"), await as_("manager_east")
    account = gid("Account", world.accounts["A_east"].id)
    assert (await owner.data(ACCOUNT, id=account))["node"]["version"] == 1
    ok = await owner.data(UPDATE_ACCOUNT, input={"id": account, "industry": "Mining", "expectedVersion": 1})
    assert ok["updateAccount"]["account"] == {"version": 2, "industry": "Mining", "grade": None}
    stale = await manager.data(UPDATE_ACCOUNT, input={"id": account, "grade": "A", "expectedVersion": 1})
    assert _codes(stale["updateAccount"]["errors"]) == [("expectedVersion", "CONFLICT"), ("industry", "CONFLICT")]
    assert (await owner.data(ACCOUNT, id=account))["node"] | {"name": None} == {
        "version": 2, "name": None, "industry": "Mining", "grade": None
    }  # fmt: skip

    created = await owner.data(CREATE_CONTACT, input={"accountId": account, "firstName": "Li", "lastName": "Wei"})
    contact = created["createContact"]["contact"]
    assert contact["version"] == 1
    ok = await owner.data(UPDATE_CONTACT, input={"id": contact["id"], "title": "CFO", "expectedVersion": 1})
    assert ok["updateContact"]["errors"] == []
    stale = await manager.data(
        UPDATE_CONTACT, input={"id": contact["id"], "phone": "+86 10 1234", "expectedVersion": 1}
    )
    assert _codes(stale["updateContact"]["errors"]) == [("expectedVersion", "CONFLICT"), ("title", "CONFLICT")]
    assert (await owner.data(CONTACT, id=contact["id"]))["node"] == {"version": 2, "title": "CFO", "phone": None}


async def test_partners_refuse_a_save_from_an_older_read(world, as_) -> None:  # type: ignore[no-untyped-def]
    # Given the distributor's admin and its channel manager reading D1
    d1_admin, channel = await as_("d1_admin"), await as_("channel_mgr")
    d1 = gid("Organization", world.orgs["D1"].id)
    version = (await d1_admin.data(PARTNER, id=d1))["node"]["version"]
    ok = await channel.data(UPDATE_PARTNER, input={"id": d1, "tier": "GOLD", "expectedVersion": version})
    assert ok["updatePartner"]["errors"] == [] and ok["updatePartner"]["organization"]["version"] == version + 1
    stale = await d1_admin.data(UPDATE_PARTNER, input={"id": d1, "name": "D1 renamed", "expectedVersion": version})
    assert _codes(stale["updatePartner"]["errors"]) == [("expectedVersion", "CONFLICT"), ("tier", "CONFLICT")]
    assert (await d1_admin.data(PARTNER, id=d1))["node"]["name"] == world.orgs["D1"].name


@pytest.fixture
async def shop(world, sessions):  # type: ignore[no-untyped-def]
    return await stock_catalogue(sessions, world.tenant_id)


async def test_quotes_refuse_a_step_taken_from_an_older_read(world, as_, shop) -> None:  # type: ignore[no-untyped-def]
    # Given a draft quote both the owner and the manager have open (revision 1, edit version 1)
    owner, manager = await as_("am_east"), await as_("manager_east")
    o1 = gid("Opportunity", world.opportunities["O1"].id)
    quote = (await owner.data(CREATE_QUOTE, i={"opportunityId": o1, "lines": [line(shop, "HW-100", "1")]}))[
        "createQuote"
    ]["quote"]
    assert (quote["version"], quote["editVersion"], quote["status"]) == (1, 1, "DRAFT")
    # When the owner submits it (approved at once), and the manager, from the draft they read, sends it
    submitted = (await owner.data(SUBMIT_QUOTE, id=quote["id"], v=1))["submitQuote"]
    assert submitted["errors"] == [] and submitted["quote"] == {"editVersion": 2, "status": "APPROVED"}
    stale = (await manager.data(SEND_QUOTE, id=quote["id"], v=1))["sendQuote"]
    # Then the manager learns it changed (its status) and it was not sent
    assert stale["quote"] is None
    assert _codes(stale["errors"])[:2] == [("expectedEditVersion", "CONFLICT"), ("status", "CONFLICT")]
    assert (await owner.data(QUOTE, id=quote["id"]))["node"] == {"version": 1, "editVersion": 2, "status": "APPROVED"}
    # And from the current edit version it is
    assert (await manager.data(SEND_QUOTE, id=quote["id"], v=2))["sendQuote"]["quote"]["status"] == "SENT"


async def test_contracts_refuse_a_step_taken_from_an_older_read(world, as_, shop, sessions) -> None:  # type: ignore[no-untyped-def]
    # Given a draft contract from O1's accepted quote
    owner, manager = await as_("am_east"), await as_("manager_east")
    o1 = world.opportunities["O1"]
    await win(sessions, world.tenant_id, o1.id)
    await quote_to_order(owner, gid("Opportunity", o1.id), [line(shop, "SVC-200", "1")])
    contract = (await owner.data(CREATE_CONTRACT, i={"opportunityId": gid("Opportunity", o1.id),
                                                     "startDate": "2027-01-01", "termMonths": 12}))["createContract"][
        "contract"
    ]  # fmt: skip
    assert (contract["version"], contract["status"]) == (1, "DRAFT")
    # When the owner sends it for approval and the manager, from the draft they read, terminates it
    assert (await owner.data(SUBMIT_CONTRACT, id=contract["id"], v=1))["submitContract"]["contract"] == {
        "version": 2, "status": "IN_APPROVAL"
    }  # fmt: skip
    stale = (await manager.data(TERMINATE, id=contract["id"], v=1))["terminateContract"]
    # Then the termination is refused, naming the status that changed, and the contract is as the owner left it
    assert _codes(stale["errors"]) == [("expectedVersion", "CONFLICT"), ("status", "CONFLICT")]
    assert (await owner.data(CONTRACT, id=contract["id"]))["node"]["status"] == "IN_APPROVAL"

    # What the ERP reports is bookkeeping, not someone's edit: it does not turn a person's read stale
    approved = (await manager.data(APPROVE_CONTRACT, id=contract["id"], v=2))["approveContract"]
    assert approved["errors"] == [] and approved["contract"]["version"] == 3
    async with sessions() as session, session.begin():
        report = ReportedStatus(MessageKind.CONTRACT, contract["number"], "ERP-1", "running", datetime.now(UTC))
        assert (await apply_status(system_unit_of_work(session, world.tenant_id, "erp sync"), report)).changed
    assert (await owner.data(CONTRACT, id=contract["id"]))["node"]["version"] == 3
    ended = (await owner.data(TERMINATE, id=contract["id"], v=3))["terminateContract"]
    assert ended["errors"] == [] and ended["contract"]["status"] == "TERMINATED"
    assert date.fromisoformat((await owner.data(CONTRACT, id=contract["id"]))["node"]["endDate"]) <= date(2027, 12, 31)


async def test_an_http_precondition_is_refused_rather_than_ignored(world, client, as_) -> None:  # type: ignore[no-untyped-def]
    # Given a client that sends If-Match hoping it guards the write
    owner = await as_("am_east")
    o1 = gid("Opportunity", world.opportunities["O1"].id)
    response = await client.post(
        "/graphql",
        json={"query": UPDATE, "variables": {"input": {"id": o1, "amount": "1.00"}}},
        headers={"Authorization": f"Bearer {owner.token}", "If-Match": '"1"'},
    )
    # Then nothing runs and the answer says where the version goes instead
    assert response.status_code == 400
    message = response.json()["errors"][0]["message"]
    assert "If-Match" in message and "expectedVersion" in message
    assert (await owner.data(DEAL, id=o1))["node"]["amount"] == {"amount": "1000.00"}
