"""Every request's address is checked once, here: a NUL (`%00`) in its path or query is refused with 400.

Path parameters (a form key, a tenant slug) and query parameters (an SSO `state`, a GraphQL GET query)
reach SQL as text, and PostgreSQL refuses NUL in text. No route has a use for one, so the request
stops before any of them sees it. (Percent-decoding cannot produce a lone surrogate: invalid UTF-8
becomes U+FFFD.)
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from domain.shared.text import NUL


def _nul_in(scope: Scope) -> tuple[str | None, str] | None:
    """(the query parameter at fault or None for the path, the message) when the address holds a NUL."""
    if NUL in scope.get("path", ""):
        return None, "The address must not contain NUL characters."
    query = scope.get("query_string", b"").decode("latin-1")
    if "%00" not in query:
        return None
    for name, value in parse_qsl(query, keep_blank_values=True):
        if NUL in name or NUL in value:
            field = name.replace(NUL, "") or None
            return field, f"{field or 'A query parameter name'} must not contain NUL characters."
    return None


class NulFreeAddress:
    """ASGI middleware: answer 400 INVALID, naming the parameter at fault, for a request whose address holds a NUL."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = _nul_in(scope) if scope["type"] in ("http", "websocket") else None
        if found is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # policy violation
        else:
            field, message = found
            extensions = {"code": "INVALID", **({"field": field} if field else {})}
            await JSONResponse({"errors": [{"message": message, "extensions": extensions}]}, status_code=400)(
                scope, receive, send
            )
