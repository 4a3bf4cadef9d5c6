"""Input a user can send never breaks the server: each case is a clear error naming the field, and changes nothing.

NUL characters and lone surrogates (PostgreSQL's text refuses the first, UTF-8 cannot hold the second) in any
text argument, the public web form's bad bodies, malformed signed ERP webhooks, a price set without its price.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from domain.audit.trail import AuditEvent
from domain.channel.leads import Lead
from domain.channel.web_forms import WebForm, issue_token
from domain.selling.accounts import Account
from domain.selling.activities import Activity
from domain.selling.contacts import Contact
from tests.integration.graphql_client import caller_for, gid
from tests.integration.world import build_world
from tests.reads import read_for_test

NUL = "Acme\x00 Ltd"
LONE_SURROGATE = "Acme \ud800 Ltd"  # sent as the JSON escape \ud800, which JSON allows and UTF-8 cannot encode
BAD_STRINGS = [pytest.param(NUL, id="nul"), pytest.param(LONE_SURROGATE, id="lone-surrogate")]

CREATE_ACCOUNT = "mutation($input: CreateAccountInput!) { createAccount(input: $input) { account { id } errors { field code message } } }"
UPDATE_ACCOUNT = "mutation($input: UpdateAccountInput!) { updateAccount(input: $input) { account { id } errors { field code message } } }"
CREATE_CONTACT = "mutation($input: CreateContactInput!) { createContact(input: $input) { contact { id } errors { field code message } } }"
CREATE_LEAD = (
    "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } errors { field code message } } }"
)
LOG_ACTIVITY = "mutation($input: LogActivityInput!) { logActivity(input: $input) { activity { id } errors { field code message } } }"
CREATE_WEB_FORM = "mutation($input: CreateWebFormInput!) { createWebForm(input: $input) { form { key } errors { field code message } } }"
CREATE_OPPORTUNITY = "mutation($input: CreateOpportunityInput!) { createOpportunity(input: $input) { opportunity { id } errors { field code message } } }"

ACCOUNTS = "query($s: String) { accounts(filter: {search: $s}) { totalCount } }"
OPPORTUNITIES = "query($s: String) { opportunities(filter: {search: $s}) { totalCount } }"
ORGANIZATIONS = "query($s: String) { organizations(filter: {search: $s}) { totalCount } }"
USERS = "query($s: String) { users(filter: {search: $s}) { totalCount } }"
CONTACTS = "query($s: String) { contacts(search: $s) { totalCount } }"
PRODUCTS = "query($s: String) { products(search: $s) { totalCount } }"
NODE = "query($s: ID!) { node(id: $s) { id } }"
AFTER = "query($s: String) { accounts(first: 5, after: $s) { totalCount } }"


@pytest.fixture(scope="module")
async def world(sessions):  # type: ignore[no-untyped-def]
    return await build_world(sessions)


async def _post(client, token: str, query: str, variables: dict[str, Any]) -> tuple[int, dict[str, Any]]:  # type: ignore[no-untyped-def]
    """POST a GraphQL request whose JSON escapes every non-ASCII character (so a lone surrogate travels as \\ud800)."""
    response = await client.post(
        "/graphql",
        content=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    return response.status_code, response.json()


async def _counts(sessions, tenant_id) -> tuple[int, ...]:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return tuple(
            [
                (
                    await session.execute(read_for_test(select(func.count()).where(model.tenant_id == tenant_id)))
                ).scalar_one()
                for model in (Account, Contact, Lead, Activity, WebForm, AuditEvent)
            ]
        )


def _assert_refused(status: int, body: dict[str, Any], field: str, bad: str) -> None:
    """One error with code INVALID that names the field and says what is wrong; never INTERNAL.

    A lone surrogate may already be refused by the HTTP layer as JSON it will not decode (a 400 request error
    saying so); whatever gets past it meets the argument check, which names the field.
    """
    [error] = body["errors"]
    assert error.get("extensions", {}).get("code") != "INTERNAL", error
    if status == 400 and "\ud800" in bad:
        assert "surrogate" in error["message"], error
        return
    assert status == 200, body
    assert error["extensions"] == {"code": "INVALID", "field": field}, error
    problem = "NUL characters" if "\x00" in bad else "valid Unicode"
    assert error["message"].startswith(f"{field} must") and problem in error["message"], error["message"]


# (mutation, an input with BAD where the bad string goes, the field the error must name);
# ACCOUNT and OPPORTUNITY stand for ids of the world's records.
MUTATION_CASES = [
    (CREATE_ACCOUNT, {"name": "BAD"}, "input.name"),
    (CREATE_ACCOUNT, {"name": "Fine", "taxId": "BAD"}, "input.taxId"),
    (CREATE_ACCOUNT, {"name": "Fine", "industry": "BAD"}, "input.industry"),
    (UPDATE_ACCOUNT, {"id": "ACCOUNT", "grade": "BAD"}, "input.grade"),
    (CREATE_CONTACT, {"accountId": "ACCOUNT", "firstName": "BAD", "lastName": "Wei"}, "input.firstName"),
    (CREATE_CONTACT, {"accountId": "ACCOUNT", "firstName": "Li", "lastName": "Wei", "email": "BAD"}, "input.email"),
    (CREATE_LEAD, {"companyName": "Co", "lastName": "Chen", "interests": ["drives", "BAD"]}, "input.interests[1]"),
    (CREATE_LEAD, {"companyName": "BAD", "lastName": "Chen"}, "input.companyName"),
    (CREATE_LEAD, {"companyName": "Co", "lastName": "Chen", "message": "BAD"}, "input.message"),
    (LOG_ACTIVITY, {"kind": "CALL", "subject": "BAD", "opportunityId": "OPPORTUNITY"}, "input.subject"),
    (LOG_ACTIVITY, {"kind": "CALL", "subject": "Call", "notes": "BAD", "accountId": "ACCOUNT"}, "input.notes"),
    (CREATE_WEB_FORM, {"name": "BAD"}, "input.name"),
    (CREATE_WEB_FORM, {"name": "Form", "campaign": "BAD"}, "input.campaign"),
    (CREATE_OPPORTUNITY, {"accountId": "ACCOUNT", "name": "BAD", "amount": "1.00",
                                               "currency": "USD", "closeDate": "2027-01-01"}, "input.name"),
]  # fmt: skip


def _filled(value: Any, bad: str, world) -> Any:  # type: ignore[no-untyped-def]
    """The input with BAD replaced by the bad string and ACCOUNT/OPPORTUNITY by global ids."""
    stand_ins = {"BAD": bad, "ACCOUNT": gid("Account", world.accounts["A_east"].id),
                 "OPPORTUNITY": gid("Opportunity", world.opportunities["O1"].id)}  # fmt: skip
    if isinstance(value, str):
        return stand_ins.get(value, value)
    if isinstance(value, dict):
        return {k: _filled(v, bad, world) for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(v, bad, world) for v in value]
    return value


def _case_id(case: tuple[str, dict[str, Any], str]) -> str:
    mutation = case[0].split("{ ", 1)[1].split("(", 1)[0]
    return f"{mutation}-{case[2]}"


@pytest.mark.parametrize("bad", BAD_STRINGS)
@pytest.mark.parametrize(("query", "input_", "field"), MUTATION_CASES, ids=[_case_id(c) for c in MUTATION_CASES])
async def test_bad_text_in_a_mutation_is_refused(query, input_, field, bad, world, client, sessions) -> None:  # type: ignore[no-untyped-def]
    # Given an admin and one text field of a mutation holding a NUL or a lone surrogate
    token = (await caller_for(client, sessions, world.tenant_id, world.users["admin"].id)).token
    before = await _counts(sessions, world.tenant_id)
    # When they send it
    status, body = await _post(client, token, query, {"input": _filled(input_, bad, world)})
    # Then the field is named with its problem, and nothing was written
    _assert_refused(status, body, field, bad)
    assert body.get("data") is None  # the payload is non-null, so its error nulls the whole answer
    assert await _counts(sessions, world.tenant_id) == before


@pytest.mark.parametrize("bad", BAD_STRINGS)
@pytest.mark.parametrize(
    ("query", "field"),
    [(ACCOUNTS, "filter.search"), (OPPORTUNITIES, "filter.search"), (ORGANIZATIONS, "filter.search"),
     (USERS, "filter.search"), (CONTACTS, "search"), (PRODUCTS, "search"), (NODE, "id"), (AFTER, "after")],
)  # fmt: skip
async def test_bad_text_in_a_search_or_argument_is_refused(query, field, bad, world, client, sessions) -> None:  # type: ignore[no-untyped-def]
    token = (await caller_for(client, sessions, world.tenant_id, world.users["admin"].id)).token
    status, body = await _post(client, token, query, {"s": bad})
    _assert_refused(status, body, field, bad)


async def test_a_nul_written_inline_in_the_document_is_refused_too(world, client, sessions) -> None:  # type: ignore[no-untyped-def]
    token = (await caller_for(client, sessions, world.tenant_id, world.users["admin"].id)).token
    before = await _counts(sessions, world.tenant_id)
    inline = 'mutation { createAccount(input: {name: "Acme\\u0000"}) { account { id } errors { field } } }'
    status, body = await _post(client, token, inline, {})
    _assert_refused(status, body, "input.name", NUL)
    assert await _counts(sessions, world.tenant_id) == before


async def test_text_without_bad_characters_still_goes_through(world, client, sessions) -> None:  # type: ignore[no-untyped-def]
    # Characters outside the BMP arrive as surrogate pairs in JSON; a pair is fine, only a lone half is refused
    token = (await caller_for(client, sessions, world.tenant_id, world.users["admin"].id)).token
    status, body = await _post(client, token, CREATE_ACCOUNT, {"input": {"name": f"Rocket 🚀 {uuid.uuid4().hex[:6]}"}})
    assert status == 200 and body["data"]["createAccount"]["errors"] == [], body


async def test_a_nul_in_a_non_text_scalar_is_a_clear_error_naming_the_field(world, client, sessions) -> None:  # type: ignore[no-untyped-def]
    token = (await caller_for(client, sessions, world.tenant_id, world.users["admin"].id)).token
    input_ = {"accountId": gid("Account", world.accounts["A_east"].id), "name": "Deal", "amount": "1\x00",
              "currency": "USD", "closeDate": "2027-01-01"}  # fmt: skip
    status, body = await _post(client, token, CREATE_OPPORTUNITY, {"input": input_})
    assert status in (200, 400) and body.get("data") is None
    [error] = body["errors"]
    assert ".amount" in error["message"] and error.get("extensions", {}).get("code") != "INTERNAL"


# The public web form ---------------------------------------------------------------------------------------------

FORM_MUTATION = (
    "mutation($input: CreateWebFormInput!) { createWebForm(input: $input) { form { key } errors { field } } }"
)


@pytest.fixture
async def web_form(world, client, sessions):  # type: ignore[no-untyped-def]
    admin = await caller_for(client, sessions, world.tenant_id, world.users["admin"].id)
    created = await admin.data(FORM_MUTATION, input={"name": f"Contact {uuid.uuid4().hex[:6]}"})
    key = created["createWebForm"]["form"]["key"]
    async with sessions() as session:
        return (await session.execute(select(WebForm).where(WebForm.key == key))).scalar_one()


def _submission(form: WebForm, **fields: Any) -> dict[str, Any]:
    return {"token": issue_token(form, time.time() - 10), "companyName": "Visitor Co", "lastName": "Chen",
            "email": "chen@visitor.example", **fields}  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"companyName": NUL}, "companyName"), ({"lastName": NUL}, "lastName"), ({"message": NUL}, "message"),
     ({"interests": ["drives", NUL]}, "interests[1]"), ({"token": NUL}, "token"), ({"website": NUL}, "website")],
)  # fmt: skip
async def test_a_nul_in_a_web_form_field_is_a_400_naming_it(fields, field, web_form, world, client, sessions) -> None:  # type: ignore[no-untyped-def]
    before = await _counts(sessions, world.tenant_id)
    response = await client.post(f"/forms/{web_form.key}/leads", json=_submission(web_form, **fields))
    assert response.status_code == 400, response.text
    assert response.json() == {
        "errors": [{"field": field, "code": "INVALID", "message": f"{field} must not contain NUL characters."}]
    }
    assert response.headers["access-control-allow-origin"] == "*"
    assert await _counts(sessions, world.tenant_id) == before


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"[" * 5_000 + b"]" * 5_000, id="5k-deep"),
        pytest.param(b'{"a":' * 5_000 + b"1" + b"}" * 5_000, id="5k-deep-objects"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="100k-deep"),
        pytest.param(b'{"companyName": "Acme \\ud800", "lastName": "Chen"}', id="lone-surrogate"),
        pytest.param(b'"hello"', id="a-string"),
        pytest.param(b"\xff\xfe", id="not-utf-8"),
    ],
)
async def test_a_web_form_body_not_a_json_object_is_a_400(body, web_form, world, client, sessions) -> None:  # type: ignore[no-untyped-def]
    before = await _counts(sessions, world.tenant_id)
    response = await client.post(
        f"/forms/{web_form.key}/leads", content=body, headers={"content-type": "application/json"}
    )
    # A body past the size limit may be refused by length (413) before it is parsed; never a 500
    assert response.status_code in (400, 413), response.text
    if response.status_code == 400:
        [error] = response.json()["errors"]
        assert error["code"] == "INVALID" and "JSON object" in error["message"], error
    assert await _counts(sessions, world.tenant_id) == before


# The signed ERP webhook --------------------------------------------------------------------------------------------

WEBHOOK_SECRET = "hardening-secret"
PLACE = ("mutation($i: PlacePartnerOrderInput!) { placePartnerOrder(input: $i) { order { id number } "
         "errors { field code message } } }")  # fmt: skip
ORDER_STATE = (
    "query($id: ID!) { node(id: $id) { ... on Order { status invoiceState shipmentState sync { erpId erpState } } } }"
)
DROP = object()  # a field left out of the status


@pytest.fixture(scope="module")
async def erp_world(sessions):  # type: ignore[no-untyped-def]
    """A tenant whose ERP sends signed webhooks, with a catalogue to order from."""
    from domain.erp.outbox import ErpAdapterKind
    from tests.integration.commerce_setup import connect_erp, stock_catalogue

    world = await build_world(sessions)
    await connect_erp(sessions, world.tenant_id, ErpAdapterKind.WEBHOOK, {"url": "http://erp.test"}, WEBHOOK_SECRET)
    return world, await stock_catalogue(sessions, world.tenant_id)


@pytest.fixture
async def placed_order(erp_world, client, sessions):  # type: ignore[no-untyped-def]
    """(tenant slug, D2's caller, a new order of D2's) in that tenant."""
    from tests.integration.commerce_setup import line

    world, shop = erp_world
    d2 = await caller_for(client, sessions, world.tenant_id, world.users["d2_admin"].id)
    body = await d2.data(PLACE, i={"lines": [line(shop, "HW-100", "1")]})
    assert not body["placePartnerOrder"]["errors"], body
    return world.slug, d2, body["placePartnerOrder"]["order"]


def _status(order_number: str, /, **changes: Any) -> dict[str, Any]:
    status = {"kind": "order", "reference": order_number, "erp_id": "42", "state": "processing",
              "changed_at": "2026-03-01T10:00:00+00:00", "total_amount": "1000.00", "currency": "USD",
              "invoice_state": "pending", "shipment_state": "waiting", "paid_amount": "0", "number": "SO-42"}  # fmt: skip
    return {k: v for k, v in (status | changes).items() if v is not DROP}


async def _send_webhook(client, slug: str, body: bytes):  # type: ignore[no-untyped-def]
    from integrations.erp.signing import signed_headers

    headers = signed_headers(WEBHOOK_SECRET, body, str(uuid.uuid4())) | {"x-crm-tenant": slug}
    return await client.post("/webhooks/erp", content=body, headers=headers)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"total_amount": "1e400"}, "total_amount", "must be at most 9999999999999999.99"),
        ({"total_amount": 1e300}, "total_amount", "must be at most"),
        ({"paid_amount": "NaN"}, "paid_amount", "must be a finite decimal number"),
        ({"paid_amount": "Infinity"}, "paid_amount", "must be a finite decimal number"),
        ({"total_amount": "lots"}, "total_amount", "must be a finite decimal number"),
        ({"total_amount": "-5"}, "total_amount", "must not be negative"),
        ({"total_amount": [1]}, "total_amount", "must be a finite decimal number"),
        ({"reference": DROP}, "reference", "is required"),
        ({"erp_id": DROP}, "erp_id", "is required"),
        ({"state": None}, "state", "is required"),
        ({"state": " "}, "state", "must not be blank"),
        ({"kind": "invoice"}, "kind", "must be one of order, contract"),
        ({"kind": ["order"]}, "kind", "must be one of order, contract"),
        ({"changed_at": DROP}, "changed_at", "is required"),
        ({"changed_at": "yesterday"}, "changed_at", "must be an ISO 8601 time with a UTC offset"),
        ({"changed_at": "2026-03-01T10:00:00"}, "changed_at", "must be an ISO 8601 time with a UTC offset"),
        ({"changed_at": 1767225600}, "changed_at", "must be an ISO 8601 time with a UTC offset"),
        ({"state": "done\x00"}, "state", "must not contain NUL characters"),
        ({"invoice_state": {"x": 1}}, "invoice_state", "must be a string"),
        ({"shipment_state": "s" * 41}, "shipment_state", "must be at most 40 characters"),
        ({"erp_id": "9" * 65}, "erp_id", "must be at most 64 characters"),
        ({"number": "SO\x00"}, "number", "must not contain NUL characters"),
    ],
)  # fmt: skip
async def test_a_malformed_webhook_status_is_a_400_naming_it(change, field, message, placed_order, client) -> None:  # type: ignore[no-untyped-def]
    # Given a signed webhook about a real order, one of whose fields is bad
    slug, d2, order = placed_order
    before = await d2.data(ORDER_STATE, id=order["id"])
    # When the ERP sends it
    response = await _send_webhook(client, slug, orjson.dumps({"statuses": [_status(order["number"], **change)]}))
    # Then the field is named in words, with no Python repr, and the order is untouched
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["field"] == f"statuses[0].{field}"
    assert answer["error"].startswith(f"statuses[0].{field} {message}"), answer
    assert "Error(" not in answer["error"] and "'" not in answer["error"], answer
    assert await d2.data(ORDER_STATE, id=order["id"]) == before


async def test_a_webhook_status_that_is_not_an_object_is_named(placed_order, client) -> None:  # type: ignore[no-untyped-def]
    slug, _, order = placed_order
    response = await _send_webhook(client, slug, orjson.dumps({"statuses": [_status(order["number"]), "x"]}))
    assert response.status_code == 400
    assert response.json() == {"error": "statuses[1] must be a JSON object.", "field": "statuses[1]"}


async def test_a_webhook_number_past_double_range_is_a_clear_400(placed_order, client) -> None:  # type: ignore[no-untyped-def]
    slug, _, order = placed_order
    body = orjson.dumps({"statuses": [_status(order["number"])]}).replace(b'"1000.00"', b"1e400")
    response = await _send_webhook(client, slug, body)
    assert response.status_code == 400, response.text
    assert response.json()["error"].startswith("The body is not JSON: number is infinity"), response.text


async def test_a_well_formed_webhook_still_applies(placed_order, client) -> None:  # type: ignore[no-untyped-def]
    slug, d2, order = placed_order
    status = _status(order["number"], total_amount=1000, erp_id=42, shipment_state="sent")  # numbers are taken too
    response = await _send_webhook(client, slug, orjson.dumps({"statuses": [status]}))
    assert response.status_code == 200 and response.json()["applied"] == 1, response.text
    seen = (await d2.data(ORDER_STATE, id=order["id"]))["node"]
    assert (seen["shipmentState"], seen["sync"]["erpId"], seen["sync"]["erpState"]) == ("sent", "42", "processing")


# A price set without its price -----------------------------------------------------------------------------------

PRICE_LISTS = "{ priceLists { id partnerKind partnerTier } }"
FIX_PRICE = "mutation($l: ID!, $p: ID!) { setPriceListPrice(priceListId: $l, productId: $p) { priceList { id } errors { field code message } } }"
FIX_PRICE_WITH = "mutation($l: ID!, $p: ID!, $u: Decimal) { setPriceListPrice(priceListId: $l, productId: $p, unitPrice: $u) { priceList { id } errors { field code message } } }"


async def test_set_price_list_price_without_unit_price_is_a_payload_error(erp_world, client, sessions) -> None:  # type: ignore[no-untyped-def]
    world, shop = erp_world
    admin = await caller_for(client, sessions, world.tenant_id, world.users["admin"].id)
    lists = (await admin.data(PRICE_LISTS))["priceLists"]
    dealer = next(p["id"] for p in lists if p["partnerKind"] == "DEALER" and p["partnerTier"] is None)
    product = gid("Product", shop["HW-100"])
    assert not (await admin.data(FIX_PRICE_WITH, l=dealer, p=product, u="700.00"))["setPriceListPrice"]["errors"]
    before = await _counts(sessions, world.tenant_id)
    # When the price is left out, it is named as required, and the fixed price stays
    data = await admin.data(FIX_PRICE, l=dealer, p=product)
    assert data["setPriceListPrice"] == {"priceList": None, "errors": [
        {"field": "unitPrice", "code": "REQUIRED", "message": "unitPrice is required: a price, or null to remove the fixed price."}
    ]}  # fmt: skip
    assert await _counts(sessions, world.tenant_id) == before
    # An explicit null still removes it
    removed = await admin.data(FIX_PRICE_WITH, l=dealer, p=product, u=None)
    assert removed["setPriceListPrice"]["errors"] == [] and removed["setPriceListPrice"]["priceList"]["id"] == dealer
    assert await _counts(sessions, world.tenant_id) == (before[:-1] + (before[-1] + 1,))  # one audit event: removed


# Sign-in bodies, client credentials and addresses ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        (b'{"tenant": "acme", "email": "a\\u0000@b.example", "password": "x", "cookie": false}', "email", "NUL characters"),
        (b'{"tenant": "acme", "email": "a\\ud800@b.example", "password": "x", "cookie": false}', "email", "valid Unicode"),
        (b'{"tenant": "acme\\udfff", "email": "a@b.example", "password": "x", "cookie": false}', "tenant", "valid Unicode"),
    ],
)  # fmt: skip
async def test_a_sign_in_body_with_unstorable_text_is_a_400_naming_the_field(body, field, problem, client) -> None:  # type: ignore[no-untyped-def]
    response = await client.post("/auth/login", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("INVALID", field) and problem in error["message"], error


@pytest.mark.parametrize(
    ("form", "headers", "field"),
    [
        ({"grant_type": "client_credentials", "client_id": "crm\x00x", "client_secret": "s"}, {}, "client_id"),
        ({"grant_type": "client_credentials", "client_id": "crm", "client_secret": "s\x00"}, {}, "client_secret"),
        ({"grant_type": "client_credentials"}, {"authorization": "Basic Y3JtJTAweDpz"}, "client_id"),  # crm%00x:s
    ],
)  # fmt: skip
async def test_client_credentials_with_a_nul_are_an_invalid_request(form, headers, field, client) -> None:  # type: ignore[no-untyped-def]
    response = await client.post("/oauth/token", data=form, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json() == {
        "error": "invalid_request",
        "error_description": f"{field} must not contain NUL characters.",
    }


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/auth/sso/acme%00x", None),  # a tenant slug in the path
        ("/forms/%00/token", None),  # a form key in the path
        ("/auth/sso/acme/callback?code=c&state=%00", "state"),
        ("/auth/sign-in-options?tenant=acme%00", "tenant"),
        ("/graphql?query=%7B__typename%7D&operationName=%00", "operationName"),
    ],
)
async def test_a_nul_in_the_address_is_a_400_before_any_route_runs(url, field, client) -> None:  # type: ignore[no-untyped-def]
    response = await client.get(url)
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "INVALID", **({"field": field} if field else {})}
    assert error["message"].endswith("must not contain NUL characters.")


async def test_a_nul_in_graphql_variables_sent_over_get_is_named(world, client, sessions) -> None:  # type: ignore[no-untyped-def]
    token = (await caller_for(client, sessions, world.tenant_id, world.users["admin"].id)).token
    params = {"query": ACCOUNTS, "variables": json.dumps({"s": NUL})}
    response = await client.get("/graphql", params=params, headers={"Authorization": f"Bearer {token}"})
    _assert_refused(response.status_code, response.json(), "filter.search", NUL)
