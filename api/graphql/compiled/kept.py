"""Kept reads, answered ahead of strawberry's pipeline: the budget's charge, the compiled statement, the bytes.

A request whose query text, operation, variables and actor's row-rule inputs are those of an operation prepared
before (api/graphql/compiled/execution.py), and whose compiled statement answers the whole operation, leaves
strawberry's pipeline nothing to decide: the same document parsed, passed validation, the text, depth, alias
and token limits when it was prepared (they depend on nothing else), and its cost was kept with it. So it is
answered here: the cost is charged to the caller's budgets (one statement) and the statement runs (one more),
both on the connection the sign-in check used (infrastructure/request_connection.py), and PostgreSQL's JSON goes
out as it wrote it. The row rules are in the statement, evaluated as it runs, so the answer is today's data.

Anything else goes through strawberry as before: a first request, an operation answered in part by the
resolvers, GET, a batch, a body that is not a JSON object, and every request while the test suite checks the
compiled reads against the resolvers (`CRM_COMPILED_READS=check`). A charge the budget refuses is answered as
the pipeline answers it (RATE_LIMITED, a 429); a database that fails is answered 503 by the request guard.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from api.graphql.budgets import METER_STATE, BudgetSpent, Meter, budgets_for, limits_of
from api.graphql.compiled import execution
from domain.access.usage_budgets import charge
from infrastructure.db import database_trouble
from infrastructure.request_connection import request_connection
from permissions.engine import access_for, kept_access_for
from services.compiled_reads.run import run_on
from services.unit_of_work import Sessions

log = logging.getLogger("crm.compiled_reads")

# How many requests this process answered from a kept statement ahead of the pipeline.
kept_answers = 0


async def answer_kept(request: Request, sessions: Sessions, media_type: str) -> Response | None:
    """The response to a request for a kept compiled read, or None when strawberry's pipeline must answer it."""
    if request.method != "POST" or execution.mode() != "on":
        return None
    state = request.scope.get("state") or {}
    actor = state.get("actor")
    connection = request_connection(state)
    if actor is None or connection is None:
        return None
    if request.headers.get("content-type", "").partition(";")[0].strip().lower() != "application/json":
        return None
    try:
        data = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    query, variables, operation_name = data.get("query"), data.get("variables"), data.get("operationName")
    if (
        not isinstance(query, str)
        or not isinstance(variables, dict | None)
        or not isinstance(operation_name, str | None)
    ):
        return None
    access = kept_access_for(actor, state.get("policy_version"))
    if access is None:
        async with sessions() as session:  # the tenant's policy, not loaded yet at its version
            access = await access_for(session, actor, state.get("policy_version"))
    prepared = execution.kept(query, operation_name, variables, access)
    limits = limits_of(request)
    if prepared is None or prepared.rest is not None or prepared.cost is None or prepared.cost > limits.max_cost:
        return None
    async with connection.use() as driver:
        taken = await charge(driver, actor.tenant_id, budgets_for(actor, limits), max(1, prepared.cost))
        meter = Meter(taken, limits.max_cost, refused=not taken.allowed)
        state[METER_STATE] = meter  # the RateLimit headers, and 429 when refused (api/graphql/http_limits.py)
        if meter.refused:
            return _answer({"data": None, "errors": [BudgetSpent(taken).formatted]}, media_type, request_error=True)
        try:
            answer = await run_on(driver, prepared.statement)
        except Exception as exc:
            if database_trouble(exc) is not None:
                raise  # the request guard answers 503 with Retry-After, as for the sign-in's own statement
            return _unexpected(exc, state.get("request_id"), prepared.keys[0], media_type)
    global kept_answers
    kept_answers += 1
    return _answer({"data": answer}, media_type)


def _answer(body: dict[str, Any], media_type: str, *, request_error: bool = False) -> Response:
    """A response as the pipeline writes it: under `application/graphql-response+json` an operation refused
    before it ran has no `data` and a 4xx status."""
    status = 200
    if request_error and media_type != "application/json":
        body = {k: v for k, v in body.items() if k != "data"}
        status = 400
    response = Response(orjson.dumps(body), status_code=status, media_type=media_type)
    response.headers["content-type"] = f"{media_type}; charset=utf-8"
    return response


def _unexpected(exc: Exception, request_id: str | None, key: str, media_type: str) -> Response:
    """A statement that failed for a reason of its own: logged under the request id, answered as masking does."""
    log.error("request %s: a kept compiled read failed", request_id, exc_info=exc)
    error = {"message": "Unexpected error.", "path": [key], "extensions": {"code": "INTERNAL", "requestId": request_id}}
    return _answer({"data": None, "errors": [error]}, media_type)
