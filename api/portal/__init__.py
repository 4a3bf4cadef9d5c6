"""The partner portal: a front end on the public GraphQL API and the sign-in endpoints, served at /portal.

The server only hands out files: one HTML shell for every /portal/* path (so deep links work) and the
portal's ES modules, styles and message catalogues under /portal/static. The shell and the files hold no
data; everything a partner sees comes through GraphQL with their bearer token. Nothing is built: the
modules run in the browser as written, and the vendored libraries are mapped by an import map.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import re
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

PORTAL_PATH = "/portal"
STATIC_PATH = "/portal/static"
STATIC_DIR = Path(__file__).parent / "static"
SHELL = Path(__file__).parent / "index.html"

# Vendored files carry their version in their name, so a cached copy never goes stale; the portal's own
# files are revalidated (ETag) on every load, so a new release is picked up at once.
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


@functools.cache
def shell() -> tuple[str, str]:
    """The HTML shell and its Content-Security-Policy (the inline import map is allowed by its hash alone)."""
    html = SHELL.read_text(encoding="utf-8")
    found = re.search(r'<script type="importmap">(.*?)</script>', html, re.DOTALL)
    assert found is not None, "index.html must hold the import map"
    digest = base64.b64encode(hashlib.sha256(found.group(1).encode()).digest()).decode()
    policy = (
        f"default-src 'self'; script-src 'self' 'sha256-{digest}'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    )
    return html, policy


async def portal_page(request: Request) -> Response:
    """The shell, for every portal path: the front end reads the path and shows its page."""
    html, policy = shell()
    return HTMLResponse(
        html,
        headers={
            "Cache-Control": REVALIDATE,
            "Content-Security-Policy": policy,
            "Referrer-Policy": "same-origin",
            "X-Content-Type-Options": "nosniff",
        },
    )


async def to_portal(request: Request) -> Response:
    """`/` and `/portal` lead to the portal's home."""
    return RedirectResponse(f"{PORTAL_PATH}/", status_code=307)


class PortalAssets(StaticFiles):
    """The portal's modules, styles, catalogues and vendored libraries."""

    def __init__(self) -> None:
        super().__init__(directory=STATIC_DIR)

    def file_response(
        self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        vendored = Path(full_path).parent.name == "vendor"
        response.headers["Cache-Control"] = IMMUTABLE if vendored else REVALIDATE
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def portal_routes() -> list[BaseRoute]:
    """The portal's files, its shell for every page path, and the redirects to it."""
    return [
        Route("/", to_portal, methods=["GET"]),
        Route(PORTAL_PATH, to_portal, methods=["GET"]),
        Mount(STATIC_PATH, PortalAssets(), name="portal-static"),
        Route(PORTAL_PATH + "/{page:path}", portal_page, methods=["GET"]),
    ]
