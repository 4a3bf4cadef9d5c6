"""CORS for browser front ends: only origins a tenant registered (and the service's own) may call the API.

The public web forms answer any origin themselves (they hold no session), so they are left alone here.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth.responses import CSRF_HEADER
from services.identity import origin_allowed
from services.unit_of_work import Sessions

ALLOWED_METHODS = "GET, POST"
ALLOWED_HEADERS = f"Authorization, Content-Type, {CSRF_HEADER}"
SELF_ORIGINS_PATHS = ("/forms/",)


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class CorsMiddleware:
    """Answers preflights and marks responses for registered origins; other origins get no CORS headers at all."""

    def __init__(self, app: ASGIApp, sessions: Callable[[], Sessions], public_url: str) -> None:
        self.app = app
        self.sessions = sessions
        self.own_origin = origin_of(public_url)

    async def _allowed(self, origin: str) -> bool:
        if origin == self.own_origin:
            return True
        return await origin_allowed(self.sessions(), origin)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(SELF_ORIGINS_PATHS):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if not origin:
            await self.app(scope, receive, send)
            return
        origin = origin.lower()
        preflight = scope["method"] == "OPTIONS" and "access-control-request-method" in headers
        allowed = await self._allowed(origin)
        if preflight:
            response: Response
            if allowed:
                response = Response(status_code=204, headers=self._headers(origin, preflight=True))
            else:
                response = PlainTextResponse("This origin is not registered for the API.", status_code=403)
                response.headers["Vary"] = "Origin"
            await response(scope, receive, send)
            return
        if not allowed:
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                for key, value in self._headers(origin, preflight=False).items():
                    response_headers[key] = value
            await send(message)

        await self.app(scope, receive, send_with_cors)

    @staticmethod
    def _headers(origin: str, *, preflight: bool) -> dict[str, str]:
        headers = {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true", "Vary": "Origin"}
        if preflight:
            headers |= {
                "Access-Control-Allow-Methods": ALLOWED_METHODS,
                "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                "Access-Control-Max-Age": "600",
            }
        else:
            headers["Access-Control-Expose-Headers"] = (
                "X-Request-ID, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset"
            )
        return headers
