"""What the partner portal needed of the API, for every front end: credit, receivables line by line, saved views,
partner filters, role changes, cancellability and the sign-in page's SSO question."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from domain.audit.trail import AuditEvent
from domain.channel.deal_registrations import DealRegistration, RegistrationStatus
from domain.channel.leads import Lead, LeadSource, LeadStatus
from domain.commerce.orders import Order, record_credit
from domain.commerce.receivables import Installment
from tests.integration.commerce_setup import stock_catalogue
from tests.integration.graphql_client import gid
from tests.reads import read_for_test

PLACE = (
    "mutation($i: PlacePartnerOrderInput!) { placePartnerOrder(input: $i) { order { id number cancellable "
    "total { amount currency } } errors { field code message } } }"
)
CREDIT = "{ myCredit { limit owed uninvoiced available currency asOf } }"
BREAKDOWN = (
    "query($by: ReceivablesGrouping!, $partner: ID, $first: Int! = 50) { receivablesBreakdown(by: $by, "
    "partnerId: $partner, first: $first) { order { number partner { name } } account { name } ownStock "
    "receivables { planned { amount currency } due { amount } overdue { amount } } } }"
)


@pytest.fixture
async def shop(sessions, world):  # type: ignore[no-untyped-def]
    return await stock_catalogue(sessions, world.tenant_id)


def line(shop, code: str, quantity: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"productId": gid("Product", shop[code]), "quantity": quantity}


async def _credit(sessions, world, org: str, limit: str, owed: str) -> None:  # type: ignore[no-untyped-def]
    async with sessions() as session, session.begin():
        await record_credit(session, world.tenant_id, str(world.orgs[org].id), Decimal(limit), Decimal(owed))


# --- myCredit


async def test_a_partner_sees_its_credit_before_it_orders_and_it_shrinks_with_each_order(as_, world, shop, sessions):  # type: ignore[no-untyped-def]
    r1a = await as_("r1a_sales")
    # Given no standing from the ERP yet, there is nothing to show
    assert (await r1a.data(CREDIT))["myCredit"] is None

    # Given the ERP's limit of 5000 with 1000 owed
    await _credit(sessions, world, "R1a", "5000.00", "1000.00")
    credit = (await r1a.data(CREDIT))["myCredit"]
    assert credit["limit"] == "5000.00" and credit["owed"] == "1000.00"
    assert credit["uninvoiced"] == "0.00" and credit["available"] == "4000.00" and credit["currency"] == "USD"

    # When the dealer orders 2 gateways at its price (750 each)
    placed = await r1a.data(PLACE, i={"lines": [line(shop, "HW-100", "2")]})
    assert placed["placePartnerOrder"]["errors"] == []
    # then the order is uninvoiced and the available credit is what the order check uses
    credit = (await r1a.data(CREDIT))["myCredit"]
    assert credit["uninvoiced"] == "1500.00" and credit["available"] == "2500.00"
    refused = await r1a.data(PLACE, i={"lines": [line(shop, "HW-100", "4")]})  # 3000 > 2500
    assert refused["placePartnerOrder"]["errors"][0]["field"] == "lines"

    # and internal users and another partner see none of it
    assert (await (await as_("am_east")).data(CREDIT))["myCredit"] is None
    assert (await (await as_("r1b_sales")).data(CREDIT))["myCredit"] is None


# --- receivablesBreakdown


async def _order_for(caller, shop, account_gid=None, quantity="1"):  # type: ignore[no-untyped-def]
    body = await caller.data(PLACE, i={"accountId": account_gid, "lines": [line(shop, "SVC-200", quantity)]})
    assert body["placePartnerOrder"]["errors"] == [], body
    return body["placePartnerOrder"]["order"]


async def test_receivables_line_by_line_per_order_and_per_customer_within_what_the_viewer_sees(  # type: ignore[no-untyped-def]
    as_, world, shop, sessions
):
    r1a, r1b = await as_("r1a_sales"), await as_("r1b_sales")
    mine = await _order_for(r1a, shop, gid("Account", world.accounts["A_r1a"].id), "2")  # 2 × 150
    stock = await _order_for(r1a, shop)  # 150, own stock
    sibling = await _order_for(r1b, shop, quantity="3")  # 3 × 150, another dealer of the same distributor
    # Given the dealer's customer order is a month overdue
    async with sessions() as session, session.begin():
        order_id = (
            await session.execute(
                read_for_test(
                    select(Order.id).where(Order.tenant_id == world.tenant_id, Order.number == mine["number"])
                )
            )
        ).scalar_one()
        await session.execute(
            update(Installment)
            .where(Installment.tenant_id == world.tenant_id, Installment.order_id == order_id)
            .values(due_date=datetime.now(UTC).date() - timedelta(days=30))
        )

    # When the dealer asks per order, its two orders come, the overdue one first, and not its sibling's
    by_order = (await r1a.data(BREAKDOWN, by="ORDER"))["receivablesBreakdown"]
    assert [row["order"]["number"] for row in by_order] == [mine["number"], stock["number"]]
    assert by_order[0]["receivables"]["overdue"]["amount"] == "300.00"
    assert by_order[1]["receivables"]["overdue"]["amount"] == "0.00"
    assert by_order[1]["receivables"]["due"]["amount"] == "150.00"

    # and per customer, its customer and its own stock
    by_account = (await r1a.data(BREAKDOWN, by="ACCOUNT"))["receivablesBreakdown"]
    assert [(row["account"] or {}).get("name") for row in by_account] == ["A_r1a Industries", None]
    assert [row["ownStock"] for row in by_account] == [False, True]

    # When their distributor asks, it sees both dealers' orders, and can narrow to one dealer
    d1 = await as_("d1_admin")
    numbers = {row["order"]["number"] for row in (await d1.data(BREAKDOWN, by="ORDER"))["receivablesBreakdown"]}
    assert numbers == {mine["number"], stock["number"], sibling["number"]}
    narrowed = await d1.data(BREAKDOWN, by="ORDER", partner=gid("Organization", world.orgs["R1b"].id))
    assert [row["order"]["number"] for row in narrowed["receivablesBreakdown"]] == [sibling["number"]]

    # and the sibling dealer's partner id is not found for the first dealer; a bad `first` names the argument
    hidden = await r1a(BREAKDOWN, by="ORDER", partner=gid("Organization", world.orgs["R1b"].id))
    assert hidden["errors"][0]["extensions"] == {"code": "NOT_FOUND", "field": "partnerId"}
    bad = await r1a(BREAKDOWN, by="ORDER", first=0)
    assert bad["errors"][0]["extensions"] == {"code": "OUT_OF_RANGE", "field": "first"}
    assert bad["data"] is None or bad["data"].get("receivablesBreakdown") is None


# --- Lists a distributor narrows to one dealer


LEADS = (
    "query($p: ID, $s: LeadStatus) { leads(partnerId: $p, status: $s, first: 50) { edges { node { companyName } } } }"
)
REGISTRATIONS = (
    "query($p: ID, $before: DateTime) { dealRegistrations(partnerId: $p, protectionExpiresBefore: $before, first: 50) "
    "{ edges { node { customerName } } } }"
)


async def test_leads_and_registrations_narrow_to_one_dealer_and_to_protection_ending_soon(as_, world, sessions):  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        for org, company in (("R1a", "Lead of R1a"), ("R1b", "Lead of R1b")):
            session.add(
                Lead(
                    tenant_id=world.tenant_id, company_name=company, normalized_name=company.lower(), last_name="Li",
                    source=LeadSource.API, status=LeadStatus.OFFERED, partner_organization_id=world.orgs[org].id,
                    offer_expires_at=now + timedelta(hours=20),
                )
            )  # fmt: skip
        for org, customer, days in (("R1a", "Soon Co", 5), ("R1a", "Later Co", 80), ("R1b", "Sibling Co", 5)):
            session.add(
                DealRegistration(
                    tenant_id=world.tenant_id, partner_organization_id=world.orgs[org].id,
                    submitted_by_id=world.users["r1a_sales" if org == "R1a" else "r1b_sales"].id,
                    customer_name=customer, customer_normalized_name=customer.lower(), products=["plc"],
                    amount=Decimal("1000.00"), currency="USD", expected_close_date=(now + timedelta(days=90)).date(),
                    status=RegistrationStatus.APPROVED, protection_expires_at=now + timedelta(days=days),
                )
            )  # fmt: skip
    d1 = await as_("d1_admin")
    r1a_id, r1b_id = gid("Organization", world.orgs["R1a"].id), gid("Organization", world.orgs["R1b"].id)

    def names(body, key):  # type: ignore[no-untyped-def]
        return sorted(
            e["node"]["customerName" if key == "dealRegistrations" else "companyName"] for e in body[key]["edges"]
        )

    assert names(await d1.data(LEADS, s="OFFERED"), "leads") == ["Lead of R1a", "Lead of R1b"]
    assert names(await d1.data(LEADS, p=r1b_id), "leads") == ["Lead of R1b"]
    assert names(await d1.data(REGISTRATIONS, p=r1a_id), "dealRegistrations") == ["Later Co", "Soon Co"]
    soon = (now + timedelta(days=30)).isoformat()
    assert names(await d1.data(REGISTRATIONS, before=soon), "dealRegistrations") == ["Sibling Co", "Soon Co"]
    # A dealer's view never widens: naming its sibling finds nothing; a malformed id names the argument
    r1a = await as_("r1a_sales")
    assert names(await r1a.data(LEADS, p=r1b_id), "leads") == []
    bad = await r1a(LEADS, p="not an id")
    assert bad["errors"][0]["extensions"]["field"] == "partnerId"


# --- Saved views

SAVE = (
    "mutation($i: SaveViewInput!) { saveView(input: $i) { view { id name list filters } "
    "errors { field code message } } }"
)
VIEWS = "{ savedViews(list: DEALS) { id name filters } }"
DELETE = "mutation($id: ID!) { deleteSavedView(id: $id) { view { name } errors { field code } } }"
NODE = "query($id: ID!) { node(id: $id) { __typename ... on SavedView { name } } }"


async def test_saved_views_are_personal_named_filters_checked_for_shape(as_):  # type: ignore[no-untyped-def]
    r1a, r1b = await as_("r1a_sales"), await as_("r1b_sales")
    filters = {"stages": ["PROPOSAL", "NEGOTIATION"], "search": "robot", "closingThisMonth": True}
    saved = (await r1a.data(SAVE, i={"list": "DEALS", "name": "Hot deals", "filters": filters}))["saveView"]
    assert saved["errors"] == [] and saved["view"]["filters"] == filters and saved["view"]["list"] == "DEALS"
    view_id = saved["view"]["id"]
    assert (await r1a.data(VIEWS))["savedViews"] == [{"id": view_id, "name": "Hot deals", "filters": filters}]
    assert (await r1a.data(NODE, id=view_id))["node"] == {"__typename": "SavedView", "name": "Hot deals"}

    # Renaming keeps the id; a second view of the same name is refused, naming the field
    renamed = await r1a.data(SAVE, i={"list": "DEALS", "name": "Closing soon", "filters": {}, "id": view_id})
    assert renamed["saveView"]["view"]["id"] == view_id
    await r1a.data(SAVE, i={"list": "DEALS", "name": "Other", "filters": {}})
    clash = await r1a.data(SAVE, i={"list": "DEALS", "name": "Other", "filters": {}, "id": view_id})
    assert (
        clash["saveView"]["errors"][0]["field"] == "name"
        and clash["saveView"]["errors"][0]["code"] == "VIEW_NAME_TAKEN"
    )

    # Filters that are not a flat object of scalars, or too big, are refused naming `filters`
    for bad in ([1, 2], {"nested": {"a": 1}}, {"x" * 60: 1}, {"big": "y" * 5000}):
        refused = (await r1a.data(SAVE, i={"list": "DEALS", "name": "Bad", "filters": bad}))["saveView"]
        assert refused["view"] is None and refused["errors"][0]["field"] == "filters", bad
    blank = (await r1a.data(SAVE, i={"list": "DEALS", "name": "  ", "filters": {}}))["saveView"]
    assert blank["errors"][0]["field"] == "name"

    # Another person neither sees, nor renames, nor deletes it
    assert (await r1b.data(VIEWS))["savedViews"] == []
    assert (await r1b.data(NODE, id=view_id))["node"] is None
    stolen = await r1b.data(SAVE, i={"list": "DEALS", "name": "Mine now", "filters": {}, "id": view_id})
    assert stolen["saveView"]["errors"][0]["code"] == "NOT_FOUND"
    assert (await r1b.data(DELETE, id=view_id))["deleteSavedView"]["errors"][0]["code"] == "NOT_FOUND"

    # The owner deletes it
    assert (await r1a.data(DELETE, id=view_id))["deleteSavedView"]["view"]["name"] == "Closing soon"
    assert [v["name"] for v in (await r1a.data(VIEWS))["savedViews"]] == ["Other"]


# --- setUserRoles

SET_ROLES = "mutation($i: SetUserRolesInput!) { setUserRoles(input: $i) { user { email roles } errors { field code message } } }"


async def test_a_partner_admin_changes_roles_within_its_tree_with_partner_roles_only(as_, world, sessions):  # type: ignore[no-untyped-def]
    d1 = await as_("d1_admin")
    target = gid("User", world.users["r1a_sales"].id)
    changed = (await d1.data(SET_ROLES, i={"id": target, "roles": ["partner_manager", "partner_sales"]}))[
        "setUserRoles"
    ]
    assert changed["errors"] == [] and changed["user"]["roles"] == ["partner_manager", "partner_sales"]
    async with sessions() as session:
        event = (
            await session.execute(
                read_for_test(
                    select(AuditEvent).where(
                        AuditEvent.tenant_id == world.tenant_id,
                        AuditEvent.record_id == world.users["r1a_sales"].id,
                        AuditEvent.action == "roles_changed",
                    )
                )
            )
        ).scalar_one()
    assert event.changes["roles"] == {"old": "partner_sales", "new": "partner_manager, partner_sales"}

    for roles, field in ((["admin"], "roles"), ([], "roles"), (["partner_chief"], "roles")):
        refused = (await d1.data(SET_ROLES, i={"id": target, "roles": roles}))["setUserRoles"]
        assert refused["user"] is None and refused["errors"][0]["field"] == field, roles
    own = await d1.data(SET_ROLES, i={"id": gid("User", world.users["d1_admin"].id), "roles": ["partner_sales"]})
    assert own["setUserRoles"]["errors"][0]["field"] == "id"
    # Another distributor's user and an internal user are out of reach; a dealer's sales rep may not change roles
    for key in ("d2_admin", "am_east"):
        outside = await d1.data(SET_ROLES, i={"id": gid("User", world.users[key].id), "roles": ["partner_sales"]})
        assert outside["setUserRoles"]["errors"][0]["code"] == "NOT_FOUND", key
    rep = await (await as_("r1b_sales")).data(SET_ROLES, i={"id": target, "roles": ["partner_admin"]})
    assert rep["setUserRoles"]["errors"][0]["code"] in {"FORBIDDEN", "NOT_FOUND"}


# --- Order.cancellable

CANCEL = 'mutation($id: ID!) { cancelOrder(id: $id, reason: "Ordered twice") { order { status cancellable } errors { code } } }'


async def test_an_order_says_whether_it_can_still_be_cancelled(as_, shop):  # type: ignore[no-untyped-def]
    r1a = await as_("r1a_sales")
    order = await _order_for(r1a, shop)
    assert order["cancellable"] is True
    cancelled = (await r1a.data(CANCEL, id=order["id"]))["cancelOrder"]
    assert cancelled["order"] == {"status": "CANCELLED", "cancellable": False}


# --- The sign-in page's question


async def test_the_sign_in_page_asks_whether_a_tenant_offers_single_sign_on(client, world, sessions):  # type: ignore[no-untyped-def]
    from domain.identity.sign_in.models import SsoConnection

    answer = await client.get("/auth/sign-in-options", params={"tenant": world.slug})
    assert answer.status_code == 200 and answer.json() == {"tenant": world.slug, "sso": False}
    unknown = await client.get("/auth/sign-in-options", params={"tenant": "no-such-tenant"})
    assert unknown.json() == {"tenant": "no-such-tenant", "sso": False}  # the same as a tenant without SSO
    async with sessions() as session, session.begin():
        session.add(
            SsoConnection(
                tenant_id=world.tenant_id, issuer="https://idp.example", client_id="crm", client_secret="s",
                enabled=True,
            )
        )  # fmt: skip
    assert (await client.get("/auth/sign-in-options", params={"tenant": world.slug.upper()})).json()["sso"] is True
    missing = await client.get("/auth/sign-in-options")
    assert missing.status_code == 400 and missing.json()["error"]["field"] == "tenant"
    too_long = await client.get("/auth/sign-in-options", params={"tenant": "x" * 64})
    assert too_long.status_code == 400 and too_long.json()["error"]["field"] == "tenant"
