"""What a GraphQL operation may cost: a ceiling per request and budgets over time, and the `rateLimit` query.

Before an operation runs, its cost is worked out from its document (api/graphql/cost.py). Over the ceiling it
is refused without running (`extensions.code` QUERY_TOO_COSTLY, stating the cost and the limit). Otherwise
the cost is taken from the caller's budgets: a person's own and their tenant's (all its people together), or a
machine client's own, which people's use cannot drain and which cannot drain theirs. When a budget lacks the
points the operation is refused without running (RATE_LIMITED, with `retryAfter`), and the endpoint answers
429 with Retry-After (api/graphql/http_limits.py, which also sends the RateLimit headers). An operation
refused before it could run (it did not parse or validate, or cost too much) still costs one point.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, TypeAlias

import strawberry
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import Info

from api.graphql.cost import QueryCost, operation_cost
from api.graphql.descriptions import describe_values
from api.graphql.unavailable import ServiceUnavailable
from api.resilience import mark_database_trouble
from api.settings import QueryLimits
from domain.access.actor import Actor, ActorKind
from domain.access.usage_budgets import TENANT_SUBJECT, Budget, Charge, charge, client_subject, user_subject
from infrastructure.db import database_trouble
from services.unit_of_work import outside_transaction

log = logging.getLogger("crm.graphql")

# Where a request's limits and its charge are kept, on `request.state` (the ASGI scope's state).
LIMITS_STATE = "query_limits"
METER_STATE = "query_meter"
# Set when the request's charge was taken before the pipeline ran (with its sign-in check, api/auth/signed_in.py):
# the meter there is the operation's charge, not to be taken again.
PREPAID_STATE = "query_prepaid"
DEFAULT_LIMITS = QueryLimits()


@dataclass(frozen=True)
class Meter:
    """What one request cost and where its caller's budget stands after it."""

    charge: Charge
    max_cost: int
    # Whether the operation was refused for want of points (429); one refused before it could run is not.
    refused: bool = False


def limits_of(request: Any) -> QueryLimits:
    """The limits the endpoint was configured with (see GraphQLHttpLimits), else the defaults."""
    state = getattr(request, "state", None)
    return getattr(state, LIMITS_STATE, None) or DEFAULT_LIMITS


def meter_of(request: Any) -> Meter | None:
    return getattr(getattr(request, "state", None), METER_STATE, None)


def budgets_for(actor: Actor, limits: QueryLimits) -> list[Budget]:
    """The budgets a caller's requests draw on: a person's own and their tenant's, or a machine client's own."""
    if actor.kind is ActorKind.MACHINE or actor.user_id is None:
        subject = client_subject(actor.client_id or "unknown")
        return [Budget(subject, limits.client_budget, limits.client_refill_per_second)]
    return [
        Budget(user_subject(actor.user_id), limits.user_budget, limits.user_refill_per_second),
        Budget(TENANT_SUBJECT, limits.tenant_budget, limits.tenant_refill_per_second),
    ]


class QueryTooCostly(GraphQLError):
    """An operation whose cost is over the per-request ceiling; it did not run."""

    def __init__(self, cost: QueryCost, max_cost: int) -> None:
        where = ""
        if (costliest := cost.costliest) is not None and len(cost.by_field) > 1:
            where = f" (`{costliest[0]}` alone costs {costliest[1]})"
        super().__init__(
            f"This query would cost {cost.total} points{where}, over the limit of {max_cost} for one request; "
            "ask for fewer rows (smaller `first` or `last`), fewer nested lists or fewer aliases.",
            extensions={"code": "QUERY_TOO_COSTLY", "cost": cost.total, "maxCost": max_cost},
        )


class BudgetSpent(GraphQLError):
    """An operation the caller's budget cannot pay for now; it did not run."""

    def __init__(self, spent: Charge) -> None:
        whose = "your tenant's" if spent.binding.subject == TENANT_SUBJECT else "your"
        super().__init__(
            f"This query costs {spent.cost} points and {whose} query budget holds {spent.binding.remaining} now; "
            f"try again in {spent.retry_after} seconds.",
            extensions={
                "code": "RATE_LIMITED",
                "cost": spent.cost,
                "remaining": spent.binding.remaining,
                "retryAfter": spent.retry_after,
            },
        )


class QueryBudget(SchemaExtension):
    """Refuse an operation over the cost ceiling or beyond its caller's budget, before it runs; charge the rest."""

    def _request(self) -> Any:
        """The HTTP request of the operation; None when it was executed from inside the service (no one to charge)."""
        return getattr(self.execution_context.context, "request", None)

    async def _charge(self, cost: int, *, enforced: bool) -> Meter:
        context = self.execution_context.context
        request = context.request
        limits = limits_of(request)
        prepaid = meter_of(request)
        if prepaid is not None and getattr(request.state, PREPAID_STATE, False):
            return prepaid  # the same document's cost, charged with the sign-in check
        # One atomic statement, so no transaction around it; on the request's read session, like its reads.
        async with outside_transaction(context.sessions) as session:
            taken = await charge(session, context.actor.tenant_id, budgets_for(context.actor, limits), cost)
        meter = Meter(taken, limits.max_cost, refused=enforced and not taken.allowed)
        setattr(request.state, METER_STATE, meter)
        return meter

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        request = self._request()
        limits = limits_of(request)
        assert execution.graphql_document is not None
        cost = operation_cost(
            execution.schema._schema, execution.graphql_document, execution.operation_name, execution.variables
        )
        if cost.total > limits.max_cost:
            execution.result = GraphQLExecutionResult(data=None, errors=[QueryTooCostly(cost, limits.max_cost)])
        elif request is not None:
            try:
                meter = await self._charge(max(1, cost.total), enforced=True)
            except Exception as exc:  # noqa: BLE001 - answered as a field's failure would be, never raw
                execution.result = GraphQLExecutionResult(data=None, errors=[self._failure(exc)])
            else:
                if meter.refused:
                    execution.result = GraphQLExecutionResult(data=None, errors=[BudgetSpent(meter.charge)])
        yield

    async def on_operation(self) -> AsyncIterator[None]:
        yield
        execution = self.execution_context
        if self._request() is not None and meter_of(self._request()) is None and execution.pre_execution_errors:
            try:
                await self._charge(1, enforced=False)
            except Exception as exc:  # noqa: BLE001 - the request already failed; its answer stays as it is
                if not isinstance(self._failure(exc), ServiceUnavailable):
                    log.error("request %s: charging a refused operation failed", self._request_id(), exc_info=exc)

    def _request_id(self) -> str | None:
        return getattr(self.execution_context.context, "request_id", None)

    def _failure(self, exc: Exception) -> GraphQLError:
        """The error for a charge that failed: SERVICE_UNAVAILABLE (and a 503) when the database is away, else
        an unexpected error, which masking hides from the client and logs."""
        trouble = database_trouble(exc)
        if trouble is None:
            return GraphQLError(str(exc), original_error=exc)
        mark_database_trouble(self._request().scope, trouble, exc)
        return ServiceUnavailable(trouble)


class BudgetOwner(Enum):
    USER = "user"
    TENANT = "tenant"
    MACHINE_CLIENT = "client"


BudgetOwnerType: TypeAlias = BudgetOwner
strawberry.enum(BudgetOwnerType, name="BudgetOwner", description="Whose query budget it is.")
describe_values(
    BudgetOwnerType,
    {
        "USER": "The viewer's own: every person has one.",
        "TENANT": "The viewer's tenant's, shared by all its people.",
        "MACHINE_CLIENT": "The machine client's own (an ERP integration); people's use does not draw on it.",
    },
)


@strawberry.type(
    name="RateLimit",
    description="Where the viewer's query budget stands after this request. Every query costs points, about one "
    "per object it returns (pages and lists multiplied through their nesting), taken before it runs; a budget "
    "refills steadily up to its limit. A query beyond the budget is refused with RATE_LIMITED (HTTP 429 with "
    "Retry-After); the RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset headers of every response say "
    "the same.",
)
class RateLimitType:
    owner: BudgetOwnerType = strawberry.field(
        description="Whose budget this is: of the viewer's budgets, the one that runs out first."
    )
    limit: int = strawberry.field(description="Points the budget holds when full.")
    cost: int = strawberry.field(description="Points this request cost.")
    remaining: int = strawberry.field(description="Points left after this request.")
    used: int = strawberry.field(description="Points spent and not yet regained: `limit` minus `remaining`.")
    refill_rate: float = strawberry.field(description="Points the budget regains each second, up to its limit.")
    reset_at: datetime = strawberry.field(description="When the budget is full again if nothing more is spent.")
    max_cost: int = strawberry.field(
        description="The most one request may cost; a costlier one is refused with QUERY_TOO_COSTLY and does not run."
    )


def rate_limit_of(meter: Meter) -> RateLimitType:
    binding = meter.charge.binding
    owner = {TENANT_SUBJECT: BudgetOwner.TENANT}.get(binding.subject)
    if owner is None:
        owner = BudgetOwner.MACHINE_CLIENT if binding.subject.startswith("client:") else BudgetOwner.USER
    return RateLimitType(
        owner=owner,
        limit=int(binding.capacity),
        cost=meter.charge.cost,
        remaining=binding.remaining,
        used=int(binding.capacity) - binding.remaining,
        refill_rate=binding.refill_per_second,
        reset_at=meter.charge.resets_at,
        max_cost=meter.max_cost,
    )


@strawberry.type
class RateLimitQueries:
    @strawberry.field(
        description="The viewer's query budget after this request, like GitHub's `rateLimit`: what this request "
        "cost, what is left and when it is full again. Null only for operations run inside the service."
    )
    def rate_limit(self, info: Info) -> RateLimitType | None:
        meter = meter_of(getattr(info.context, "request", None))
        return rate_limit_of(meter) if meter is not None else None
