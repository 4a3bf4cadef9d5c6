"""How the sign-in endpoints answer: JSON bodies, the refresh cookie, and errors a client can act on."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.auth.tokens import ACCESS_TOKEN_TTL_SECONDS, issue_user_token
from domain.identity.sign_in.sessions import SESSION_LIFETIME, IssuedSession
from domain.shared.errors import Code, DomainError, ErrorCode, FieldError, RateLimited
from domain.shared.text import unstorable_reason
from services.identity import Device

REFRESH_COOKIE = "crm_refresh"
# Refresh and logout by cookie need this header: another site's page cannot send it without our CORS consent.
CSRF_HEADER = "X-CRM-CSRF"
COOKIE_PATH = "/auth"


def client_address(request: Request) -> str | None:
    """The address the request came from, as the ASGI server saw it."""
    return request.client.host if request.client else None


def device(request: Request) -> Device:
    """The address and user agent a sign-in comes from."""
    return Device(client_address(request), request.headers.get("user-agent"))


def auth_error(status: int, code: Code, message: str, *, field: str | None = None, **extra: Any) -> JSONResponse:
    """An error body shaped like the GraphQL errors: {"error": {"code", "message", "field"}}."""
    error: dict[str, Any] = {"code": code.value, "message": message}
    if field:
        error["field"] = field
    error.update(extra)
    headers = {"Retry-After": str(extra["retry_after"])} if "retry_after" in extra else None
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def domain_error_response(exc: DomainError) -> JSONResponse:
    """A domain failure of a sign-in endpoint: 429 for throttling, 401 for failed proof, 400 for bad input."""
    if isinstance(exc, RateLimited):
        return auth_error(429, exc.code, exc.message, retry_after=exc.retry_after)
    if exc.code is ErrorCode.UNAUTHENTICATED:
        return auth_error(401, exc.code, exc.message, field=exc.field)
    errors: list[FieldError] = exc.errors
    first = errors[0]
    body_errors = [{"field": e.field, "code": e.code.value, "message": e.message} for e in errors]
    return auth_error(400, first.code, first.message, field=first.field, errors=body_errors)


class BodyInvalid(DomainError):
    """The request body is not the JSON object the endpoint takes."""


async def json_body(request: Request, fields: dict[str, type]) -> dict[str, Any]:
    """The request's JSON object with these fields checked for type (absent ones are None); raises BodyInvalid."""
    try:
        body = json.loads(await request.body() or b"{}")
    except (ValueError, RecursionError) as exc:
        raise BodyInvalid("The body must be a JSON object.") from exc
    if not isinstance(body, dict):
        raise BodyInvalid("The body must be a JSON object.")
    values: dict[str, Any] = {}
    for name, kind in fields.items():
        value = body.get(name)
        if value is not None and not isinstance(value, kind):
            raise BodyInvalid(f"{name} must be a {'string' if kind is str else kind.__name__}.", field=name)
        if isinstance(value, str) and (reason := unstorable_reason(value)) is not None:
            raise BodyInvalid(f"{name} {reason}.", field=name)
        values[name] = value
    return values


def wants_cookie(body: dict[str, Any]) -> bool:
    """Browsers get the refresh token as a cookie; a client that sends "cookie": false gets it in the body."""
    return body.get("cookie") is not False


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or bool(getattr(request.app.state.settings, "production", False))


def set_refresh_cookie(response: Response, request: Request, issued: IssuedSession) -> None:
    response.set_cookie(
        REFRESH_COOKIE,
        issued.refresh_token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path=COOKIE_PATH,
        httponly=True,
        secure=_secure(request),
        samesite="strict",
    )


def clear_refresh_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(REFRESH_COOKIE, path=COOKIE_PATH, httponly=True, secure=_secure(request), samesite="strict")


async def signed_in(
    request: Request, issued: IssuedSession, *, cookie: bool, extra: dict[str, Any] | None = None
) -> JSONResponse:
    """The answer to a completed sign-in or refresh: a fresh access token, and the refresh token as cookie or field."""
    access_token = await issue_user_token(
        request.app.state.sessions,
        issued.tenant_id,
        issued.user_id,
        ACCESS_TOKEN_TTL_SECONDS,
        session_id=issued.session_id,
    )
    body: dict[str, Any] = {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_TTL_SECONDS,
    }
    if not cookie:
        body["refresh_token"] = issued.refresh_token
    body.update(extra or {})
    response = JSONResponse(body, headers={"Cache-Control": "no-store"})
    if cookie:
        set_refresh_cookie(response, request, issued)
    return response
