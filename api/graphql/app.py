"""The ASGI GraphQL endpoint: builds each request's context from the authenticated actor."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from api.graphql.context import Context, Loaders
from api.graphql.graphiql import page_html
from api.graphql.schema import build_schema
from permissions.engine import access_for


class CrmGraphQL(GraphQL):  # type: ignore[type-arg]
    """Strawberry's ASGI app with our context; the auth middleware has already set the actor."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, production: bool) -> None:
        # Queries run only as authenticated POSTs; GET serves nothing but the GraphiQL page.
        super().__init__(
            build_schema(production=production),
            graphql_ide=None if production else "graphiql",
            allow_queries_via_get=False,
        )
        self.sessions = sessions

    async def render_graphql_ide(self, request: Request) -> Response:
        """Our GraphiQL page, whose scripts come from this service rather than a CDN."""
        return HTMLResponse(page_html())

    async def get_context(  # type: ignore[override]
        self, request: Request | WebSocket, response: Response | WebSocket | None
    ) -> Context | None:
        actor = getattr(request.state, "actor", None)
        if actor is None:
            return None  # only the GraphiQL page gets here (the middleware lets nothing else through unauthenticated)
        async with self.sessions() as session:
            access = await access_for(session, actor, request.state.policy_version)
        return Context(
            request=request,  # type: ignore[arg-type]
            sessions=self.sessions,
            access=access,
            loaders=Loaders(self.sessions, access),
            request_id=getattr(request.state, "request_id", ""),
        )


def make_graphql_app(sessions: async_sessionmaker[AsyncSession], settings: Any) -> CrmGraphQL:
    return CrmGraphQL(sessions, production=bool(getattr(settings, "production", False)))
