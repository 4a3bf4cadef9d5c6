# ruff: noqa: S608 -- the SQL is put together from this module's own constants; values are bind parameters
"""The benchmark's floor: the catalogue's work with nothing in between, `python -m bench.floor --port N`.

A bare ASGI app under uvicorn: POST /<query name> with a JSON object of variables; asyncpg runs hand-written SQL
that carries the same visibility as our API (admin: the tenant; partner roles: own deals, team seats and deals
linked to the viewer's organization subtree, and only the people of that subtree, so an internal owner is null),
and orjson encodes the rows. Who asks comes in the X-Bench-Tenant, X-Bench-User and X-Bench-Roles headers, the
claims of the token the driver issued: the floor verifies no token. The database comes from the
PGHOST, PGPORT, PGDATABASE, PGUSER and PGPASSWORD variables. The viewer's organization path is read in
the same statement as the rows (a CTE), as a policy would.
"""

from __future__ import annotations

import argparse
import uuid
from datetime import date, datetime
from typing import Any

import asyncpg
import orjson
import uvicorn

PARTNER_ROLES = frozenset({"partner_admin", "partner_manager", "partner_sales"})
PAGE = 50

VIEWER = """v AS (SELECT g.path FROM app_user u JOIN organization g ON g.tenant_id = u.tenant_id
                AND g.id = u.organization_id WHERE u.tenant_id = $1 AND u.id = $2 AND u.is_active)"""
IN_SUBTREE = "g.path LIKE (SELECT path FROM v) || '%'"
PARTNER_DEAL = f"""(o.owner_id = $2
  OR EXISTS (SELECT 1 FROM opportunity_team_member t WHERE t.tenant_id = o.tenant_id AND t.opportunity_id = o.id
             AND t.user_id = $2)
  OR EXISTS (SELECT 1 FROM opportunity_partner p JOIN organization g ON g.tenant_id = p.tenant_id
             AND g.id = p.organization_id WHERE p.tenant_id = o.tenant_id AND p.opportunity_id = o.id
             AND {IN_SUBTREE}))"""
# A partner's commerce grants are org (tree) and own: a team seat alone does not show a deal's quotes.
PARTNER_COMMERCE_DEAL = f"""(o.owner_id = $2
  OR EXISTS (SELECT 1 FROM opportunity_partner p JOIN organization g ON g.tenant_id = p.tenant_id
             AND g.id = p.organization_id WHERE p.tenant_id = o.tenant_id AND p.opportunity_id = o.id
             AND {IN_SUBTREE}))"""
PARTNER_USER = f"""EXISTS (SELECT 1 FROM organization g WHERE g.tenant_id = u.tenant_id AND g.id = u.organization_id
  AND {IN_SUBTREE})"""
PARTNER_ORG = IN_SUBTREE


def _partner_of(column: str) -> str:
    return f"EXISTS (SELECT 1 FROM organization g WHERE g.tenant_id = x.tenant_id AND g.id = {column} AND {IN_SUBTREE})"


PARTNER_LEAD = f"(x.owner_id = $2 OR x.created_by_id = $2 OR {_partner_of('x.partner_organization_id')})"
PARTNER_REGISTRATION = f"(x.submitted_by_id = $2 OR {_partner_of('x.partner_organization_id')})"
PARTNER_ORDER = f"""(x.owner_id = $2 OR {_partner_of("x.partner_organization_id")}
  OR EXISTS (SELECT 1 FROM opportunity o WHERE o.tenant_id = x.tenant_id AND o.id = x.opportunity_id
             AND {PARTNER_COMMERCE_DEAL})
  OR EXISTS (SELECT 1 FROM account a WHERE a.tenant_id = x.tenant_id AND a.id = x.account_id AND a.owner_id = $2))"""


def _page(cte: str, columns: str, limit: int) -> str:
    """The total and the first `limit` rows (newest first) of a CTE, with the partner organization when visible."""
    return f"""json_build_object('total', (SELECT count(*) FROM {cte}), 'rows', (
        SELECT coalesce(json_agg(json_build_array({columns},
                 CASE WHEN g.id IS NOT NULL THEN json_build_array(g.id, g.name) END)
               ORDER BY x.created_at DESC, x.id DESC), '[]')
        FROM (SELECT * FROM {cte} ORDER BY created_at DESC, id DESC LIMIT {limit}) x
        LEFT JOIN organization g ON g.tenant_id = x.tenant_id AND g.id = x.partner_organization_id AND {{org}}))"""


def _sql(admin: bool) -> dict[str, str]:
    """Each query's statements for an admin or a partner viewer ($1 tenant, $2 user, then the query's own)."""
    deal = "true" if admin else PARTNER_DEAL
    commerce = "true" if admin else PARTNER_COMMERCE_DEAL
    user = "true" if admin else PARTNER_USER
    org = "true" if admin else PARTNER_ORG
    lead = "true" if admin else PARTNER_LEAD
    registration = "true" if admin else PARTNER_REGISTRATION
    order = "true" if admin else PARTNER_ORDER
    owner = (
        "u.id AS owner_id, u.name AS owner_name"
        if admin
        else (f"CASE WHEN {user} THEN u.id END AS owner_id, CASE WHEN {user} THEN u.name END AS owner_name")
    )
    return {
        "list_page": f"""WITH {VIEWER}
            SELECT o.id, o.name, o.stage, o.amount, o.currency, o.close_date, a.id AS account_id,
                   a.name AS account_name,
                   {owner}
            FROM opportunity o
            JOIN account a ON a.tenant_id = o.tenant_id AND a.id = o.account_id
            LEFT JOIN app_user u ON u.tenant_id = o.tenant_id AND u.id = o.owner_id
            WHERE o.tenant_id = $1 AND {deal}
            ORDER BY o.created_at DESC, o.id DESC LIMIT {PAGE + 1}""",
        "list_count": f"WITH {VIEWER} SELECT count(*) FROM opportunity o WHERE o.tenant_id = $1 AND {deal}",
        # One statement for the whole deal page, the JSON built in PostgreSQL
        "deal_page": f"""WITH {VIEWER}, d AS (
              SELECT o.* FROM opportunity o WHERE o.tenant_id = $1 AND o.id = $3 AND {deal})
            SELECT json_build_object(
              'deal', (SELECT json_build_array(o.id, o.name, o.stage, o.amount, o.currency, o.close_date, o.probability,
                         o.forecast_category, json_build_array(a.id, a.name),
                         CASE WHEN u.id IS NOT NULL AND {user} THEN json_build_array(u.id, u.name) END)
                       FROM d o JOIN account a ON a.tenant_id = o.tenant_id AND a.id = o.account_id
                       LEFT JOIN app_user u ON u.tenant_id = o.tenant_id AND u.id = o.owner_id),
              'team', (SELECT coalesce(json_agg(json_build_array(t.sales_role, t.access,
                         CASE WHEN {user} THEN json_build_array(u.id, u.name) END) ORDER BY t.created_at, t.id), '[]')
                       FROM d JOIN opportunity_team_member t ON t.tenant_id = d.tenant_id AND t.opportunity_id = d.id
                       JOIN app_user u ON u.tenant_id = t.tenant_id AND u.id = t.user_id),
              'partners', (SELECT coalesce(json_agg(json_build_array(p.role, json_build_array(g.id, g.name))
                             ORDER BY p.created_at, p.id), '[]')
                           FROM d JOIN opportunity_partner p ON p.tenant_id = d.tenant_id AND p.opportunity_id = d.id
                           JOIN organization g ON g.tenant_id = p.tenant_id AND g.id = p.organization_id
                           WHERE {org}),
              'activities', (SELECT json_build_object('total', (SELECT count(*) FROM activity x
                                 WHERE x.tenant_id = d.tenant_id AND x.opportunity_id = d.id),
                               'rows', (SELECT coalesce(json_agg(json_build_array(x.id, x.kind, x.subject,
                                                                                  x.occurred_at)
                                                        ORDER BY x.occurred_at DESC, x.id DESC), '[]')
                                        FROM (SELECT * FROM activity x WHERE x.tenant_id = d.tenant_id
                                              AND x.opportunity_id = d.id ORDER BY x.occurred_at DESC, x.id DESC
                                              LIMIT 10) x)) FROM d),
              'quotes', (SELECT json_build_object('total', count(*), 'rows', coalesce(json_agg(
                           json_build_array(q.id, q.number, q.version, q.status, q.total, q.currency)
                           ORDER BY q.created_at DESC, q.id DESC) FILTER (WHERE q.rn <= 10), '[]'))
                         FROM (SELECT q.*, row_number() OVER (ORDER BY q.created_at DESC, q.id DESC) AS rn
                               FROM d o JOIN quote q ON q.tenant_id = o.tenant_id AND q.opportunity_id = o.id
                               WHERE q.status <> 'SUPERSEDED' AND {commerce}) q))
            FROM d""",
        # One statement for the partner's home page
        "partner_home": f"""WITH {VIEWER},
            l AS (SELECT x.* FROM lead x WHERE x.tenant_id = $1 AND x.status = 'OFFERED' AND {lead}),
            r AS (SELECT x.* FROM deal_registration x WHERE x.tenant_id = $1 AND x.status = 'APPROVED'
                  AND x.protection_expires_at < $3 AND {registration}),
            s AS (SELECT x.* FROM sales_order x WHERE x.tenant_id = $1 AND {order}),
            i AS (SELECT x.* FROM installment x WHERE x.tenant_id = $1 AND x.order_id IN (SELECT id FROM s))
            SELECT json_build_object(
              'leads', {_page("l", "x.id, x.company_name, x.status, x.offer_expires_at", 20).format(org=org)},
              'registrations', {_page("r", "x.id, x.customer_name, x.amount, x.currency, x.protection_expires_at",
                                      20).format(org=org)},
              'orders', {_page("s", "x.id, x.number, x.status, x.total, x.currency", 20).format(org=org)},
              'receivables', (SELECT coalesce(json_agg(json_build_array(t.currency, t.planned, t.billed, t.paid, t.due,
                                t.overdue) ORDER BY t.currency), '[]') FROM (
                SELECT i.currency, sum(i.amount) AS planned,
                       sum(CASE WHEN s.invoice_state IS NOT NULL AND s.invoice_state NOT IN ('none', 'pending')
                           THEN i.amount ELSE i.paid_amount END) AS billed,
                       sum(i.paid_amount) AS paid,
                       sum(greatest(i.amount - i.paid_amount, 0)) AS due,
                       sum(CASE WHEN i.due_date < (now() AT TIME ZONE 'UTC')::date
                           THEN greatest(i.amount - i.paid_amount, 0) ELSE 0 END) AS overdue
                FROM i JOIN s ON s.id = i.order_id GROUP BY i.currency) t))""",
        "forecast": f"""WITH {VIEWER}
            SELECT o.forecast_category, count(*), sum(o.amount), sum(o.amount * o.probability / 100)
            FROM opportunity o
            WHERE o.tenant_id = $1 AND {deal} AND o.close_date >= $3 AND o.close_date <= $4 AND o.currency = 'USD'
            GROUP BY o.forecast_category""",
        # The activity and its audit event, in one statement, on a deal the viewer sees
        "log_activity": f"""WITH {VIEWER},
            d AS (SELECT o.tenant_id, o.id, o.account_id FROM opportunity o
                  WHERE o.tenant_id = $1 AND o.id = $3 AND {deal}),
            a AS (INSERT INTO activity (tenant_id, id, kind, subject, account_id, opportunity_id, owner_id, occurred_at,
                                        done, created_at, updated_at)
                  SELECT d.tenant_id, gen_random_uuid(), 'CALL', $4, d.account_id, d.id, $2, now(), true, now(), now()
                  FROM d RETURNING *),
            e AS (INSERT INTO audit_event (tenant_id, id, occurred_at, actor_user_id, actor_name, record_type,
                                           record_id, action, changes)
                  SELECT a.tenant_id, gen_random_uuid(), now(), $2, $2::text, 'activity', a.id, 'created',
                         jsonb_build_object('kind', jsonb_build_array(null, 'call'),
                                            'subject', jsonb_build_array(null, $4))
                  FROM a)
            SELECT kind, subject, opportunity_id, owner_id FROM a""",
    }  # fmt: skip


SQL = {True: _sql(True), False: _sql(False)}


def _default(value: Any) -> Any:
    return str(value)


class FloorConnection(asyncpg.Connection):
    """A pooled connection returned as it is: the floor sets no session state, so it sends no reset query."""

    def get_reset_query(self) -> str:
        return ""


class Floor:
    """The ASGI app."""

    def __init__(self, pool_size: int) -> None:
        self.pool_size = pool_size
        self.pool: asyncpg.Pool | None = None

    async def _query(
        self, name: str, tenant: uuid.UUID, user: uuid.UUID, admin: bool, variables: dict[str, Any]
    ) -> Any:
        assert self.pool is not None
        sql = SQL[admin]
        async with self.pool.acquire() as conn:
            if name == "opportunity_list":
                rows = await conn.fetch(sql["list_page"], tenant, user)
                total = await conn.fetchval(sql["list_count"], tenant, user)
                return {"total": total, "hasNextPage": len(rows) > PAGE,
                        "rows": [[r[0], r[1], r[2], r[3], r[4], r[5], [r[6], r[7]],
                                  None if r[8] is None else [r[8], r[9]]] for r in rows[:PAGE]]}  # fmt: skip
            if name == "deal_page":
                raw = await conn.fetchval(sql["deal_page"], tenant, user, uuid.UUID(variables["id"]))
                return None if raw is None else orjson.Fragment(raw)
            if name == "partner_home":
                before = datetime.fromisoformat(variables["expiresBefore"])
                return orjson.Fragment(await conn.fetchval(sql["partner_home"], tenant, user, before))
            if name == "forecast":
                start, end = date.fromisoformat(variables["start"]), date.fromisoformat(variables["end"])
                return [list(r) for r in await conn.fetch(sql["forecast"], tenant, user, start, end)]
            if name == "log_activity":
                r = await conn.fetchrow(sql["log_activity"], tenant, user, uuid.UUID(variables["deal"]), "Bench call")
                return None if r is None else [str(r[0]).upper(), r[1], r[2], r[3]]
        raise KeyError(name)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self.pool = await asyncpg.create_pool(
                        min_size=2, max_size=self.pool_size, connection_class=FloorConnection
                    )
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if self.pool is not None:
                        await self.pool.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = dict(scope["headers"])
        status, payload = 200, b""
        try:
            roles = headers[b"x-bench-roles"].decode().split(",")
            if "admin" not in roles and not PARTNER_ROLES.intersection(roles):
                raise PermissionError("the floor covers admins and partner roles only")
            result = await self._query(
                scope["path"].strip("/"), uuid.UUID(headers[b"x-bench-tenant"].decode()),
                uuid.UUID(headers[b"x-bench-user"].decode()), "admin" in roles,
                orjson.loads(body) if body else {},
            )  # fmt: skip
            payload = orjson.dumps(result, default=_default)
        except (KeyError, ValueError, PermissionError) as exc:
            status, payload = 400, orjson.dumps({"error": f"{type(exc).__name__}: {exc}"})
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})  # fmt: skip
        await send({"type": "http.response.body", "body": payload})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pool", type=int, default=16)
    args = parser.parse_args()
    uvicorn.run(Floor(args.pool), host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
