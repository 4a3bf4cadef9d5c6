"""Run graphql-http's audit of the GraphQL-over-HTTP specification against a live server, under Node.

`ensure_graphql_http()` installs (once) the pinned graphql-http and its peer graphql from the npm registry into
a cache folder outside the repository (~/.cache/channel-crm/graphql-http-<version>, or $CRM_GRAPHQL_HTTP_DIR);
`audit(url, token)` runs every server audit with that bearer token and returns one result per audit.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.npm_packages import cache_dir, ensure_npm_packages

GRAPHQL_HTTP_VERSION = "1.23.1"  # 61 server audits
GRAPHQL_VERSION = "16.15.0"
SCRIPT = Path(__file__).resolve().parent / "graphql_http_audit.mjs"


def default_install_dir() -> Path:
    return cache_dir("CRM_GRAPHQL_HTTP_DIR", f"graphql-http-{GRAPHQL_HTTP_VERSION}")


def ensure_graphql_http(install_dir: Path | None = None) -> Path:
    """The node_modules folder holding graphql-http at the pinned version, installed with npm if it is not."""
    return ensure_npm_packages(
        install_dir or default_install_dir(),
        {"graphql-http": GRAPHQL_HTTP_VERSION, "graphql": GRAPHQL_VERSION},
        needed_for="The GraphQL-over-HTTP audit",
    )


def audit(url: str, token: str) -> list[dict[str, Any]]:
    """Every server audit's result ({id, name, status, reason, body, responseStatus}) against `url`."""
    node_modules = ensure_graphql_http()
    node = shutil.which("node")
    assert node is not None
    done = subprocess.run(
        [node, str(SCRIPT), url, token], env={**os.environ, "NODE_PATH": str(node_modules)},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"the graphql-http audit failed to run:\n{done.stderr}")
    return json.loads(done.stdout)  # type: ignore[no-any-return]
