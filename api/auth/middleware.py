"""Authentication middleware: every request but the open endpoints needs a valid bearer token."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth.keys import key_ring
from api.auth.signed_in import PENDING_KEY, SIGNED_IN, Pending
from api.auth.tokens import TokenInvalid, verify
from infrastructure.request_connection import STATE_KEY as CONNECTION_KEY
from infrastructure.request_connection import RequestConnection
from services.identity import principal
from services.unit_of_work import Sessions

log = logging.getLogger("crm.auth")

GRAPHQL_PATH = "/graphql"
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/oauth/token", "/.well-known/jwks.json", "/", "/portal"})
# /graphiql/static/ holds only the GraphiQL page's vendored scripts; it is not mounted in production.
# /portal/ serves the partner portal's files, which hold no data: the portal reads everything through /graphql.
OPEN_PREFIXES = ("/webhooks/", "/forms/", "/auth/", "/graphiql/static/", "/portal/")


SIGNED_OUT = "This session has ended, or the account is deactivated or its organization no longer has access."


def unauthenticated(message: str) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer realm="channel-crm"'},
    )


class AuthenticationMiddleware:
    """Sets `request.state.actor`, `policy_version` and `request_id`, or answers 401."""

    def __init__(self, app: ASGIApp, sessions: Callable[[], Sessions], *, graphiql_open: bool) -> None:
        self.app = app
        self.sessions = sessions
        self.graphiql_open = graphiql_open

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id

        async def send_with_request_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("X-Request-ID", request_id)
            await send(message)

        path: str = scope["path"]
        headers = Headers(scope=scope)
        if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES) or self._is_graphiql_page(scope, headers):
            await self.app(scope, receive, send_with_request_id)
            return
        # The request's fixed statements (this sign-in check, then its charge and a kept read) share one connection,
        # handed back when the endpoint is done with it (the GraphQL endpoint gives it back early when it resolves).
        connection = RequestConnection(self.sessions())
        state[CONNECTION_KEY] = connection
        try:
            # A GraphQL POST of a session seen before is checked by its endpoint, with its charge (signed_in.py)
            deferrable = path == GRAPHQL_PATH and scope["method"] == "POST"
            response = await self._authenticate(headers, state, connection, deferrable=deferrable)
            if response is not None:
                await connection.release()
                await response(scope, receive, send_with_request_id)
                return
            if path != GRAPHQL_PATH:
                await connection.release()  # only the GraphQL endpoint has fixed statements to reuse it for
            await self.app(scope, receive, send_with_request_id)
        finally:
            await connection.release()

    def _is_graphiql_page(self, scope: Scope, headers: Headers) -> bool:
        """The GraphiQL page holds no data; its queries are POSTs that need the token."""
        return (
            self.graphiql_open
            and scope["method"] == "GET"
            and scope["path"].rstrip("/") == "/graphql"
            and "text/html" in headers.get("accept", "")
        )

    async def _authenticate(
        self, headers: Headers, state: dict[str, object], connection: RequestConnection, *, deferrable: bool
    ) -> JSONResponse | None:
        authorization = headers.get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        if not authorization:
            return unauthenticated("Authentication required: send 'Authorization: Bearer <token>'.")
        if scheme.lower() != "bearer" or not token.strip():
            return unauthenticated("The Authorization header must be 'Bearer <token>'.")
        sessions = self.sessions()
        try:
            claims = verify(await key_ring(sessions), token.strip())
        except TokenInvalid as exc:
            return unauthenticated(str(exc))
        if claims.kind == "user":
            try:
                user_id = uuid.UUID(claims.subject)
            except ValueError:
                return unauthenticated("The token's subject is not a user.")
            waiting = Pending(claims.tenant_id, user_id, claims.session_id)
            known = SIGNED_IN.get(waiting) if deferrable else None
            if known is not None:
                state["actor"], state["policy_version"], state[PENDING_KEY] = known.actor, known.policy_version, waiting
                return None
            loaded = await principal(
                sessions,
                claims.tenant_id,
                user_id=user_id,
                client_id=None,
                session_id=claims.session_id,
                connection=connection,
            )
            SIGNED_IN.found(waiting, loaded)
        else:
            loaded = await principal(sessions, claims.tenant_id, user_id=None, client_id=claims.subject)
        if loaded is None:
            return unauthenticated(SIGNED_OUT)
        state["actor"] = loaded.actor
        state["policy_version"] = loaded.policy_version
        return None
