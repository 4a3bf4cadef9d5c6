"""The GraphQL endpoint's limits at the HTTP level: requests in progress per caller, RateLimit headers, 429, size.

- A caller (a person or a machine client) may have `max_concurrent` GraphQL requests in progress at once in
  one server process, as GitHub's secondary rate limits allow; more are answered 429 at once, before any
  database work, so one caller's burst cannot take a process's connection pool. The count is per process (it
  bounds a share of that process), the budgets over time are shared by all of them (api/graphql/budgets.py).
- Every GraphQL response to a signed-in caller carries the IETF draft's headers
  (draft-ietf-httpapi-ratelimit-headers, its form with three fields) for the caller's budget that runs out first:
  `RateLimit-Limit` (points the budget holds when full), `RateLimit-Remaining` (points left after this
  request) and `RateLimit-Reset` (seconds until the budget is full again).
- A request refused because its budget was spent is answered 429 with `Retry-After` (seconds).
- A response whose body is larger than the ceiling is not sent; in its place goes an error, `extensions.code`
  RESPONSE_TOO_LARGE, stating its size and the ceiling. The cost ceiling keeps such responses rare.
"""

from __future__ import annotations

import logging
from collections import Counter

import orjson
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.graphql.budgets import LIMITS_STATE, METER_STATE, Meter
from api.settings import QueryLimits
from domain.access.actor import Actor

log = logging.getLogger("crm.graphql")


def rate_limit_headers(meter: Meter) -> dict[str, str]:
    """The RateLimit headers for a request's charge, with Retry-After when it was refused."""
    binding = meter.charge.binding
    headers = {
        "RateLimit-Limit": str(int(binding.capacity)),
        "RateLimit-Remaining": str(binding.remaining),
        "RateLimit-Reset": str(binding.seconds_until_full),
    }
    if meter.refused:
        headers["Retry-After"] = str(meter.charge.retry_after)
    return headers


def megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def too_large_body(size: int, limit: int, request_id: str | None, *, with_data: bool) -> bytes:
    """The error sent instead of a response over the ceiling."""
    error = {
        "message": f"The response would be {megabytes(size)} ({size} bytes), more than the {megabytes(limit)} "
        f"({limit} bytes) this service sends at once; ask for fewer rows (smaller `first`), fewer fields or "
        "fewer aliases, and page through the rest.",
        "extensions": {"code": "RESPONSE_TOO_LARGE", "size": size, "maxSize": limit, "requestId": request_id},
    }
    return orjson.dumps({"data": None, "errors": [error]} if with_data else {"errors": [error]})


def too_many_body(limit: int) -> bytes:
    error = {
        "message": f"You have {limit} requests in progress already, the most one caller may have at once; "
        "wait for one to finish.",
        "extensions": {"code": "RATE_LIMITED", "retryAfter": 1, "maxConcurrentRequests": limit},
    }
    return orjson.dumps({"data": None, "errors": [error]})


def caller_of(actor: Actor) -> tuple[str, str]:
    return str(actor.tenant_id), str(actor.user_id or f"client:{actor.client_id}")


class GraphQLHttpLimits:
    """ASGI wrapper of the GraphQL endpoint: hands it its limits, then applies them to what it answers."""

    def __init__(self, app: ASGIApp, limits: QueryLimits) -> None:
        self.app = app
        self.limits = limits
        self.in_progress: Counter[tuple[str, str]] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state[LIMITS_STATE] = self.limits
        actor: Actor | None = state.get("actor")
        if actor is None:  # the GraphiQL page, or a request the endpoint answers 401
            await self._answer(scope, receive, send)
            return
        caller = caller_of(actor)
        if self.in_progress[caller] >= self.limits.max_concurrent:
            await self._refuse_concurrent(send)
            return
        self.in_progress[caller] += 1
        try:
            await self._answer(scope, receive, send)
        finally:
            self.in_progress[caller] -= 1
            if self.in_progress[caller] <= 0:
                del self.in_progress[caller]

    async def _refuse_concurrent(self, send: Send) -> None:
        body = too_many_body(self.limits.max_concurrent)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", b"1"),
        ]
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the endpoint, adding the RateLimit headers and holding back a body over the size ceiling."""
        state = scope["state"]
        limit = self.limits.max_response_bytes
        start: Message | None = None
        held: list[bytes] = []
        size = 0
        refused = False

        async def send_within_limits(message: Message) -> None:
            nonlocal start, size, refused
            if message["type"] == "http.response.start":
                start = message
                meter: Meter | None = state.get(METER_STATE)
                if meter is not None:
                    headers = MutableHeaders(scope=start)
                    for name, value in rate_limit_headers(meter).items():
                        headers[name] = value
                    if meter.refused:
                        start["status"] = 429
                declared = MutableHeaders(scope=start).get("content-length")
                if declared is not None and declared.isdigit() and int(declared) > limit:
                    refused = True
                    await self._send_too_large(send, start, int(declared), state.get("request_id"))
                elif declared is not None:
                    await send(start)
                    start = None
                return
            if refused:
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)  # a declared size within the ceiling: the body passes as it comes
                return
            held.append(message.get("body", b""))
            size += len(held[-1])
            if size > limit:
                refused = True
                await self._send_too_large(send, start, size, state.get("request_id"), at_least=True)
            elif not message.get("more_body", False):
                await send(start)
                await send({"type": "http.response.body", "body": b"".join(held)})

        await self.app(scope, receive, send_within_limits)

    async def _send_too_large(
        self, send: Send, start: Message, size: int, request_id: str | None, *, at_least: bool = False
    ) -> None:
        limit = self.limits.max_response_bytes
        log.warning(
            "request %s: response of %s%d bytes refused, over the %d-byte ceiling",
            request_id,
            "at least " if at_least else "",
            size,
            limit,
        )
        headers = MutableHeaders(scope=start)
        media_type = headers.get("content-type", "application/json")
        body = too_large_body(size, limit, request_id, with_data="graphql-response+json" not in media_type)
        headers["content-length"] = str(len(body))
        await send(start)
        await send({"type": "http.response.body", "body": body})
