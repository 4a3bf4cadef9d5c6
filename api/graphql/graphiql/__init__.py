"""The development GraphiQL page and its vendored assets, served by this service so no internet is needed."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_PATH = "/graphiql/static"
STATIC_DIR = Path(__file__).parent / "static"
PAGE = Path(__file__).parent / "page.html"

# Each asset's file name carries its package version, so a cached copy never goes stale.
ASSET_CACHE_CONTROL = "public, max-age=31536000, immutable"


@functools.cache
def page_html() -> str:
    """The GraphiQL page with the development sign-in form; it loads only files under STATIC_PATH."""
    return PAGE.read_text(encoding="utf-8")


class GraphiQLAssets(StaticFiles):
    """The vendored React, GraphiQL and explorer files, with long cache headers."""

    def __init__(self) -> None:
        super().__init__(directory=STATIC_DIR)

    def file_response(
        self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = ASSET_CACHE_CONTROL
        return response


def graphiql_asset_routes(*, enabled: bool) -> list[BaseRoute]:
    """The mount serving the page's files; none when GraphiQL is off (production), so the path answers 404."""
    return [Mount(STATIC_PATH, GraphiQLAssets(), name="graphiql-static")] if enabled else []
