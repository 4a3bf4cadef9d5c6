"""The ASGI GraphQL endpoint: GraphQL over HTTP as its specification says, with each request's context.

Clients that accept `application/graphql-response+json` get it, and with it truthful status codes: a request
that fails before execution (a document that does not parse or validate, variables that do not coerce) is a
400 without a `data` entry. Clients of plain `application/json` keep the older convention (200 with `errors`).
Queries may also be sent as GET; mutations never (405).
"""

from __future__ import annotations

from typing import Any

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from api.auth.middleware import SIGNED_OUT, unauthenticated
from api.auth.signed_in import confirm
from api.graphql.budgets import limits_of
from api.graphql.compiled.kept import answer_kept
from api.graphql.context import Context, Loaders
from api.graphql.graphiql import page_html
from api.graphql.record_versions import refused_precondition
from api.graphql.schema import build_schema
from infrastructure.connection_slots import request_sessions
from infrastructure.request_connection import request_connection
from permissions.engine import access_for
from services.unit_of_work import Sessions

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
# Deeper JSON than any input of this schema needs; it would otherwise exhaust the parser's or coercion's recursion.
MAX_JSON_DEPTH = 32


def response_media_type(accept: str | None) -> str:
    """The media type to answer with: `application/graphql-response+json` when the client prefers it, else JSON.

    A missing Accept header and `*/*` get `application/json`, as the GraphQL-over-HTTP specification asks
    for clients that predate the newer media type.
    """
    best, best_q = JSON, -1.0
    for part in (accept or "").split(","):
        media, _, params = part.strip().partition(";")
        media = media.strip().lower()
        if media not in (GRAPHQL_RESPONSE, JSON):
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > best_q or (q == best_q and media == GRAPHQL_RESPONSE):
            best, best_q = media, q
    return best if best_q > 0 else JSON


def json_depth(value: Any) -> int:
    """How deeply arrays and objects nest in a decoded JSON value (a scalar is 0), counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            return depth
        stack.extend((child, depth + 1) for child in children)
    return deepest


def is_request_error(result: ExecutionResult) -> bool:
    """Whether the operation failed before execution began: parsing, validation or variable coercion."""
    if isinstance(result, PreExecutionError):
        return True
    return result.data is None and bool(result.errors) and all(e.path is None for e in result.errors or [])


class MethodNotAllowed(HTTPException):
    """A mutation sent as GET: only POST may change anything."""

    def __init__(self, reason: str) -> None:
        super().__init__(405, reason)


class CrmGraphQL(GraphQL):
    """Strawberry's ASGI app with our context, content negotiation and request errors as the specification says."""

    def __init__(self, sessions: Sessions, *, production: bool) -> None:
        schema = build_schema(production=production)
        super().__init__(schema, graphql_ide=None if production else "graphiql", allow_queries_via_get=True)
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        try:
            if (precondition := refused_precondition(request.headers)) is not None:
                raise HTTPException(400, precondition)
            media_type = response_media_type(request.headers.get("accept"))
            response = await answer_kept(request, self.sessions, media_type)
            if response is None:
                state = scope.get("state") or {}
                connection = request_connection(state)
                if not await confirm(state, self.sessions, connection):  # a session seen before: checked now
                    response = unauthenticated(SIGNED_OUT)
                else:
                    # The pipeline's reads take their own session's turns: the sign-in's connection goes back first.
                    if connection is not None:
                        await connection.release()
                    response = await self.run(request)
        except HTTPException as exc:
            response = self.request_error(request, exc)
        await response(scope, receive, send)

    def request_error(self, request: Request, exc: HTTPException) -> Response:
        """A request the endpoint cannot take, as a GraphQL response with `errors` and no `data`."""
        code = {401: "UNAUTHENTICATED", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "BAD_REQUEST")
        headers = {"Allow": "POST"} if isinstance(exc, MethodNotAllowed) else {}
        if exc.status_code == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="channel-crm"'
        body = {"errors": [{"message": exc.reason, "extensions": {"code": code}}]}
        return Response(
            orjson.dumps(body),
            status_code=exc.status_code,
            media_type=response_media_type(request.headers.get("accept")),
            headers=headers,
        )

    def encode_json(self, data: object) -> bytes:
        """The response body; a compiled read's JSON (orjson.Fragment) goes out as PostgreSQL wrote it."""
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        """Decode a body or a `variables`/`extensions` parameter, refusing JSON nested deeper than any input needs."""
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise HTTPException(400, f"The request is not valid JSON: {exc}.") from exc
        if json_depth(value) > MAX_JSON_DEPTH:
            raise HTTPException(400, f"The request's JSON nests deeper than {MAX_JSON_DEPTH} levels.")
        return value

    async def parse_http_body(self, request: Any) -> Any:
        """The operation of a request; a JSON body must be an object such as `{"query": "{ me { email } }"}`."""
        content_type, _ = parse_content_type(request.content_type or "")
        if request.method == "POST" and "application/json" in content_type:
            body = self.parse_json(await request.get_body())  # Starlette keeps the body, so the parent reads it again
            if isinstance(body, list):
                raise HTTPException(400, "Batches (a JSON array) are not accepted; send one operation, a JSON object.")
            if not isinstance(body, dict):
                raise HTTPException(
                    400, 'The request body must be a JSON object with a "query", such as {"query": "{ me { email } }"}.'
                )
        return await super().parse_http_body(request)

    async def execute_single(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        try:
            return await super().execute_single(*args, **kwargs)
        except HTTPException as exc:
            cause = exc.__cause__
            if isinstance(cause, InvalidOperationTypeError) and cause.operation_type is OperationType.MUTATION:
                raise MethodNotAllowed("Mutations must be sent as POST; GET may carry only queries.") from exc
            raise

    async def get_sub_response(self, request: Request) -> Response:  # type: ignore[override]
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = response_media_type(request.headers.get("accept"))
        request.state.graphql_sub_response = sub_response
        return sub_response

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        """The response body; under `application/graphql-response+json` a failed request has no `data` and a 4xx."""
        body = await super().process_result(request, result)
        sub_response: Response = request.state.graphql_sub_response
        if sub_response.media_type == GRAPHQL_RESPONSE and is_request_error(result):
            body.pop("data", None)
            internal = any((e.extensions or {}).get("code") == "INTERNAL" for e in result.errors or [])
            sub_response.status_code = 500 if internal else 400
        return body

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        response = super().create_response(response_data, sub_response)
        response.headers["content-type"] = f"{sub_response.media_type}; charset=utf-8"
        return response

    async def render_graphql_ide(self, request: Request) -> Response:
        """Our GraphiQL page, whose scripts come from this service rather than a CDN."""
        return HTMLResponse(page_html())

    async def get_context(  # type: ignore[override]
        self, request: Request | WebSocket, response: Response | WebSocket | None
    ) -> Context | None:
        actor = getattr(request.state, "actor", None)
        if actor is None:
            # Only the GraphiQL page comes here unauthenticated (the middleware lets nothing else through);
            # a query sent along with it is not the page, and runs for no one.
            if isinstance(request, Request) and self.should_render_graphql_ide(self.request_adapter_class(request)):
                return None
            raise HTTPException(401, "Authentication required: send 'Authorization: Bearer <token>'.")
        async with self.sessions() as session:
            access = await access_for(session, actor, request.state.policy_version)
        # One request's sessions hold at most this many connections at once, however wide its query.
        sessions = request_sessions(self.sessions, limits_of(request).max_connections)
        return Context(
            request=request,  # type: ignore[arg-type]
            sessions=sessions,
            access=access,
            loaders=Loaders(sessions, access),
            request_id=getattr(request.state, "request_id", ""),
        )


def make_graphql_app(sessions: Sessions, settings: Any) -> CrmGraphQL:
    return CrmGraphQL(sessions, production=bool(getattr(settings, "production", False)))
