"""People sign in: POST /auth/login, /auth/mfa, /auth/refresh and /auth/logout.

Access tokens are short-lived JWTs; the refresh token rotates at every use and goes to browsers as an
httpOnly, SameSite=Strict cookie (or in the body for a client that sends "cookie": false). Refresh and
logout by cookie need the X-CRM-CSRF header, which another site's page cannot send without our CORS consent.
"""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.auth.keys import key_ring
from api.auth.responses import (
    CSRF_HEADER,
    REFRESH_COOKIE,
    auth_error,
    clear_refresh_cookie,
    device,
    domain_error_response,
    json_body,
    signed_in,
    wants_cookie,
)
from api.auth.tokens import TokenInvalid, issue_mfa_token, verify_mfa_token
from domain.identity.sign_in.login import NextStep, SignInFailed
from domain.identity.sign_in.sessions import RefreshRefused
from domain.shared.errors import DomainError, ErrorCode
from services import identity


def _failed(result: SignInFailed, field: str | None = None) -> JSONResponse:
    if result.retry_after is not None:
        message = f"{result.message} Too many failed attempts; try again later."
        return auth_error(429, ErrorCode.RATE_LIMITED, message, retry_after=result.retry_after)
    return auth_error(401, ErrorCode.UNAUTHENTICATED, result.message, field=field)


async def complete_sign_in(
    request: Request, *, tenant_id: uuid.UUID, user_id: uuid.UUID, method: str, cookie: bool
) -> JSONResponse:
    """After a first factor passed: sign the person in, or ask for their second factor, or lead them to enrol."""
    sessions = request.app.state.sessions
    try:
        factor, issued = await identity.after_first_factor(sessions, tenant_id, user_id, method, device(request))
    except DomainError as exc:
        return domain_error_response(exc)
    if issued is not None:
        return await signed_in(request, issued, cookie=cookie)
    enrolling = factor.step is NextStep.ENROL
    token = issue_mfa_token(await key_ring(sessions), tenant_id, user_id, method, enrolling=enrolling)
    body: dict[str, object] = {"mfa_required": True, "mfa_token": token}
    if factor.enrolment is not None:
        # The tenant requires a second factor this user has not set up: enrol now, then send a code to /auth/mfa.
        body.update(
            {
                "mfa_enrollment_required": True,
                "totp_secret": factor.enrolment.secret,
                "otpauth_uri": factor.enrolment.otpauth_uri,
            }
        )
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


async def login(request: Request) -> JSONResponse:
    """Sign in with a tenant, an e-mail and a password."""
    try:
        body = await json_body(request, {"tenant": str, "email": str, "password": str, "cookie": bool})
        result = await identity.check_password(
            request.app.state.sessions,
            tenant_slug=body["tenant"],
            email=body["email"],
            password=body["password"],
            device=device(request),
        )
    except DomainError as exc:
        return domain_error_response(exc)
    if isinstance(result, SignInFailed):
        return _failed(result)
    return await complete_sign_in(
        request, tenant_id=result.tenant_id, user_id=result.user_id, method="password", cookie=wants_cookie(body)
    )


async def second_factor_step(request: Request) -> JSONResponse:
    """Finish a sign-in with a TOTP code or a recovery code (or, when enrolling, the first code of the new secret)."""
    sessions = request.app.state.sessions
    try:
        body = await json_body(request, {"mfa_token": str, "code": str, "cookie": bool})
        if not body["mfa_token"]:
            return auth_error(400, ErrorCode.REQUIRED, "mfa_token is required.", field="mfa_token")
        try:
            claims = verify_mfa_token(await key_ring(sessions), body["mfa_token"])
        except TokenInvalid as exc:
            return auth_error(401, ErrorCode.UNAUTHENTICATED, str(exc), field="mfa_token")
        passed = await identity.pass_second_factor(
            sessions,
            claims.tenant_id,
            claims.user_id,
            body["code"],
            enrolling=claims.enrolling,
            method=claims.method,
            device=device(request),
        )
    except DomainError as exc:
        return domain_error_response(exc)
    if isinstance(passed, SignInFailed):
        return _failed(passed, field="code")
    recovery_codes, issued = passed
    extra = {"recovery_codes": recovery_codes} if claims.enrolling else None
    return await signed_in(request, issued, cookie=wants_cookie(body), extra=extra)


async def _presented_refresh_token(request: Request) -> tuple[str | None, bool, JSONResponse | None]:
    """The refresh token from the body or else the cookie, whether it came by cookie, or an error response."""
    try:
        body = await json_body(request, {"refresh_token": str})
    except DomainError as exc:
        return None, False, domain_error_response(exc)
    if body["refresh_token"]:
        return body["refresh_token"], False, None
    cookie = request.cookies.get(REFRESH_COOKIE)
    if not cookie:
        message = f'No refresh token: send the {REFRESH_COOKIE} cookie, or {{"refresh_token": ...}} in the body.'
        return None, False, auth_error(401, ErrorCode.UNAUTHENTICATED, message)
    if not request.headers.get(CSRF_HEADER):
        return (
            None,
            True,
            auth_error(
                403, ErrorCode.FORBIDDEN, f"Refreshing or signing out by cookie needs the {CSRF_HEADER} header."
            ),
        )
    return cookie, True, None


async def refresh(request: Request) -> JSONResponse:
    """A new access token for a refresh token, which is spent and replaced by a new one."""
    token, by_cookie, error = await _presented_refresh_token(request)
    if error is not None:
        return error
    assert token is not None
    result = await identity.refresh(request.app.state.sessions, token, device(request))
    if isinstance(result, RefreshRefused):
        response = auth_error(401, ErrorCode.UNAUTHENTICATED, result.message, reused=result.reused)
        if by_cookie:
            clear_refresh_cookie(response, request)
        return response
    return await signed_in(request, result, cookie=by_cookie)


async def logout(request: Request) -> JSONResponse:
    """End the session of a refresh token; its access tokens stop working too."""
    token, by_cookie, error = await _presented_refresh_token(request)
    if error is not None:
        return error
    assert token is not None
    ended = await identity.sign_out(request.app.state.sessions, token)
    response = JSONResponse({"signed_out": ended})
    if by_cookie:
        clear_refresh_cookie(response, request)
    return response


def sign_in_routes() -> list[Route]:
    """The sign-in endpoints."""
    return [
        Route("/auth/login", login, methods=["POST"]),
        Route("/auth/mfa", second_factor_step, methods=["POST"]),
        Route("/auth/refresh", refresh, methods=["POST"]),
        Route("/auth/logout", logout, methods=["POST"]),
    ]
