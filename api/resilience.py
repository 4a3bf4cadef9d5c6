"""Requests when the database is away or slow: bounded in time, stopped when their client leaves, answered 503.

`RequestGuard` is the outermost ASGI middleware. It bounds each HTTP request by `CRM_REQUEST_TIMEOUT` (504),
cancels a request's work, database statements included, as soon as its client disconnects, and turns a failure
of the database anywhere in a request (the sign-in lookups of the middleware, an endpoint, a GraphQL field) into a
JSON 503 with Retry-After. The connection is kept: nothing escapes to uvicorn, which would close it.

`DatabaseOutage` logs one line when the database stops answering and one when it answers again, however many
requests are refused in between, and no traceback.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import web_forms as public_forms
from infrastructure.db import DatabaseTrouble, database_trouble, database_trouble_cause

log = logging.getLogger("crm.resilience")

# How long a client told the database is unavailable should wait before trying again.
RETRY_AFTER_SECONDS = 5
# Where a request records that its database work failed, for RequestGuard to answer 503 (GraphQL fields do).
TROUBLE_KEY = "database_trouble"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
TIMEOUT = "TIMEOUT"

MESSAGES = {
    DatabaseTrouble.UNREACHABLE: "The database is not answering. Try again in a few seconds.",
    DatabaseTrouble.STATEMENT_TIMEOUT: (
        "The database did not finish in time, so this request's work was stopped. "
        "Try again later, or ask for less (a smaller page, a narrower filter)."
    ),
}


class DatabaseOutage:
    """Whether this process finds the database away; logs when an outage starts and when it ends, once each."""

    def __init__(self) -> None:
        self.started_at: float | None = None
        self.refused = 0

    def failed(self, trouble: DatabaseTrouble, error: BaseException | None) -> None:
        """A request found the database away (a statement timeout is the statement's fault, not an outage)."""
        if trouble is not DatabaseTrouble.UNREACHABLE:
            return
        self.refused += 1
        if self.started_at is None:
            self.started_at = time.monotonic()
            log.warning("database unavailable (%s); answering 503 until it answers again", describe(error))

    def answered(self) -> None:
        """The database handed out a working connection: an ongoing outage is over."""
        if self.started_at is not None:
            seconds, refused = time.monotonic() - self.started_at, self.refused
            self.started_at, self.refused = None, 0
            log.warning("database answering again after %.1f s; %d request(s) were answered 503", seconds, refused)


def describe(error: BaseException | None) -> str:
    """What showed the database away, in one short line, such as `ConnectionRefusedError: [Errno 111] …`."""
    if error is None:
        return "no answer"
    found = database_trouble_cause(error)
    shown = found[1] if found else error
    text = " ".join(str(shown).split()) or "no answer in time"
    return f"{type(shown).__name__}: {text}"[:200]


def mark_database_trouble(scope: Scope, trouble: DatabaseTrouble, error: BaseException) -> None:
    """Record in the request that its database work failed; RequestGuard then answers it with 503 and Retry-After."""
    state = scope.setdefault("state", {})
    if state.get(TROUBLE_KEY) is None or trouble is DatabaseTrouble.UNREACHABLE:
        state[TROUBLE_KEY] = (trouble, error)


def error_body(path: str, code: str, message: str, retry_after: int | None) -> dict[str, Any]:
    """An error in the shape the endpoint's clients already read: OAuth, sign-in, public forms, or GraphQL."""
    if path == "/oauth/token":
        return {"error": "temporarily_unavailable", "error_description": message}
    if path.startswith("/auth/"):
        return {"error": {"code": code, "message": message, **({"retry_after": retry_after} if retry_after else {})}}
    if path.startswith("/forms/"):
        return {"errors": [{"field": None, "code": code, "message": message}]}
    extensions: dict[str, Any] = {"code": code, **({"retryAfter": retry_after} if retry_after else {})}
    return {"errors": [{"message": message, "extensions": extensions}]}


def has_body(scope: Scope) -> bool:
    """Whether the request says it carries a body (a length above 0, or chunks)."""
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() not in (b"0", b"")):
            return True
    return False


@dataclass
class _Progress:
    """How far a request's response has gone."""

    started: bool = False
    finished: bool = False
    client_gone: bool = False


class RequestGuard:
    """Bounds each HTTP request in time, stops it when its client goes away, and answers database failures 503."""

    def __init__(self, app: ASGIApp, *, timeout_seconds: float, outage: DatabaseOutage) -> None:
        self.app = app
        self.timeout_seconds = timeout_seconds
        self.outage = outage

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        progress = _Progress()
        loop = asyncio.get_running_loop()
        began = loop.time()
        # Once the app has the whole body (at once when there is none), one watcher reads the client's messages, so
        # that a disconnect is seen while the app works; before that the app reads for itself, so a body is never
        # pulled in ahead of the app (which may refuse it unread, as the body limits do).
        inbox: asyncio.Queue[Message] = asyncio.Queue()
        watcher: asyncio.Task[None] | None = None

        async def send_guarded(message: Message) -> None:
            if message["type"] == "http.response.start":
                recorded: tuple[DatabaseTrouble, BaseException] | None = state.pop(TROUBLE_KEY, None)
                if recorded is not None:
                    message = self._as_unavailable(message, *recorded, state.get("request_id"))
                progress.started = True
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                progress.finished = True
            await send(message)

        try:
            async with asyncio.timeout(self.timeout_seconds) as deadline:

                async def watch_client() -> None:
                    while True:
                        message = await receive()
                        if message["type"] == "http.disconnect" and not progress.finished:
                            progress.client_gone = True
                            deadline.reschedule(loop.time())  # stop the request's work now
                        inbox.put_nowait(message)  # after the body only a disconnect comes: it holds two at most
                        if message["type"] == "http.disconnect":
                            return

                def watch() -> None:
                    nonlocal watcher
                    watcher = asyncio.create_task(watch_client())

                async def receive_guarded() -> Message:
                    if watcher is not None:
                        if watcher.done() and inbox.empty():
                            return {"type": "http.disconnect"}  # as servers do, once the client has gone
                        return await inbox.get()
                    message = await receive()
                    if message["type"] == "http.request" and not message.get("more_body", False):
                        watch()
                    return message

                if not has_body(scope):
                    watch()
                try:
                    await self.app(scope, receive_guarded, send_guarded)
                finally:
                    if watcher is not None:
                        watcher.cancel()
        except TimeoutError as exc:
            if not deadline.expired():
                await self._failed(scope, send, progress, exc)  # a TimeoutError of the app's own, such as connecting
            elif progress.client_gone:
                log.info(
                    "request %s: client went away after %.1f s; its work was stopped",
                    state.get("request_id"),
                    loop.time() - began,
                )
            else:
                await self._timed_out(scope, send, progress)
        except Exception as exc:  # noqa: BLE001 - only database failures are answered here; the rest is re-raised
            if deadline.expired() and database_trouble(exc) is None:
                # The cancellation surfaced as another error (a library wrapped it): still the deadline or the client.
                if not progress.client_gone:
                    await self._timed_out(scope, send, progress)
                return
            await self._failed(scope, send, progress, exc)
        else:
            if deadline.expired() and not progress.started and not progress.client_gone:
                await self._timed_out(scope, send, progress)  # the app swallowed the cancellation

    def _as_unavailable(
        self, message: Message, trouble: DatabaseTrouble, error: BaseException, request_id: str | None
    ) -> Message:
        """A response whose database work failed (a GraphQL field's, say) goes out as 503 with Retry-After."""
        self.outage.failed(trouble, error)
        if trouble is DatabaseTrouble.STATEMENT_TIMEOUT:
            log.warning("request %s: a statement ran past the database's statement timeout", request_id)
        message = {**message, "status": 503}
        headers = MutableHeaders(scope=message)
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return message

    async def _failed(self, scope: Scope, send: Send, progress: _Progress, error: BaseException) -> None:
        trouble = database_trouble(error)
        if trouble is None:
            raise error
        self.outage.failed(trouble, error)
        request_id = scope["state"].get("request_id")
        if trouble is DatabaseTrouble.STATEMENT_TIMEOUT:
            log.warning("request %s: a statement ran past the database's statement timeout", request_id)
        if progress.started:
            log.warning("request %s: the database failed after the response began; it is cut short", request_id)
            return
        body = error_body(scope["path"], SERVICE_UNAVAILABLE, MESSAGES[trouble], RETRY_AFTER_SECONDS)
        await self._answer(scope, send, 503, body, {"Retry-After": str(RETRY_AFTER_SECONDS)})

    async def _timed_out(self, scope: Scope, send: Send, progress: _Progress) -> None:
        request_id = scope["state"].get("request_id")
        log.warning("request %s: stopped after %s s (CRM_REQUEST_TIMEOUT)", request_id, self.timeout_seconds)
        if progress.started:
            return
        message = (
            f"The request took longer than {self.timeout_seconds:g} s and was stopped. "
            "Ask for less (a smaller page, a narrower filter), or try again later."
        )
        await self._answer(scope, send, 504, error_body(scope["path"], TIMEOUT, message, None), {})

    async def _answer(
        self, scope: Scope, send: Send, status: int, body: dict[str, Any], headers: dict[str, str]
    ) -> None:
        headers = dict(headers)
        if scope["path"].startswith("/forms/"):
            headers.update(public_forms.CORS)  # the forms' own pages, on other origins, must be able to read it
        request_id = scope["state"].get("request_id")
        if request_id:
            headers["X-Request-ID"] = request_id
        response = JSONResponse(body, status_code=status, headers=headers)

        async def nothing_to_read() -> Message:
            return {"type": "http.disconnect"}

        await response(scope, nothing_to_read, send)
