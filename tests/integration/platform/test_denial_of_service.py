"""Denial of service: bounded text and bodies, quiet logs for expected refusals, throttled public doors.

Issue #10: unbounded search strings, a traceback per refused field and row, a web form whose limits the
sender could dodge, bodies read whole before their size was checked, an unthrottled token endpoint that
told unknown client ids from wrong secrets, and production hints naming the schema's parts.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from api import web_forms as public_forms
from api.app import MAX_BODY, create_app
from api.auth import oauth
from api.erp import webhooks
from api.graphql.limits import MAX_TEXT_LENGTH
from api.settings import Settings
from domain.channel.leads import Lead
from domain.channel.web_forms import PER_VISITOR_PER_HOUR, WebForm, issue_token
from domain.identity import machine_clients
from domain.identity.machine_clients import CLIENT_ADDRESS_RULE, CLIENT_RULE, register_client
from domain.shared.search import MAX_SEARCH_LENGTH
from tests.integration.graphql_client import caller_for
from tests.reads import read_for_test

# --- Free-text bounds ------------------------------------------------------------------------

SEARCHES = {
    "accounts": "query($s: String) { accounts(first: 5, filter: {search: $s}) { totalCount } }",
    "contacts": "query($s: String) { contacts(first: 5, search: $s) { totalCount } }",
    "opportunities": "query($s: String) { opportunities(first: 5, filter: {search: $s}) { totalCount } }",
    "organizations": "query($s: String) { organizations(first: 5, filter: {search: $s}) { totalCount } }",
    "users": "query($s: String) { users(first: 5, filter: {search: $s}) { totalCount } }",
    "products": "query($s: String) { products(first: 5, search: $s) { totalCount } }",
}
USERS_BY_ROLE_INLINE = 'query { users(first: 5, filter: {role: "%s"}) { totalCount } }'
USERS_BY_ROLE = "query($r: String) { users(first: 5, filter: {role: $r}) { totalCount } }"
OPPORTUNITIES_AFTER = "query($a: String) { opportunities(first: 5, after: $a) { totalCount } }"
PRECHECK = 'query($d: String) { registrationPrecheck(customerName: "Probe Co", customerWebDomain: $d) { conflict } }'
CREATE_LEAD = (
    "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } errors { field code message } } }"
)
SUBMIT_DEAL = "mutation($input: SubmitDealRegistrationInput!) { submitDealRegistration(input: $input) { dealRegistration { id } errors { field code message } } }"


@pytest.mark.parametrize("field", sorted(SEARCHES))
async def test_every_search_is_bounded_and_the_error_names_the_argument(as_, field: str) -> None:  # type: ignore[no-untyped-def]
    admin = await as_("admin")
    # Given the longest search the API takes, it runs
    assert (await admin(SEARCHES[field], s="x" * MAX_SEARCH_LENGTH)).get("errors") is None
    # When it is one character longer, the field is refused, naming the argument, and no SQL runs with it
    body = await admin(SEARCHES[field], s="x" * (MAX_SEARCH_LENGTH + 1))
    assert body["data"] is None or body["data"][field] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "TOO_LONG" and error["extensions"]["field"] == "search"
    assert f"at most {MAX_SEARCH_LENGTH}" in error["message"]


async def test_text_past_the_longest_the_crm_keeps_is_refused_before_anything_runs(as_) -> None:  # type: ignore[no-untyped-def]
    admin = await as_("admin")
    long = "r" * (MAX_TEXT_LENGTH + 1)
    # In a variable, the error names the variable
    body = await admin(USERS_BY_ROLE, r=long)
    assert body["data"] is None
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in body["errors"]] == [("TOO_LONG", "$r")]
    # Written in the document, it names the argument's path
    body = await admin(USERS_BY_ROLE_INLINE % long)
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in body["errors"]] == [
        ("TOO_LONG", "filter.role")
    ]
    # And a cursor no page ever issued is refused by its length alone
    body = await admin(OPPORTUNITIES_AFTER, a="e" * 5000)
    assert body["errors"][0]["extensions"] == {"code": "INVALID", "field": "after"}


async def test_short_text_lists_and_domains_are_bounded(world, as_, sessions) -> None:  # type: ignore[no-untyped-def]
    async def leads_now() -> int:
        async with sessions() as session:
            return (
                await session.execute(read_for_test(select(func.count()).where(Lead.tenant_id == world.tenant_id)))
            ).scalar_one()

    am = await as_("am_east")
    payload = await am.data(CREATE_LEAD, input={"companyName": "Probe", "lastName": "L", "interests": ["y" * 101]})
    assert [(e["field"], e["code"]) for e in payload["createLead"]["errors"]] == [("interests[0]", "TOO_LONG")]
    many = [f"line {n}" for n in range(21)]
    payload = await am.data(CREATE_LEAD, input={"companyName": "Probe", "lastName": "L", "interests": many})
    assert [(e["field"], e["code"]) for e in payload["createLead"]["errors"]] == [("interests", "TOO_LONG")]
    payload = await am.data(CREATE_LEAD, input={"companyName": "Probe", "lastName": "L", "webDomain": "a" * 300})
    assert [(e["field"], e["code"]) for e in payload["createLead"]["errors"]] == [("webDomain", "TOO_LONG")]
    assert await leads_now() == 0

    dealer = await as_("r1a_sales")
    deal = {"customerName": "Probe Co", "products": ["p" * 101], "amount": "100", "currency": "USD",
            "expectedCloseDate": "2099-01-01"}  # fmt: skip
    payload = await dealer.data(SUBMIT_DEAL, input=deal)
    assert [(e["field"], e["code"]) for e in payload["submitDealRegistration"]["errors"]] == [
        ("products[0]", "TOO_LONG")
    ]
    body = await dealer(PRECHECK, d="d" * 300)
    assert (body["errors"][0]["extensions"]["code"], body["errors"][0]["extensions"]["field"]) == (
        "TOO_LONG", "customerWebDomain"
    )  # fmt: skip


# --- Expected refusals are logged once per request, without a traceback ----------------------

ONE_LIST = "opportunities(first: 50) { edges { node { name margin internalNotes lostToCompetitor } } }"
INTERNAL_FIELDS = "{ " + " ".join(f"a{n}: {ONE_LIST}" for n in range(5)) + " }"


async def test_refused_internal_fields_are_one_info_line_per_request(as_, caplog) -> None:  # type: ignore[no-untyped-def]
    distributor = await as_("d1_admin")
    # When a partner asks for internal-only fields on every row, five times over
    with caplog.at_level(logging.DEBUG):
        body = await distributor(INTERNAL_FIELDS)
    # Then the client still gets a FORBIDDEN error for each refused field of each row
    rows = len(body["data"]["a0"]["edges"])
    assert rows >= 2
    assert len(body["errors"]) == rows * 3 * 5
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}
    # And the log has one line for the whole request, at INFO, with no traceback
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert [r for r in caplog.records if r.exc_info] == []
    graphql_lines = [r for r in caplog.records if r.name.startswith(("crm.graphql", "strawberry"))]
    assert len(graphql_lines) == 1 and graphql_lines[0].levelno == logging.INFO
    assert "FORBIDDEN" in graphql_lines[0].getMessage()


# --- The public web form ---------------------------------------------------------------------

CREATE_FORM = (
    "mutation($input: CreateWebFormInput!) { createWebForm(input: $input) { form { key } errors { field code } } }"
)


def _from(app, address: str, user_agent: str = "Mozilla/5.0") -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    """A client at an address of its own (an ASGI scope value; nothing is sent over a network)."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver", headers={"User-Agent": user_agent})


def _loopback() -> str:
    n = uuid.uuid4().int
    return f"127.{n % 250 + 1}.{n // 250 % 250}.{n // 62500 % 250 + 1}"


async def _form(as_, sessions) -> tuple[str, WebForm]:  # type: ignore[no-untyped-def]
    admin = await as_("admin")
    key = (await admin.data(CREATE_FORM, input={"name": "Contact us"}))["createWebForm"]["form"]["key"]
    async with sessions() as session:
        return key, (await session.execute(select(WebForm).where(WebForm.key == key))).scalar_one()


def _enquiry(token: str, **fields: Any) -> dict[str, Any]:
    return {"token": token, "companyName": "Visitor Co", "lastName": "Chen", "email": "chen@visitor.example", **fields}


async def _leads(sessions, world) -> int:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return (
            await session.execute(read_for_test(select(func.count()).where(Lead.tenant_id == world.tenant_id)))
        ).scalar_one()


async def test_a_form_token_is_taken_once(app, world, as_, sessions) -> None:  # type: ignore[no-untyped-def]
    key, form = await _form(as_, sessions)
    token = issue_token(form, time.time() - 10)
    async with _from(app, _loopback()) as visitor:
        # A submission with a bad field leaves the token unused, so the visitor can correct and resend
        refused = await visitor.post(f"/forms/{key}/leads", json=_enquiry(token, companyName=" "))
        assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "companyName"
        assert (await visitor.post(f"/forms/{key}/leads", json=_enquiry(token))).status_code == 202
        # The same token a second time is refused, and nothing more is stored
        again = await visitor.post(f"/forms/{key}/leads", json=_enquiry(token, companyName="Spam Co"))
        assert again.status_code == 400 and again.json()["errors"][0]["field"] == "token"
        # Tokens fetched in the same second are still distinct
        assert issue_token(form, time.time() - 10) != issue_token(form, time.time() - 10)
    assert await _leads(sessions, world) == 1


async def test_the_visitor_limit_keys_on_the_address_not_on_headers(app, world, as_, sessions) -> None:  # type: ignore[no-untyped-def]
    key, form = await _form(as_, sessions)
    spammer = _loopback()
    # Given a sender rotating its User-Agent, one per post, from one address
    for n in range(PER_VISITOR_PER_HOUR):
        async with _from(app, spammer, user_agent=f"bot/{n}") as bot:
            sent = await bot.post(f"/forms/{key}/leads", json=_enquiry(issue_token(form, time.time() - 10)))
            assert sent.status_code == 202
    async with _from(app, spammer, user_agent="bot/next") as bot:
        refused = await bot.post(f"/forms/{key}/leads", json=_enquiry(issue_token(form, time.time() - 10)))
    # Then the limit holds all the same
    assert refused.status_code == 429 and refused.headers["retry-after"] == "3600"
    # And a real visitor elsewhere is not locked out
    async with _from(app, _loopback()) as visitor:
        taken = await visitor.post(f"/forms/{key}/leads", json=_enquiry(issue_token(form, time.time() - 10)))
    assert taken.status_code == 202
    assert await _leads(sessions, world) == PER_VISITOR_PER_HOUR + 1


async def test_an_ipv6_visitor_is_their_network(app, as_, sessions) -> None:  # type: ignore[no-untyped-def]
    key, form = await _form(as_, sessions)
    network = f"2001:db8:{uuid.uuid4().int % 65536:x}:1"  # the documentation prefix; never routed anywhere
    for host in range(1, PER_VISITOR_PER_HOUR + 2):
        async with _from(app, f"{network}::{host:x}") as visitor:
            sent = await visitor.post(f"/forms/{key}/leads", json=_enquiry(issue_token(form, time.time() - 10)))
        assert sent.status_code == (202 if host <= PER_VISITOR_PER_HOUR else 429)


# --- Request bodies are bounded while they stream --------------------------------------------


class Chunks:
    """A request body sent in chunks without a Content-Length, counting how much the server took."""

    def __init__(self, total: int, size: int = 64 * 1024) -> None:
        self.total, self.size, self.sent = total, size, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.total:
            self.sent += self.size
            yield b"x" * self.size


BODY_LIMITS = [
    pytest.param("/webhooks/erp", webhooks.MAX_BODY, "application/json", id="erp-webhook"),
    pytest.param("/forms/some-key/leads", public_forms.MAX_BODY, "application/json", id="web-form"),
    pytest.param("/oauth/token", oauth.MAX_BODY, "application/x-www-form-urlencoded", id="oauth-token"),
    pytest.param("/graphql", MAX_BODY, "application/json", id="graphql"),  # signed in: others never get to read
]


async def _headers(as_, path: str, content_type: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    headers = {"Content-Type": content_type}
    if path == "/graphql":
        headers["Authorization"] = f"Bearer {(await as_('admin')).token}"
    return headers


@pytest.mark.parametrize(("path", "limit", "content_type"), BODY_LIMITS)
async def test_an_over_size_body_is_refused_while_streaming(
    client, as_, path: str, limit: int, content_type: str
) -> None:  # type: ignore[no-untyped-def]
    # Given a body of 8 MB sent in chunks, with no length declared
    body = Chunks(8 * 1024 * 1024)
    response = await client.post(path, content=body, headers=await _headers(as_, path, content_type))
    # Then it is refused at the first chunk past the bound, and the rest is never read
    assert response.status_code == 413
    assert response.json()["errors"][0]["code"] == "TOO_LONG"
    assert body.sent <= limit + 2 * body.size


@pytest.mark.parametrize(("path", "limit", "content_type"), BODY_LIMITS)
async def test_a_declared_over_size_body_is_refused_before_reading(
    client, as_, path: str, limit: int, content_type: str
) -> None:  # type: ignore[no-untyped-def]
    body = Chunks(limit + 1)
    headers = {**await _headers(as_, path, content_type), "Content-Length": str(limit + 1)}
    response = await client.post(path, content=body, headers=headers)
    assert response.status_code == 413 and body.sent == 0
    if path.startswith("/forms/"):
        assert response.headers["access-control-allow-origin"] == "*"  # the form's page can read why


# --- The token endpoint ----------------------------------------------------------------------


class CountingHasher:
    """Argon2 verifications, counted; they do the real work."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.verified = inner, 0

    def verify(self, stored: str, secret: str) -> bool:
        self.verified += 1
        return self.inner.verify(stored, secret)  # type: ignore[no-any-return]


async def _machine_client(sessions, world) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    async with sessions() as session, session.begin():
        registered, secret = await register_client(session, world.tenant_id, "ERP sync", ["erp_integration"])
    return registered.client_id, secret


async def _token(app, address: str, client_id: str, secret: str) -> httpx.Response:  # type: ignore[no-untyped-def]
    async with _from(app, address) as caller:
        return await caller.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))


async def test_unknown_client_ids_and_wrong_secrets_look_the_same(app, world, sessions, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    client_id, _ = await _machine_client(sessions, world)
    hasher = CountingHasher(machine_clients._hasher)
    monkeypatch.setattr(machine_clients, "_hasher", hasher)
    wrong = await _token(app, _loopback(), client_id, "not-the-secret")
    assert hasher.verified == 1
    unknown = await _token(app, _loopback(), f"crm_{uuid.uuid4().hex[:16]}", "not-the-secret")
    # Then both cost one Argon2 verification and get the same answer
    assert hasher.verified == 2
    assert (unknown.status_code, unknown.json()) == (wrong.status_code, wrong.json())
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"


async def test_failed_client_authentication_is_throttled_per_address(app, world, sessions) -> None:  # type: ignore[no-untyped-def]
    client_id, secret = await _machine_client(sessions, world)
    attacker = _loopback()
    for _ in range(CLIENT_ADDRESS_RULE.failures):
        assert (await _token(app, attacker, f"crm_{uuid.uuid4().hex[:16]}", "guess")).status_code == 401
    # Then the address is locked, even for a right secret, and is told how long to wait
    locked = await _token(app, attacker, client_id, secret)
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    # While the real client, elsewhere, still gets its token
    assert (await _token(app, _loopback(), client_id, secret)).status_code == 200


async def test_failed_authentication_of_one_client_id_is_throttled_across_addresses(app, world, sessions) -> None:  # type: ignore[no-untyped-def]
    client_id, secret = await _machine_client(sessions, world)
    for _ in range(CLIENT_RULE.failures):
        assert (await _token(app, _loopback(), client_id, "guess")).status_code == 401
    locked = await _token(app, _loopback(), client_id, secret)
    assert locked.status_code == 429 and locked.json()["error"] == "rate_limited"


async def test_signing_in_with_the_longest_e_mail_is_a_wrong_password_not_a_crash(app, world) -> None:  # type: ignore[no-untyped-def]
    # An e-mail of 312 characters (the sign-in takes up to 320) once overflowed the throttle's key
    async with _from(app, _loopback()) as person:
        response = await person.post(
            "/auth/login", json={"tenant": world.slug, "email": "a" * 300 + "@example.com", "password": "x" * 20}
        )
    assert response.status_code == 401


# --- Production: introspection for signed-in callers, no suggestions anywhere -----------------


@pytest.fixture(scope="module")
async def production(database_url, tmp_path_factory) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    settings = Settings(database_url=None, data_dir=tmp_path_factory.mktemp("crm-prod"), production=True)
    application = create_app(settings, database_url=database_url)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


TYPOS = {
    "field": ("{ opportunitys { totalCount } }", {}),
    "argument": ("{ opportunities(frist: 1) { totalCount } }", {}),
    "enum value": ("{ opportunities(filter: {stages: [PROSPECTINGG]}) { totalCount } }", {}),
    "input field": ('{ opportunities(filter: {serch: "x"}) { totalCount } }', {}),
    "variable type": ("query($f: OpportunityFilterInputt) { opportunities(filter: $f) { totalCount } }", {}),
    "fragment type": ('{ node(id: "x") { ... on Opportunityy { id } } }', {}),
    "enum value in a variable": (
        "query($f: OpportunityFilterInput) { opportunities(filter: $f) { totalCount } }",
        {"f": {"stages": ["PROSPECTINGG"]}},
    ),
    "input field in a variable": (
        "query($f: OpportunityFilterInput) { opportunities(filter: $f) { totalCount } }",
        {"f": {"serch": "x"}},
    ),
}


@pytest.mark.parametrize("kind", sorted(TYPOS))
async def test_production_suggests_nothing(production, client, world, sessions, kind: str) -> None:  # type: ignore[no-untyped-def]
    query, variables = TYPOS[kind]
    token = (await caller_for(client, sessions, world.tenant_id, world.users["admin"].id)).token
    headers = {"Authorization": f"Bearer {token}"}

    async def messages(http: httpx.AsyncClient) -> str:
        response = await http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
        return " ".join(e["message"] for e in response.json()["errors"])

    assert "Did you mean" in await messages(client)  # development helps
    in_production = await messages(production)
    assert in_production and "Did you mean" not in in_production


async def test_production_introspection_is_for_signed_in_callers(production, client, world, sessions) -> None:  # type: ignore[no-untyped-def]
    query = {"query": "{ __schema { queryType { name } } }"}
    assert (await production.post("/graphql", json=query)).status_code == 401
    token = (await caller_for(client, sessions, world.tenant_id, world.users["r1a_sales"].id)).token
    response = await production.post("/graphql", json=query, headers={"Authorization": f"Bearer {token}"})
    assert response.json()["data"] == {"__schema": {"queryType": {"name": "Query"}}}
