"""The public web-to-lead endpoints: no token, one form key, nothing returned but a receipt."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from domain.channel.leads import LeadSource, NewLead
from domain.channel.web_forms import Submission
from domain.shared.errors import DomainError, ErrorCode, FieldError, NotFound, RateLimited, ValidationFailed
from domain.shared.text import first_unstorable
from services.channel import submit_web_form, web_form_token

# Forms live on the enterprise's own web pages, which post here from their origin; no credentials travel.
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "600",
}
# Bytes a submission may send: the longest fields (a 5,000-character message and the rest) fit several times over.
MAX_BODY = 64 * 1024


def _errors(exc: DomainError, status: int) -> JSONResponse:
    body = {"errors": [{"field": e.field, "code": e.code.value, "message": e.message} for e in exc.errors]}
    headers = dict(CORS)
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    return JSONResponse(body, status_code=status, headers=headers)


async def form_token(request: Request) -> Response:
    """GET /forms/{key}/token: the timing token the form page includes in its submission."""
    if request.method == "OPTIONS":
        return Response(status_code=204, headers=CORS)
    try:
        token = await web_form_token(request.app.state.sessions, request.path_params["key"])
    except NotFound as exc:
        return _errors(exc, 404)
    return JSONResponse({"token": token}, headers={**CORS, "Cache-Control": "no-store"})


def _invalid(field: str | None, message: str) -> ValidationFailed:
    return ValidationFailed([FieldError(field, ErrorCode.INVALID, message)])


def _text(body: dict[str, object], name: str) -> str | None:
    value = body.get(name)
    return value if isinstance(value, str) else None


async def form_submission(request: Request) -> Response:
    """POST /forms/{key}/leads: a visitor's enquiry; 202 with a receipt, field errors as 400, 429 when too many."""
    if request.method == "OPTIONS":
        return Response(status_code=204, headers=CORS)
    try:
        body = orjson.loads(await request.body())  # refuses nesting past 1,024 levels (json would recurse and crash)
    except orjson.JSONDecodeError as exc:
        return _errors(_invalid(None, f"Send a JSON object ({exc})."), 400)
    if not isinstance(body, dict):
        return _errors(_invalid(None, "Send a JSON object."), 400)
    if (unstorable := first_unstorable(body)) is not None:  # any field, the honeypot and the token included
        field, reason = unstorable
        return _errors(_invalid(field, f"{field} {reason}."), 400)
    interests = body.get("interests")
    lead = NewLead(
        company_name=_text(body, "companyName") or "",
        last_name=_text(body, "lastName") or "",
        first_name=_text(body, "firstName"),
        email=_text(body, "email"),
        phone=_text(body, "phone"),
        title=_text(body, "title"),
        tax_id=_text(body, "taxId"),
        web_domain=_text(body, "webDomain"),
        interests=[i for i in interests if isinstance(i, str)] if isinstance(interests, list) else None,
        message=_text(body, "message"),
        source=LeadSource.WEB_FORM,
    )
    client = request.client.host if request.client else "unknown"
    submission = Submission(_text(body, "token"), _text(body, "website"), lead)
    try:
        await submit_web_form(request.app.state.sessions, request.path_params["key"], client, submission)
    except NotFound as exc:
        return _errors(exc, 404)
    except RateLimited as exc:
        return _errors(exc, 429)
    except DomainError as exc:
        return _errors(exc, 400)
    return JSONResponse({"status": "received"}, status_code=202, headers=CORS)
