"""Contract billing through the API: installments by calendar month, the next term's contract when a renewal
is won, and receivables that count as billed only what the ERP invoiced."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest
from dateutil.relativedelta import relativedelta

from api.graphql.relay import parse_global_id
from domain.commerce.contracts import run_renewals
from domain.erp.outbox import ErpAdapterKind
from integrations.erp import worker
from integrations.erp.signing import signed_headers
from integrations.erp.sync import RetryPolicy
from tests.integration.commerce.test_commerce import PLACE
from tests.integration.commerce_setup import connect_erp, line, quote_to_order, stock_catalogue, win
from tests.integration.graphql_client import Caller, gid
from tests.integration.signed_erp import SignedErp

FAST = RetryPolicy(base_seconds=0.05, cap_seconds=0.2)
SECRET = "billing-secret-for-tests"

CREATE = (
    "mutation($i: CreateContractInput!) { createContract(input: $i) { contract { id number endDate } "
    "errors { field code message } } }"
)
APPROVE = (
    "mutation($id: ID!) { approveContract(id: $id) { contract { status value { amount } "
    "installments { sequence dueDate amount { amount } } } errors { code message } } }"
)
CONTRACT = (
    "query($id: ID!) { node(id: $id) { ... on Contract { number status startDate endDate "
    "renewalOpportunity { id } renewedBy { id number status startDate endDate termMonths value { amount } "
    "lines { productCode quantity monthlyPrice { amount } } installments { dueDate amount { amount } } "
    "sync { state } opportunity { id } } } } }"
)
RECEIVABLES = "query($c: ID, $o: ID) { receivables(contractId: $c, orderId: $o) { planned { amount } billed { amount } paid { amount } due { amount } } }"


@pytest.fixture
async def shop(world, sessions):  # type: ignore[no-untyped-def]
    return await stock_catalogue(sessions, world.tenant_id)


async def _active_contract(as_, world, shop, sessions, start: date, months: int, quantity: str = "1") -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """An approved contract from O1's accepted quote for SVC-200 (200.00 a month each)."""
    am = await as_("am_east")
    o1 = world.opportunities["O1"]
    await win(sessions, world.tenant_id, o1.id)
    await quote_to_order(am, gid("Opportunity", o1.id), [line(shop, "SVC-200", quantity)])
    created = await am.data(
        CREATE, i={"opportunityId": gid("Opportunity", o1.id), "startDate": start.isoformat(), "termMonths": months}
    )
    assert not created["createContract"]["errors"], created
    contract = created["createContract"]["contract"]
    await am.data("mutation($id: ID!) { submitContract(id: $id) { contract { status } } }", id=contract["id"])
    approved = await (await as_("manager_east")).data(APPROVE, id=contract["id"])
    assert not approved["approveContract"]["errors"], approved
    return {**contract, **approved["approveContract"]["contract"]}


JAN_31 = [
    "2027-01-31",
    "2027-02-28",
    "2027-03-31",
    "2027-04-30",
    "2027-05-31",
    "2027-06-30",
    "2027-07-31",
    "2027-08-31",
    "2027-09-30",
    "2027-10-31",
    "2027-11-30",
    "2027-12-31",
]


@pytest.mark.parametrize(
    "start, months, dues, end",
    [
        # The 12th installment of a year from 1 January falls in December (every 30 days put it on 27 November).
        (date(2027, 1, 1), 12, [f"2027-{m:02d}-01" for m in range(1, 13)], "2027-12-31"),
        # From the 31st: the last day of each shorter month, and back to the 31st in the long ones.
        (date(2027, 1, 31), 12, JAN_31, "2028-01-30"),
        (date(2028, 1, 31), 3, ["2028-01-31", "2028-02-29", "2028-03-31"], "2028-04-29"),  # a leap year's February
    ],
)
async def test_installments_fall_one_a_calendar_month_each_in_its_own_month(  # type: ignore[no-untyped-def]
    as_, world, shop, sessions, start, months, dues, end
):
    # Given a contract of `months` months from `start`, when it is approved,
    contract = await _active_contract(as_, world, shop, sessions, start, months)
    # then there is one installment a month, on the start's day of the month (or the month's last day),
    assert [i["dueDate"] for i in contract["installments"]] == dues
    assert [i["sequence"] for i in contract["installments"]] == list(range(1, months + 1))
    months_billed = [date.fromisoformat(d).strftime("%Y-%m") for d in dues]
    assert len(set(months_billed)) == months  # never two in one month, never one skipped
    # each 200.00, together the contract's value, and the term ends the day before the next would start.
    assert {i["amount"]["amount"] for i in contract["installments"]} == {"200.00"}
    assert sum(Decimal(i["amount"]["amount"]) for i in contract["installments"]) == Decimal(contract["value"]["amount"])
    assert contract["endDate"] == end


async def _renewal_opened(as_, world, shop, sessions) -> tuple[Caller, dict[str, Any], str]:  # type: ignore[no-untyped-def]
    """A 12-month contract 300 days in, with its renewal opportunity opened by the job."""
    contract = await _active_contract(as_, world, shop, sessions, date.today() - timedelta(days=300), 12)
    async with sessions() as session, session.begin():
        await run_renewals(session)
    am = await as_("am_east")
    opened = (await am.data(CONTRACT, id=contract["id"]))["node"]
    assert opened["status"] == "EXPIRING" and opened["renewedBy"] is None
    return am, contract, opened["renewalOpportunity"]["id"]


async def _win_renewal(sessions, world, renewal_gid: str) -> None:  # type: ignore[no-untyped-def]
    parsed = parse_global_id(renewal_gid)
    assert parsed is not None
    await win(sessions, world.tenant_id, parsed[1])
    async with sessions() as session, session.begin():
        await run_renewals(session)


async def test_a_won_renewal_makes_the_next_terms_contract_with_the_same_lines(as_, world, shop, sessions):  # type: ignore[no-untyped-def]
    # Given a contract whose renewal opportunity the job opened, when that opportunity is won and the job runs,
    am, contract, renewal_gid = await _renewal_opened(as_, world, shop, sessions)
    await _win_renewal(sessions, world, renewal_gid)
    # then the contract is renewed, and the next term's contract follows on from the day after its end,
    old = (await am.data(CONTRACT, id=contract["id"]))["node"]
    assert old["status"] == "RENEWED"
    following = old["renewedBy"]
    assert following is not None and following["number"] != old["number"]
    start = date.fromisoformat(old["endDate"]) + timedelta(days=1)
    assert following["startDate"] == start.isoformat() and following["termMonths"] == 12
    assert following["endDate"] == (start + relativedelta(years=1) - timedelta(days=1)).isoformat()
    # with the same lines and prices, so it is active at once: planned by calendar month and queued for the ERP.
    assert following["lines"] == [
        {"productCode": "SVC-200", "quantity": "1.00", "monthlyPrice": {"amount": "200.0000"}}
    ]
    assert following["status"] == "ACTIVE" and following["value"]["amount"] == "2400.00"
    assert following["sync"]["state"] == "PENDING"
    assert following["opportunity"]["id"] == renewal_gid
    dues = [date.fromisoformat(i["dueDate"]) for i in following["installments"]]
    assert dues[0] == start and len(dues) == 12
    assert len({(d.year, d.month) for d in dues}) == 12
    # The job again makes no second contract; partners of other subtrees see neither.
    async with sessions() as session, session.begin():
        await run_renewals(session)
    assert (await am.data("{ contracts { totalCount } }"))["contracts"]["totalCount"] == 2
    assert (await (await as_("d2_admin")).data("{ contracts { totalCount } }"))["contracts"]["totalCount"] == 0


async def test_a_renewal_quoted_differently_makes_a_contract_waiting_for_approval(as_, world, shop, sessions):  # type: ignore[no-untyped-def]
    # Given a renewal opportunity whose accepted quote sells three support plans instead of one,
    am, contract, renewal_gid = await _renewal_opened(as_, world, shop, sessions)
    quoted = await am.data(
        "mutation($i: CreateQuoteInput!) { createQuote(input: $i) { quote { id } errors { field code message } } }",
        i={"opportunityId": renewal_gid, "lines": [line(shop, "SVC-200", "3")]},
    )
    assert not quoted["createQuote"]["errors"], quoted
    qid = quoted["createQuote"]["quote"]["id"]
    for step in ("submitQuote", "sendQuote", "acceptQuote"):
        done = await am.data(
            f"mutation($id: ID!) {{ {step}(id: $id) {{ quote {{ status }} errors {{ message }} }} }}", id=qid
        )
        assert not done[step]["errors"], done
    # when it is won and the job runs,
    await _win_renewal(sessions, world, renewal_gid)
    # then the next term's contract has the quote's lines and prices, and waits for approval: no plan, nothing sent.
    following = (await am.data(CONTRACT, id=contract["id"]))["node"]["renewedBy"]
    assert following["lines"] == [
        {"productCode": "SVC-200", "quantity": "3.00", "monthlyPrice": {"amount": "200.0000"}}
    ]
    assert following["status"] == "IN_APPROVAL" and following["value"]["amount"] == "7200.00"
    assert following["installments"] == [] and following["sync"]["state"] == "NOT_SENT"
    approved = await (await as_("manager_east")).data(APPROVE, id=following["id"])
    assert approved["approveContract"]["contract"]["status"] == "ACTIVE"
    assert {i["amount"]["amount"] for i in approved["approveContract"]["contract"]["installments"]} == {"600.00"}


@pytest.fixture
async def erp(world, sessions):  # type: ignore[no-untyped-def]
    await connect_erp(sessions, world.tenant_id, ErpAdapterKind.WEBHOOK, {"url": "http://erp.test"}, SECRET)
    return SignedErp(SECRET, tenant_id=world.tenant_id)


async def _report(client, world, status: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    """The ERP's signed notification of a status, through the public webhook."""
    body = orjson.dumps({"statuses": [status]})
    headers = signed_headers(SECRET, body, str(uuid.uuid4())) | {"x-crm-tenant": world.slug}
    response = await client.post("/webhooks/erp", content=body, headers=headers)
    assert response.status_code == 200, response.text


def _totals(body: dict[str, Any]) -> dict[str, str]:
    [row] = body["receivables"]
    return {k: v["amount"] for k, v in row.items()}


async def test_billed_counts_only_orders_the_erp_invoiced(as_, world, shop, erp, sessions, database_url, client):  # type: ignore[no-untyped-def]
    # Given a partner's order the ERP has not received,
    d2 = await as_("d2_admin")
    placed = await d2.data(PLACE, i={"lines": [line(shop, "HW-100", "1")]})
    order = placed["placePartnerOrder"]["order"]
    # then it is planned for payment, but nothing is billed;
    assert _totals(await d2.data(RECEIVABLES, o=order["id"])) == {
        "planned": "700.00",
        "billed": "0.00",
        "paid": "0.00",
        "due": "700.00",
    }
    # when the ERP confirms it with its invoice still pending (a draft), still nothing is billed;
    await worker.drain(database_url, sessions, ports=erp.port, policy=FAST)
    confirmed = await d2.data(
        "query($id: ID!) { node(id: $id) { ... on Order { status invoiceState } } }", id=order["id"]
    )
    assert confirmed["node"] == {"status": "CONFIRMED", "invoiceState": "pending"}
    assert _totals(await d2.data(RECEIVABLES, o=order["id"]))["billed"] == "0.00"
    # when the ERP posts the invoice, the order is billed, and its payment later changes nothing more.
    status = erp.records[order["number"]]
    status.update(invoice_state="awaiting payment", changed_at=erp.tick())
    await _report(client, world, status)
    assert _totals(await d2.data(RECEIVABLES, o=order["id"])) == {
        "planned": "700.00",
        "billed": "700.00",
        "paid": "0.00",
        "due": "700.00",
    }
    erp.pay(order["number"])
    await _report(client, world, erp.records[order["number"]])
    assert _totals(
        await d2.data("{ receivables { planned { amount } billed { amount } paid { amount } due { amount } } }")
    ) == {
        "planned": "700.00",
        "billed": "700.00",
        "paid": "700.00",
        "due": "0.00",
    }


async def test_billed_counts_a_contracts_months_once_the_erp_holds_it(as_, world, shop, erp, sessions, database_url):  # type: ignore[no-untyped-def]
    # Given an approved contract that began two months and a few days ago, not yet in the ERP,
    start = date.today() - timedelta(days=65)
    contract = await _active_contract(as_, world, shop, sessions, start, 12)
    am = await as_("am_east")
    assert _totals(await am.data(RECEIVABLES, c=contract["id"]))["billed"] == "0.00"
    # when the ERP has it running, the months begun (three: the start's and two more) are billed, no later ones.
    await worker.drain(database_url, sessions, ports=erp.port, policy=FAST)
    synced = await am.data(
        "query($id: ID!) { node(id: $id) { ... on Contract { sync { state erpState } } } }", id=contract["id"]
    )
    assert synced["node"]["sync"] == {"state": "SYNCED", "erpState": "running"}
    begun = sum(1 for i in contract["installments"] if date.fromisoformat(i["dueDate"]) <= date.today())
    assert begun == 3
    assert _totals(await am.data(RECEIVABLES, c=contract["id"])) == {
        "planned": "2400.00",
        "billed": "600.00",
        "paid": "0.00",
        "due": "2400.00",
    }
