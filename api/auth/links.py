"""E-mailed links over HTTP: accept an invitation, request and confirm a password reset, and their two pages.

POST /auth/invitation/accept and /auth/password-reset/confirm take {"token", "password", "cookie"?},
set the password and sign the person in. POST /auth/password-reset takes {"tenant", "email"} and answers
202 the same way whether or not the account exists. GET /auth/invitation and /auth/reset are the pages
the e-mailed links open; they read the token from the URL fragment, which never reaches a server log.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from api.auth.link_pages import PageKind, page_language, render_page
from api.auth.responses import domain_error_response, json_body, wants_cookie
from api.auth.sign_in import complete_sign_in
from api.settings import Settings
from domain.identity.sign_in.links import LinkPages
from domain.identity.sign_in.models import SignInMethod
from domain.identity.users import User
from domain.shared.errors import DomainError, ErrorCode, FieldError, ValidationFailed
from services import identity
from services.unit_of_work import Sessions

INVITATION_PAGE = "/auth/invitation"
RESET_PAGE = "/auth/reset"
RESET_REQUESTED = {
    "status": "accepted",
    "message": "If the tenant has an active account with that e-mail, a link to reset its password is on its way.",
}


def link_pages(settings: Settings) -> LinkPages:
    """The public addresses of the pages an e-mailed link opens, built on the service's public URL."""
    base = settings.public_url.rstrip("/")
    return LinkPages(invitation=f"{base}{INVITATION_PAGE}", password_reset=f"{base}{RESET_PAGE}")


def _required(body: dict[str, object], *names: str) -> None:
    missing = [FieldError(n, ErrorCode.REQUIRED, f"{n} is required.") for n in names if not body.get(n)]
    if missing:
        raise ValidationFailed(missing)


async def _set_password_and_sign_in(
    request: Request, use_link: Callable[[Sessions, str | None, str | None], Awaitable[User]], method: SignInMethod
) -> JSONResponse:
    """Spend a link to set a password, in one transaction, then sign the person in (a second factor still applies)."""
    try:
        body = await json_body(request, {"token": str, "password": str, "cookie": bool})
        user = await use_link(request.app.state.sessions, body["token"], body["password"])
    except DomainError as exc:
        return domain_error_response(exc)
    return await complete_sign_in(
        request, tenant_id=user.tenant_id, user_id=user.id, method=method.value, cookie=wants_cookie(body)
    )


async def accept_invitation_endpoint(request: Request) -> JSONResponse:
    """Choose a first password through an invitation link, then sign in."""
    return await _set_password_and_sign_in(request, identity.accept_invitation, SignInMethod.INVITATION)


async def request_password_reset_endpoint(request: Request) -> JSONResponse:
    """Ask for a password reset link by e-mail; the answer never tells whether the account exists."""
    try:
        body = await json_body(request, {"tenant": str, "email": str})
        _required(body, "tenant", "email")
        if len(body["tenant"]) <= 63 and len(body["email"]) <= 320:
            await identity.request_password_reset(
                request.app.state.sessions,
                tenant_slug=body["tenant"],
                email=body["email"],
                pages=link_pages(request.app.state.settings),
            )
    except DomainError as exc:
        return domain_error_response(exc)
    return JSONResponse(RESET_REQUESTED, status_code=202, headers={"Cache-Control": "no-store"})


async def confirm_password_reset_endpoint(request: Request) -> JSONResponse:
    """Set a new password through a reset link; every other session ends, then this one starts."""
    return await _set_password_and_sign_in(request, identity.reset_password, SignInMethod.PASSWORD_RESET)


def _page(request: Request, kind: PageKind) -> Response:
    html, nonce = render_page(kind, page_language(request), tenant=request.query_params.get("tenant", ""))
    return HTMLResponse(
        html,
        headers={
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": (
                f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; connect-src 'self'; "
                "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
            ),
        },
    )


async def invitation_page(request: Request) -> Response:
    """The page an invitation link opens: choose a password."""
    return _page(request, PageKind.INVITATION)


async def reset_page(request: Request) -> Response:
    """The page a reset link opens: choose a new password (without a token: ask for a link)."""
    return _page(request, PageKind.PASSWORD_RESET)


def link_routes() -> list[Route]:
    """The link pages and the endpoints they post to."""
    return [
        Route(INVITATION_PAGE, invitation_page, methods=["GET"]),
        Route("/auth/invitation/accept", accept_invitation_endpoint, methods=["POST"]),
        Route(RESET_PAGE, reset_page, methods=["GET"]),
        Route("/auth/password-reset", request_password_reset_endpoint, methods=["POST"]),
        Route("/auth/password-reset/confirm", confirm_password_reset_endpoint, methods=["POST"]),
    ]
