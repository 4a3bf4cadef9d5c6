"""The Starlette application: health, readiness, token endpoints and GraphQL behind authentication."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.auth.cors import CorsMiddleware
from api.auth.keys import key_ring
from api.auth.links import link_routes
from api.auth.middleware import AuthenticationMiddleware
from api.auth.oauth import token_endpoint
from api.auth.sign_in import sign_in_routes
from api.auth.sso import sso_routes
from api.erp.webhooks import erp_webhook
from api.graphql.app import make_graphql_app
from api.graphql.graphiql import graphiql_asset_routes
from api.leads.public_forms import form_submission, form_token
from api.settings import Settings
from domain import migrations
from domain.db import create_engine, session_factory

log = logging.getLogger("crm")


async def healthz(request: Request) -> JSONResponse:
    """The process is up."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """The database answers and its schema is at the newest migration."""
    state = request.app.state
    try:
        async with state.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        current = await migrations.current_revision(state.engine)
    except Exception as exc:  # noqa: BLE001 - any failure to reach the database means not ready
        log.warning("readiness check failed: %s", exc)
        return JSONResponse({"status": "unavailable", "reason": "database unreachable"}, status_code=503)
    if current != state.head_revision:
        return JSONResponse(
            {"status": "unavailable", "reason": f"migrations pending: at {current}, head is {state.head_revision}"},
            status_code=503,
        )
    return JSONResponse({"status": "ready", "revision": current})


async def jwks(request: Request) -> JSONResponse:
    """Public keys that verify this service's tokens."""
    ring = await key_ring(request.app.state.sessions)
    return JSONResponse(ring.public_jwks(), headers={"Cache-Control": "public, max-age=300"})


def create_app(settings: Settings | None = None, database_url: str | None = None) -> Starlette:
    """The ASGI app; the database URL comes from the argument, the settings, or the embedded server."""
    settings = settings or Settings.from_env()
    if database_url is None:
        from api.embedded_postgres import resolve_database_url

        database_url = resolve_database_url(settings)
    engine = create_engine(database_url)
    sessions = session_factory(engine)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await engine.dispose()

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/.well-known/jwks.json", jwks),
            Route("/oauth/token", token_endpoint, methods=["POST"]),
            *sign_in_routes(),
            *sso_routes(),
            *link_routes(),
            Route("/forms/{key}/token", form_token, methods=["GET", "OPTIONS"]),
            Route("/forms/{key}/leads", form_submission, methods=["POST", "OPTIONS"]),
            Route("/webhooks/erp", erp_webhook, methods=["POST"]),
            Route("/graphql", make_graphql_app(sessions, settings), methods=["GET", "POST"]),
            *graphiql_asset_routes(enabled=not settings.production),
        ],
        middleware=[
            Middleware(CorsMiddleware, sessions=lambda: sessions, public_url=settings.public_url),
            Middleware(AuthenticationMiddleware, sessions=lambda: sessions, graphiql_open=not settings.production),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = sessions
    app.state.head_revision = migrations.head_revision(database_url)
    return app
