"""Kept reads, answered ahead of strawberry's pipeline: the budget's charge, the compiled statement, the bytes.

A request whose query text, operation, variables and actor's row-rule inputs are those of an operation prepared
before (api/graphql/compiled/execution.py), and whose compiled statement answers the whole operation, leaves
strawberry's pipeline nothing to decide: the same document parsed, passed validation, the text, depth, alias
and token limits when it was prepared (they depend on nothing else), and its cost was kept with it. So it is
answered here: the cost is charged to the caller's budgets (one statement, with the sign-in check for a session
seen before: api/auth/signed_in.py) and the statement runs (one more), both on the request's one connection
(infrastructure/request_connection.py), and PostgreSQL's JSON goes out as it wrote it. The row rules are in the
statement, evaluated as it runs, so the answer is today's data.

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

from api.auth.middleware import SIGNED_OUT, unauthenticated
from api.auth.signed_in import checked, pending
from api.graphql.budgets import (
    DEFAULT_LIMITS,
    LIMITS_STATE,
    METER_STATE,
    PREPAID_STATE,
    BudgetSpent,
    Meter,
    budgets_for,
)
from api.graphql.compiled import execution, kept_mutations
from api.graphql.compiled.kept_mutations import SignedKeptRun
from api.graphql.context import Loaders
from api.settings import QueryLimits
from domain.access.principals import sign_in_and_charge
from domain.access.usage_budgets import Charge, charge
from infrastructure.db import database_trouble
from infrastructure.request_connection import request_connection
from permissions.engine import PolicyAccess, access_for, kept_access_for
from services.compiled_reads.run import run_on
from services.unit_of_work import Sessions

log = logging.getLogger("crm.compiled_reads")

# How many requests this process answered from a kept statement ahead of the pipeline.
kept_answers = 0


async def answer_kept(request: Request, sessions: Sessions, media_type: str) -> Response | None:
    """The response to a request for a kept compiled read or a kept mutation (api/graphql/compiled/kept_mutations.py),
    or None when strawberry's pipeline must answer it."""
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
    state_version = state.get("policy_version")
    access = kept_access_for(actor, state_version)
    if access is None:
        async with sessions() as session:  # the tenant's policy, not loaded yet at its version
            access = await access_for(session, actor, state.get("policy_version"))
    limits: QueryLimits = state.get(LIMITS_STATE) or DEFAULT_LIMITS  # `limits_of(request)`, from the state itself
    # A text kept as a mutation is looked up as one first: a read's key (its variables serialised) is worked out
    # only for the rest. One operation is a read or a mutation, never both, so the order changes no answer.
    mutation: kept_mutations.Call | None = None
    if kept_mutations.known(query):
        mutation = kept_mutations.call(execution.CACHE, query, operation_name, variables, access)
    prepared = execution.kept(query, operation_name, variables, access) if mutation is None else None
    if mutation is not None:
        cost, key = mutation.cost, mutation.key
    elif prepared is not None and prepared.rest is None and prepared.cost is not None:
        cost, key = prepared.cost, prepared.keys[0]
    else:
        return None
    if cost > limits.max_cost:
        return None
    async with connection.use() as driver:
        budgets = budgets_for(actor, limits)
        waiting = pending(state)
        changed: tuple[Any, Any] | None = None  # a kept change made with its sign-in check: payload, records
        signed = mutation.run.signed if mutation is not None and isinstance(mutation.run, SignedKeptRun) else None
        if waiting is None:
            taken = await charge(driver, actor.tenant_id, budgets, max(1, cost))
        elif signed is not None and state_version is not None:
            # The sign-in check, the charge and the change in one statement: the change is made only if the person
            # is as planned and the budget pays.
            try:
                outcome = await signed(driver, waiting.session_id, budgets, max(1, cost), state_version)
            except Exception as exc:
                if database_trouble(exc) is not None:
                    raise
                log.error(
                    "request %s: a kept change with its sign-in check failed", state.get("request_id"), exc_info=exc
                )
                return None  # one statement, so nothing was charged or written: the pipeline answers
            checked(state, None if outcome is None else outcome.loaded)
            if outcome is None:
                return unauthenticated(SIGNED_OUT)
            taken, changed = outcome.charge, outcome.answer
            if changed is None and taken.allowed:
                # Not as planned (changed since its last request): nothing was written; the pipeline answers as the
                # person now is, with this charge as its own.
                _prepaid(state, taken, limits)
                return None
        else:
            # The sign-in check and the charge in one statement (api/auth/signed_in.py); no one signed in, no charge
            found = await sign_in_and_charge(
                driver, waiting.tenant_id, waiting.user_id, waiting.session_id, budgets, max(1, cost)
            )
            checked(state, None if found is None else found[0])
            if found is None:
                return unauthenticated(SIGNED_OUT)
            loaded, taken = found
            if loaded.actor != actor or loaded.policy_version != state_version:
                # Changed since its last request: the plan was the old actor's. The pipeline answers, with this
                # charge as its own.
                _prepaid(state, taken, limits)
                return None
        meter = Meter(taken, limits.max_cost, refused=not taken.allowed)
        state[METER_STATE] = meter  # the RateLimit headers, and 429 when refused (api/graphql/http_limits.py)
        if meter.refused:
            return _answer({"data": None, "errors": [BudgetSpent(taken).formatted]}, media_type, request_error=True)
        try:
            if mutation is None:
                assert prepared is not None
                answer = await run_on(driver, prepared.statement)
            else:
                value, records = changed if changed is not None else await mutation.run(driver)
        except Exception as exc:
            if database_trouble(exc) is not None:
                raise  # the request guard answers 503 with Retry-After, as for the sign-in's own statement
            return _unexpected(exc, state.get("request_id"), key, media_type)
    if mutation is not None:
        # Written after the change: a field that fails is answered in place, as the pipeline answers it.
        body = await kept_mutations.payload(
            mutation, value, records, _loader(sessions, access), state.get("request_id")
        )
        kept_mutations.kept_answers += 1
        return _answer(body, media_type)
    global kept_answers
    kept_answers += 1
    return _answer({"data": answer}, media_type)


def _prepaid(state: dict[str, Any], taken: Charge, limits: QueryLimits) -> None:
    """Leave a request whose person changed since their last request to the pipeline, with the charge the check
    took as its own (the pipeline then answers as the person now is)."""
    state[METER_STATE] = Meter(taken, limits.max_cost, refused=not taken.allowed)
    state[PREPAID_STATE] = True


def _loader(sessions: Sessions, access: PolicyAccess) -> kept_mutations.Loader:
    """A record by type and id through loaders of the caller, made only if a payload needs a record its
    statement did not read back."""
    made: Loaders | None = None

    async def loaded(type_name: str, record_id: Any) -> Any:
        nonlocal made
        if made is None:
            made = Loaders(sessions, access)
        return await made.by_type[type_name].load(record_id)

    return loaded


def _answer(body: dict[str, Any], media_type: str, *, request_error: bool = False) -> Response:
    """A response as the pipeline writes it: under `application/graphql-response+json` an operation refused
    before it ran has no `data` and a 4xx status."""
    status = 200
    if request_error and media_type != "application/json":
        body = {k: v for k, v in body.items() if k != "data"}
        status = 400
    response = Response(orjson.dumps(body), status_code=status)  # its headers: the length, then the type
    response.raw_headers.append((b"content-type", f"{media_type}; charset=utf-8".encode("latin-1")))
    return response


def _unexpected(exc: Exception, request_id: str | None, key: str, media_type: str) -> Response:
    """A statement that failed for a reason of its own: logged under the request id, answered as masking does."""
    log.error("request %s: a kept compiled read failed", request_id, exc_info=exc)
    error = {"message": "Unexpected error.", "path": [key], "extensions": {"code": "INTERNAL", "requestId": request_id}}
    return _answer({"data": None, "errors": [error]}, media_type)
