"""The Starlette application: health, readiness, token endpoints and GraphQL behind authentication."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api import web_forms as public_forms
from api.auth import oauth
from api.auth.cors import CorsMiddleware
from api.auth.keys import key_ring
from api.auth.links import link_routes
from api.auth.middleware import AuthenticationMiddleware
from api.auth.oauth import token_endpoint
from api.auth.sign_in import sign_in_routes
from api.auth.sso import sso_routes
from api.embedded_postgres import resolve_database_url
from api.erp import webhooks
from api.erp.webhooks import erp_webhook
from api.graphql.app import make_graphql_app
from api.graphql.graphiql import graphiql_asset_routes
from api.graphql.http_limits import GraphQLHttpLimits
from api.portal import portal_routes
from api.request_address import NulFreeAddress
from api.request_limits import BodyLimit, BodySizeLimit
from api.resilience import DatabaseOutage, RequestGuard
from api.settings import Settings
from api.web_forms import form_submission, form_token
from infrastructure import migrations
from infrastructure.db import (
    DatabaseTrouble,
    create_engine,
    database_trouble,
    on_database_answered,
    session_factory,
)

log = logging.getLogger("crm")

# GraphQL, sign-in and everything else not listed take up to this many bytes of request body.
MAX_BODY = 1024 * 1024
BODY_LIMITS = (
    BodyLimit("/webhooks/erp", webhooks.MAX_BODY),
    BodyLimit("/forms/", public_forms.MAX_BODY, headers=public_forms.CORS),
    BodyLimit("/oauth/token", oauth.MAX_BODY),
)


async def healthz(request: Request) -> JSONResponse:
    """The process is up."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """The database answers, within CRM_READY_TIMEOUT, and its schema is at the newest migration."""
    state = request.app.state
    timeout = state.settings.ready_timeout_seconds
    # A check of its own that nobody waits for past the timeout: a frozen database must not hold the probe.
    check = asyncio.ensure_future(_database_revision(state.engine))
    check.add_done_callback(lambda task: task.cancelled() or task.exception())
    try:
        done, _ = await asyncio.wait({check}, timeout=timeout)
    finally:
        check.cancel()
    if not done:
        state.outage.failed(DatabaseTrouble.UNREACHABLE, TimeoutError(f"no answer within {timeout:g} s"))
        return _unready(f"database did not answer within {timeout:g} s")
    if (error := check.exception()) is not None:
        trouble = database_trouble(error)
        if trouble is None:
            log.warning("readiness check failed: %s", error)
        else:
            state.outage.failed(trouble, error)
        return _unready("database unreachable")
    current = check.result()
    if current != state.head_revision:
        return _unready(f"migrations pending: at {current}, head is {state.head_revision}")
    return JSONResponse({"status": "ready", "revision": current})


async def _database_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
    return await migrations.current_revision(engine)


def _unready(reason: str) -> JSONResponse:
    return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)


async def jwks(request: Request) -> JSONResponse:
    """Public keys that verify this service's tokens."""
    ring = await key_ring(request.app.state.sessions)
    return JSONResponse(ring.public_jwks(), headers={"Cache-Control": "public, max-age=300"})


def create_app(settings: Settings | None = None, database_url: str | None = None) -> Starlette:
    """The ASGI app; the database URL comes from the argument, the settings, or the embedded server."""
    settings = settings or Settings.from_env()
    if database_url is None:
        database_url = resolve_database_url(settings)
    engine = create_engine(database_url, timeouts=settings.database_timeouts)
    sessions = session_factory(engine)
    outage = DatabaseOutage()
    on_database_answered(engine, outage.answered)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # In production, what start-up made lives as long as the process (modules, the schema, compiled
        # policies): moved out of the cyclic collector's sight, it is not traversed on every collection.
        if settings.production:
            gc.freeze()
        try:
            yield
        finally:
            if settings.production:
                gc.unfreeze()
            await engine.dispose()

    app = Starlette(
        routes=[
            # First: nearly every request is for it, and each route before it is a failed match per request.
            Route(
                "/graphql",
                GraphQLHttpLimits(make_graphql_app(sessions, settings), settings.query_limits),
                methods=["GET", "POST"],
            ),
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
            *graphiql_asset_routes(enabled=not settings.production),
            *portal_routes(),
        ],
        middleware=[
            Middleware(RequestGuard, timeout_seconds=settings.request_timeout_seconds, outage=outage),
            Middleware(CorsMiddleware, sessions=lambda: sessions, public_url=settings.public_url),
            Middleware(NulFreeAddress),
            Middleware(AuthenticationMiddleware, sessions=lambda: sessions, graphiql_open=not settings.production),
            Middleware(BodySizeLimit, limits=BODY_LIMITS, default_max_bytes=MAX_BODY),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = sessions
    app.state.outage = outage
    app.state.head_revision = migrations.head_revision(database_url)
    return app
