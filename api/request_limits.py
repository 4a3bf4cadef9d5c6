"""Bounds on request bodies, enforced while the body streams in: nothing over the bound is ever held in memory.

A declared `Content-Length` over the bound is refused before a byte is read; a body without one (chunked)
is counted as it arrives and refused at the first chunk past the bound. Either way the answer is 413 with
`{"errors": [{"field": null, "code": "TOO_LONG", "message": …}]}` and the endpoint changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.shared.errors import ErrorCode


@dataclass(frozen=True)
class BodyLimit:
    """The largest body, in bytes, that requests to paths starting with `prefix` may send."""

    prefix: str
    max_bytes: int
    headers: Mapping[str, str] = field(default_factory=dict)  # added to the 413, e.g. a public endpoint's CORS


class BodyTooLarge(Exception):
    """The body went past its bound while the endpoint was reading it."""


class BodySizeLimit:
    """ASGI middleware: refuse request bodies over the bound of their path (first matching rule, else the default)."""

    def __init__(self, app: ASGIApp, *, limits: Sequence[BodyLimit], default_max_bytes: int) -> None:
        self.app = app
        self.limits = limits
        self.default = BodyLimit("", default_max_bytes)

    def limit_for(self, path: str) -> BodyLimit:
        return next((rule for rule in self.limits if path.startswith(rule.prefix)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rule = self.limit_for(scope["path"])
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > rule.max_bytes:
            await self._refuse(rule, scope, receive, send)
            return
        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > rule.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if response_started:
                raise
            await self._refuse(rule, scope, receive, send)

    @staticmethod
    async def _refuse(rule: BodyLimit, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"The request body is larger than {rule.max_bytes} bytes."
        body = {"errors": [{"field": None, "code": ErrorCode.TOO_LONG.value, "message": message}]}
        # The client may still be sending: close the connection rather than read the rest.
        headers = {**rule.headers, "Connection": "close"}
        await JSONResponse(body, status_code=413, headers=headers)(scope, receive, send)
