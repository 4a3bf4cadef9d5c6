"""Single sign-on by the tenant's OpenID Connect provider: GET /auth/sso/{tenant_slug} and its callback.

The first sends the browser to the provider (authorization code with PKCE, state and nonce kept in the
database, so any process can take the callback). The callback spends the state, exchanges the code, verifies
the ID token, finds or makes the user, starts a session and sends the browser back (303) to `return_to` with
the refresh cookie set; the front end then asks POST /auth/refresh for an access token. Failures answer
{"error": {"code", "message", "reason"}} and sign nobody in.
"""

from __future__ import annotations

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from api.auth.responses import auth_error, device, domain_error_response, set_refresh_cookie
from domain.identity.sign_in import sso
from domain.identity.sign_in.sso import SsoFailure, SsoRefused
from domain.shared.errors import Code, DomainError, ErrorCode
from integrations import oidc
from services import identity

PROVIDER_TIMEOUT_SECONDS = 10.0
_STATUS: dict[Code, int] = {ErrorCode.INVALID: 400, ErrorCode.UNAUTHENTICATED: 401, ErrorCode.NOT_FOUND: 404}
# The provider, not the person, is at fault: a gateway error.
_PROVIDER_PROBLEMS = frozenset({SsoFailure.PROVIDER_UNAVAILABLE, SsoFailure.PROVIDER_MISCONFIGURED})


def callback_url(public_url: str, tenant_slug: str) -> str:
    """The redirect URI a tenant registers at its provider: on this service's public URL."""
    return f"{public_url.rstrip('/')}/auth/sso/{tenant_slug}/callback"


def provider_client(request: Request) -> httpx.AsyncClient:
    """An HTTP client for identity providers; `app.state.oidc_transport`, when set (tests do), carries its requests."""
    return httpx.AsyncClient(
        timeout=PROVIDER_TIMEOUT_SECONDS,
        follow_redirects=False,
        transport=getattr(request.app.state, "oidc_transport", None),
        headers={"User-Agent": "channel-crm"},
    )


def _refused(exc: DomainError) -> JSONResponse:
    if isinstance(exc, SsoRefused):
        status = 502 if exc.reason in _PROVIDER_PROBLEMS else _STATUS.get(exc.code, 400)
        return auth_error(status, exc.code, exc.message, reason=exc.reason.value)
    if exc.code is ErrorCode.NOT_FOUND:
        return auth_error(404, exc.code, exc.message)
    return domain_error_response(exc)


async def start(request: Request) -> Response:
    """Send the browser to the tenant's identity provider; `?return_to=` says where to come back after."""
    settings = request.app.state.settings
    sessions = request.app.state.sessions
    try:
        tenant = await identity.sso_tenant(sessions, request.path_params["tenant_slug"])
        return_to = sso.check_return_to(
            request.query_params.get("return_to"),
            frontend_origins=tenant.frontend_origins,
            public_url=settings.public_url,
        )
        async with provider_client(request) as http:
            metadata = await oidc.discover(http, tenant.connection.issuer)
        login = await identity.begin_sso_login(sessions, tenant.tenant_id, return_to)
    except DomainError as exc:
        return _refused(exc)
    url = oidc.authorization_url(
        metadata,
        client_id=tenant.connection.client_id,
        redirect_uri=callback_url(settings.public_url, tenant.slug),
        scopes=oidc.scopes_for(metadata, tenant.connection.groups_claim),
        state=login.state,
        nonce=login.nonce,
        code_verifier=login.code_verifier,
    )
    return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})


async def callback(request: Request) -> Response:
    """Where the provider sends the browser back: sign the person in and send them on to `return_to`."""
    settings = request.app.state.settings
    sessions = request.app.state.sessions
    params = request.query_params
    try:
        tenant = await identity.sso_tenant(sessions, request.path_params["tenant_slug"])
        connection = tenant.connection
        # Spent in its own transaction before anything else: whatever happens next, this state is good no more.
        login = await identity.consume_sso_login(sessions, tenant.tenant_id, params.get("state"))
        issuer = params.get("iss")  # RFC 9207: a response from another provider is a mix-up attack
        if issuer is not None and issuer != connection.issuer:
            raise SsoRefused(
                SsoFailure.FOREIGN_ISSUER, f"The sign-in answer came from {issuer}, not from {connection.issuer}."
            )
        if params.get("error"):
            detail = (params.get("error_description") or params["error"])[:300]
            raise SsoRefused(SsoFailure.PROVIDER_DECLINED, f"The identity provider did not sign you in: {detail}")
        code = params.get("code")
        if not code:
            raise SsoRefused(SsoFailure.CODE_REJECTED, "The identity provider sent no sign-in code.")
        async with provider_client(request) as http:
            metadata = await oidc.discover(http, connection.issuer)
            person = await oidc.identity_from_code(
                http,
                metadata,
                client_id=connection.client_id,
                client_secret=connection.client_secret,
                code=code,
                redirect_uri=callback_url(settings.public_url, tenant.slug),
                code_verifier=login.code_verifier,
                nonce=login.nonce,
                groups_claim=connection.groups_claim,
            )
        issued = await identity.sign_in_by_sso(sessions, tenant, person, device(request))
    except DomainError as exc:
        return _refused(exc)
    return_to = login.return_to or sso.check_return_to(None, frontend_origins=[], public_url=settings.public_url)
    response = RedirectResponse(return_to, status_code=303, headers={"Cache-Control": "no-store"})
    set_refresh_cookie(response, request, issued)
    return response


async def sign_in_options(request: Request) -> JSONResponse:
    """What a sign-in page may offer for a tenant: {"sso": true} when it signs people in by its identity provider.

    It tells no more than GET /auth/sso/{tenant} would (a redirect or not found), and the same for a tenant
    that does not exist as for one without single sign-on.
    """
    slug = (request.query_params.get("tenant") or "").strip().lower()
    if not slug:
        return auth_error(400, ErrorCode.REQUIRED, "tenant is required: ?tenant=<slug>.", field="tenant")
    if len(slug) > 63 or "\x00" in slug:
        message = "tenant must be a tenant's slug (at most 63 characters)."
        return auth_error(400, ErrorCode.INVALID, message, field="tenant")
    try:
        await identity.sso_tenant(request.app.state.sessions, slug)
        available = True
    except DomainError:
        available = False
    return JSONResponse({"tenant": slug, "sso": available}, headers={"Cache-Control": "no-store"})


def sso_routes() -> list[Route]:
    return [
        Route("/auth/sign-in-options", sign_in_options, methods=["GET"]),
        Route("/auth/sso/{tenant_slug}", start, methods=["GET"]),
        Route("/auth/sso/{tenant_slug}/callback", callback, methods=["GET"]),
    ]
