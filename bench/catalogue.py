"""The benchmark's catalogue: the queries front ends really send, as each side spells them, and how to compare them.

Each entry has our GraphQL document, PostGraphile's nearest document (its generated schema: composite-key
relation names, `rowId` for the `id` column) or the reason it has none, and the floor's name for the same work
(bench/floor.py). Each side's answer is brought to one canonical form (plain ids, amounts to the cent, UTC times),
so "the same rows" is an equality of canonical forms.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

PERSONAS = ("admin", "distributor", "dealer")
PAGE = 50
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Viewer:
    """One persona: who they are and the access token our API issued them."""

    persona: str
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    roles: tuple[str, ...]
    token: str


@dataclass(frozen=True)
class Fixtures:
    """The records the catalogue's queries name: found in the generated data, the same for every side."""

    deal_id: uuid.UUID  # the deal page's deal: linked to the dealer, so every persona sees it; has activities, a quote
    write_deal_id: uuid.UUID  # logActivity's deal (another one, so writes do not change the deal page)
    write_account_id: uuid.UUID
    period_start: date = date(2027, 1, 1)
    period_end: date = date(2027, 6, 30)


def gid(type_name: str, record_id: uuid.UUID | str) -> str:
    """Our API's global id."""
    return base64.urlsafe_b64encode(f"{type_name}:{record_id}".encode()).decode().rstrip("=")


def ungid(value: str) -> str:
    """The uuid inside one of our global ids."""
    padded = value + "=" * (-len(value) % 4)
    return base64.urlsafe_b64decode(padded).decode().split(":", 1)[1]


def money(value: Any) -> str:
    return str(Decimal(str(value)).quantize(CENT))


def instant(value: str) -> str:
    """An ISO timestamp as UTC, to the microsecond, whatever offset notation the side used."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC).isoformat()


def _maybe(node: dict[str, Any] | None, key: str = "id") -> list[Any] | None:
    return None if node is None else [node[key], node["name"]]


@dataclass(frozen=True)
class Entry:
    """One catalogue query."""

    name: str
    title: str
    ours: str
    ours_variables: Callable[[Fixtures], dict[str, Any]]
    ours_canonical: Callable[[dict[str, Any]], Any]
    postgraphile: str | None
    postgraphile_variables: Callable[[Viewer, Fixtures], dict[str, Any]]
    postgraphile_canonical: Callable[[dict[str, Any]], Any]
    floor_canonical: Callable[[Any], Any] = field(default=lambda body: body)
    postgraphile_not_applicable: str | None = None
    mutation: bool = False


# (a) The opportunity list: a page of 50 with account, owner and totalCount
OURS_LIST = """
query Opps($first: Int!) {
  opportunities(first: $first, orderBy: {field: CREATED_AT, direction: DESC}) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id name stage amount { amount currency } closeDate account { id name } owner { id name } } }
  }
}
"""
PG_LIST = """
query Opps($first: Int!) {
  allOpportunities(first: $first, orderBy: [CREATED_AT_DESC, ROW_ID_DESC]) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { rowId name stage amount currency closeDate
      accountByTenantIdAndAccountId { rowId name } appUserByTenantIdAndOwnerId { rowId name } } }
  }
}
"""


def _list_row(o: dict[str, Any], account: dict[str, Any] | None, owner: dict[str, Any] | None) -> list[Any]:
    return [o["id"], o["name"], o["stage"], money(o["amount"]), o["currency"], o["closeDate"],
            _maybe(account), _maybe(owner)]  # fmt: skip


def _ours_list(data: dict[str, Any]) -> Any:
    c = data["opportunities"]
    rows = []
    for e in c["edges"]:
        n = e["node"]
        account = n["account"] and {"id": ungid(n["account"]["id"]), "name": n["account"]["name"]}
        owner = n["owner"] and {"id": ungid(n["owner"]["id"]), "name": n["owner"]["name"]}
        rows.append(_list_row({**n, "id": ungid(n["id"]), "amount": n["amount"]["amount"],
                               "currency": n["amount"]["currency"]}, account, owner))  # fmt: skip
    return {"total": c["totalCount"], "hasNextPage": c["pageInfo"]["hasNextPage"], "rows": rows}


def _pg_node(node: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if node is None else {**node, "id": node["rowId"]}


def _pg_list(data: dict[str, Any]) -> Any:
    c = data["allOpportunities"]
    rows = [
        _list_row({**n, "id": n["rowId"]}, _pg_node(n["accountByTenantIdAndAccountId"]),
                  _pg_node(n["appUserByTenantIdAndOwnerId"]))
        for n in (e["node"] for e in c["edges"])
    ]  # fmt: skip
    return {"total": c["totalCount"], "hasNextPage": c["pageInfo"]["hasNextPage"], "rows": rows}


def _floor_list(body: dict[str, Any]) -> Any:
    rows = [[r[0], r[1], r[2], money(r[3]), r[4], r[5], r[6], r[7]] for r in body["rows"]]
    return {"total": body["total"], "hasNextPage": body["hasNextPage"], "rows": rows}


# (b) A deal page: the deal with its account, owner, team, partners, last 10 activities and its quotes
OURS_DEAL = """
query Deal($id: ID!) {
  node(id: $id) {
    ... on Opportunity {
      id name stage amount { amount currency } closeDate probability forecastCategory
      account { id name } owner { id name }
      team { salesRole access user { id name } }
      partners { role organization { id name } }
      activities(first: 10) { totalCount edges { node { id kind subject occurredAt } } }
    }
  }
  quotes(opportunityId: $id, first: 10) {
    totalCount edges { node { id number version status total { amount currency } } }
  }
}
"""
PG_DEAL = """
query Deal($tenantId: UUID!, $id: UUID!) {
  opportunityByTenantIdAndRowId(tenantId: $tenantId, rowId: $id) {
    rowId name stage amount currency closeDate probability forecastCategory
    accountByTenantIdAndAccountId { rowId name } appUserByTenantIdAndOwnerId { rowId name }
    opportunityTeamMembersByTenantIdAndOpportunityId(orderBy: [CREATED_AT_ASC, ROW_ID_ASC]) {
      nodes { salesRole access appUserByTenantIdAndUserId { rowId name } }
    }
    opportunityPartnersByTenantIdAndOpportunityId(orderBy: [CREATED_AT_ASC, ROW_ID_ASC]) {
      nodes { role organizationByTenantIdAndOrganizationId { rowId name } }
    }
    activitiesByTenantIdAndOpportunityId(first: 10, orderBy: [OCCURRED_AT_DESC, ROW_ID_DESC]) {
      totalCount nodes { rowId kind subject occurredAt }
    }
    quotesByTenantIdAndOpportunityId(first: 10, orderBy: [CREATED_AT_DESC, ROW_ID_DESC]) {
      totalCount nodes { rowId number version status total currency }
    }
  }
}
"""


def _deal(o: dict[str, Any], account: Any, owner: Any, team: list[Any], partners: list[Any],
          activities: tuple[int, list[Any]], quotes: tuple[int, list[Any]]) -> Any:  # fmt: skip
    return {
        "deal": [o["id"], o["name"], o["stage"], money(o["amount"]), o["currency"], o["closeDate"], o["probability"],
                 o["forecastCategory"], account, owner],
        "team": team, "partners": partners,
        "activities": {"total": activities[0], "rows": activities[1]},
        "quotes": {"total": quotes[0], "rows": quotes[1]},
    }  # fmt: skip


def _ours_ref(node: dict[str, Any] | None) -> list[Any] | None:
    return None if node is None else [ungid(node["id"]), node["name"]]


def _ours_deal(data: dict[str, Any]) -> Any:
    n = data["node"]
    if n is None:
        return None
    acts = n["activities"]
    quotes = data["quotes"]
    return _deal(
        {**n, "id": ungid(n["id"]), "amount": n["amount"]["amount"], "currency": n["amount"]["currency"]},
        _ours_ref(n["account"]), _ours_ref(n["owner"]),
        [[t["salesRole"], t["access"], _ours_ref(t["user"])] for t in n["team"]],
        [[p["role"], _ours_ref(p["organization"])] for p in n["partners"]],
        (acts["totalCount"], [[ungid(a["id"]), a["kind"], a["subject"], instant(a["occurredAt"])]
                              for a in (e["node"] for e in acts["edges"])]),
        (quotes["totalCount"], [[ungid(q["id"]), q["number"], q["version"], q["status"], money(q["total"]["amount"]),
                                 q["total"]["currency"]] for q in (e["node"] for e in quotes["edges"])]),
    )  # fmt: skip


def _pg_ref(node: dict[str, Any] | None) -> list[Any] | None:
    return None if node is None else [node["rowId"], node["name"]]


def _pg_deal(data: dict[str, Any]) -> Any:
    n = data["opportunityByTenantIdAndRowId"]
    if n is None:
        return None
    acts, quotes = n["activitiesByTenantIdAndOpportunityId"], n["quotesByTenantIdAndOpportunityId"]
    return _deal(
        {**n, "id": n["rowId"]}, _pg_ref(n["accountByTenantIdAndAccountId"]), _pg_ref(n["appUserByTenantIdAndOwnerId"]),
        [[t["salesRole"], t["access"], _pg_ref(t["appUserByTenantIdAndUserId"])]
         for t in n["opportunityTeamMembersByTenantIdAndOpportunityId"]["nodes"]],
        [[p["role"], _pg_ref(p["organizationByTenantIdAndOrganizationId"])]
         for p in n["opportunityPartnersByTenantIdAndOpportunityId"]["nodes"]],
        (acts["totalCount"], [[a["rowId"], a["kind"], a["subject"], instant(a["occurredAt"])] for a in acts["nodes"]]),
        (quotes["totalCount"], [[q["rowId"], q["number"], q["version"], q["status"], money(q["total"]), q["currency"]]
                                for q in quotes["nodes"]]),
    )  # fmt: skip


def _floor_deal(body: dict[str, Any] | None) -> Any:
    if body is None:
        return None
    d = body["deal"]
    return {
        "deal": [d[0], d[1], d[2], money(d[3]), d[4], d[5], d[6], d[7], d[8], d[9]],
        "team": body["team"], "partners": body["partners"],
        "activities": {"total": body["activities"]["total"],
                       "rows": [[a[0], a[1], a[2], instant(a[3])] for a in body["activities"]["rows"]]},
        "quotes": {"total": body["quotes"]["total"],
                   "rows": [[q[0], q[1], q[2], q[3], money(q[4]), q[5]] for q in body["quotes"]["rows"]]},
    }  # fmt: skip


# (c) A partner's home: leads offered, registrations expiring, orders, receivables (the admin: the same, tenant-wide)
EXPIRES_BEFORE = "2027-01-01T00:00:00+00:00"
OURS_HOME = """
query Home($expiresBefore: DateTime!) {
  leads(status: OFFERED, first: 20) {
    totalCount edges { node { id companyName status offerExpiresAt partner { id name } } }
  }
  dealRegistrations(status: APPROVED, protectionExpiresBefore: $expiresBefore, first: 20) {
    totalCount edges { node { id customerName amount { amount currency } protectionExpiresAt partner { id name } } }
  }
  orders(first: 20) { totalCount edges { node { id number status total { amount currency } partner { id name } } } }
  receivables { planned { amount currency } billed { amount } paid { amount } due { amount } overdue { amount } }
}
"""
PG_HOME = """
query Home($expiresBefore: Datetime!) {
  allLeads(condition: {status: OFFERED}, first: 20, orderBy: [CREATED_AT_DESC, ROW_ID_DESC]) {
    totalCount nodes { rowId companyName status offerExpiresAt
                       organizationByTenantIdAndPartnerOrganizationId { rowId name } }
  }
  benchApiRegistrationsExpiring(before: $expiresBefore, first: 20) {
    totalCount nodes { rowId customerName amount currency protectionExpiresAt
                       organizationByTenantIdAndPartnerOrganizationId { rowId name } }
  }
  allSalesOrders(first: 20, orderBy: [CREATED_AT_DESC, ROW_ID_DESC]) {
    totalCount nodes { rowId number status total currency partner { rowId name } }
  }
  benchApiReceivables { nodes { currency planned billed paid due overdue } }
}
"""


def _home(leads: tuple[int, list[Any]], registrations: tuple[int, list[Any]], orders: tuple[int, list[Any]],
          receivables: list[Any]) -> Any:  # fmt: skip
    return {
        "leads": {"total": leads[0], "rows": leads[1]},
        "registrations": {"total": registrations[0], "rows": registrations[1]},
        "orders": {"total": orders[0], "rows": orders[1]},
        "receivables": sorted([r[0], *(money(x) for x in r[1:])] for r in receivables),
    }


def _opt_instant(value: str | None) -> str | None:
    return None if value is None else instant(value)


def _ours_home(data: dict[str, Any]) -> Any:
    leads, regs, orders = data["leads"], data["dealRegistrations"], data["orders"]
    return _home(
        (leads["totalCount"], [[ungid(n["id"]), n["companyName"], n["status"], _opt_instant(n["offerExpiresAt"]),
                                _ours_ref(n["partner"])] for n in (e["node"] for e in leads["edges"])]),
        (regs["totalCount"], [[ungid(n["id"]), n["customerName"], money(n["amount"]["amount"]), n["amount"]["currency"],
                               _opt_instant(n["protectionExpiresAt"]), _ours_ref(n["partner"])]
                              for n in (e["node"] for e in regs["edges"])]),
        (orders["totalCount"], [[ungid(n["id"]), n["number"], n["status"], money(n["total"]["amount"]),
                                 n["total"]["currency"], _ours_ref(n["partner"])]
                                for n in (e["node"] for e in orders["edges"])]),
        [[r["planned"]["currency"], r["planned"]["amount"], r["billed"]["amount"], r["paid"]["amount"],
          r["due"]["amount"], r["overdue"]["amount"]] for r in data["receivables"]],
    )  # fmt: skip


def _pg_home(data: dict[str, Any]) -> Any:
    leads, regs = data["allLeads"], data["benchApiRegistrationsExpiring"]
    orders, receivables = data["allSalesOrders"], data["benchApiReceivables"]["nodes"]
    return _home(
        (leads["totalCount"], [[n["rowId"], n["companyName"], n["status"], _opt_instant(n["offerExpiresAt"]),
                                _pg_ref(n["organizationByTenantIdAndPartnerOrganizationId"])]
                               for n in leads["nodes"]]),
        (regs["totalCount"], [[n["rowId"], n["customerName"], money(n["amount"]), n["currency"],
                               _opt_instant(n["protectionExpiresAt"]),
                               _pg_ref(n["organizationByTenantIdAndPartnerOrganizationId"])] for n in regs["nodes"]]),
        (orders["totalCount"], [[n["rowId"], n["number"], n["status"], money(n["total"]), n["currency"],
                                 _pg_ref(n["partner"])] for n in orders["nodes"]]),
        [[r["currency"], r["planned"], r["billed"], r["paid"], r["due"], r["overdue"]] for r in receivables],
    )  # fmt: skip


def _floor_home(body: dict[str, Any]) -> Any:
    return _home(
        (body["leads"]["total"], [[r[0], r[1], r[2], _opt_instant(r[3]), r[4]] for r in body["leads"]["rows"]]),
        (body["registrations"]["total"], [[r[0], r[1], money(r[2]), r[3], _opt_instant(r[4]), r[5]]
                                          for r in body["registrations"]["rows"]]),
        (body["orders"]["total"], [[r[0], r[1], r[2], money(r[3]), r[4], r[5]] for r in body["orders"]["rows"]]),
        body["receivables"],
    )  # fmt: skip


# (d) The forecast: deals closing in a half year, by forecast category
OURS_FORECAST = """
query Forecast($start: Date!, $end: Date!) {
  forecast(periodStart: $start, periodEnd: $end, currency: "USD") {
    currency byCategory { category count amount weightedAmount }
  }
}
"""
PG_FORECAST = """
query Forecast($start: Date!, $end: Date!) {
  benchApiForecastByCategory(periodStart: $start, periodEnd: $end, currency: "USD") {
    nodes { category deals amount weightedAmount }
  }
}
"""


def _buckets(rows: list[tuple[str, int, Any, Any]]) -> Any:
    """Categories with deals, sorted; zero buckets dropped (ours lists every category, the others only those found)."""
    return sorted([c, n, money(a), money(w)] for c, n, a, w in rows if n)


def _ours_forecast(data: dict[str, Any]) -> Any:
    f = data["forecast"]
    return _buckets([(b["category"], b["count"], b["amount"], b["weightedAmount"]) for b in f["byCategory"]])


def _pg_forecast(data: dict[str, Any]) -> Any:
    nodes = data["benchApiForecastByCategory"]["nodes"]
    return _buckets([(b["category"], b["deals"], b["amount"], b["weightedAmount"]) for b in nodes])


def _floor_forecast(body: list[list[Any]]) -> Any:
    return _buckets([(c, n, a, w) for c, n, a, w in body])


# (e) A mutation: logActivity (a call on a deal)
OURS_LOG = """
mutation Log($deal: ID!) {
  logActivity(input: {opportunityId: $deal, kind: CALL, subject: "Bench call"}) {
    activity { id kind subject opportunity { id } owner { id } }
    errors { field code message }
  }
}
"""
PG_LOG = """
mutation Log($activity: ActivityInput!) {
  createActivity(input: {activity: $activity}) {
    activity { rowId kind subject opportunityId ownerId }
  }
}
"""


def _ours_log(data: dict[str, Any]) -> Any:
    p = data["logActivity"]
    if p["errors"]:
        return {"errors": p["errors"]}
    a = p["activity"]
    return [a["kind"], a["subject"], ungid(a["opportunity"]["id"]), ungid(a["owner"]["id"])]


def _pg_log(data: dict[str, Any]) -> Any:
    a = data["createActivity"]["activity"]
    return [a["kind"], a["subject"], a["opportunityId"], a["ownerId"]]


def _pg_log_variables(viewer: Viewer, f: Fixtures) -> dict[str, Any]:
    # PostGraphile's generated create takes the whole row: the client supplies the id, tenant, owner and account
    # (the policy's WITH CHECK refuses another tenant or owner); ours derives them from the deal and the token.
    return {"activity": {
        "rowId": str(uuid.uuid4()), "tenantId": str(viewer.tenant_id), "kind": "CALL", "subject": "Bench call",
        "accountId": str(f.write_account_id), "opportunityId": str(f.write_deal_id), "ownerId": str(viewer.user_id),
        "occurredAt": datetime.now(UTC).isoformat(),
    }}  # fmt: skip


CATALOGUE: tuple[Entry, ...] = (
    Entry(
        "opportunity_list", "opportunity list: 50 with account, owner, totalCount",
        OURS_LIST, lambda f: {"first": PAGE}, _ours_list,
        PG_LIST, lambda v, f: {"first": PAGE}, _pg_list, _floor_list,
    ),
    Entry(
        "deal_page", "deal page: node with team, partners, activities, quotes",
        OURS_DEAL, lambda f: {"id": gid("Opportunity", f.deal_id)}, _ours_deal,
        PG_DEAL, lambda v, f: {"tenantId": str(v.tenant_id), "id": str(f.deal_id)}, _pg_deal, _floor_deal,
    ),
    Entry(
        "partner_home", "partner home: leads offered, registrations expiring, orders, receivables",
        OURS_HOME, lambda f: {"expiresBefore": EXPIRES_BEFORE}, _ours_home,
        PG_HOME, lambda v, f: {"expiresBefore": EXPIRES_BEFORE}, _pg_home, _floor_home,
    ),
    Entry(
        "forecast", "forecast: a half year by category",
        OURS_FORECAST, lambda f: {"start": f.period_start.isoformat(), "end": f.period_end.isoformat()},
        _ours_forecast,
        PG_FORECAST, lambda v, f: {"start": f.period_start.isoformat(), "end": f.period_end.isoformat()},
        _pg_forecast, _floor_forecast,
    ),
    Entry(
        "log_activity", "logActivity: a call on a deal",
        OURS_LOG, lambda f: {"deal": gid("Opportunity", f.write_deal_id)}, _ours_log,
        PG_LOG, _pg_log_variables, _pg_log, mutation=True,
    ),
)  # fmt: skip
BY_NAME = {e.name: e for e in CATALOGUE}
