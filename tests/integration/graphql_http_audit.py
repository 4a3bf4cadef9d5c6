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
import tempfile
from pathlib import Path
from typing import Any

GRAPHQL_HTTP_VERSION = "1.23.1"  # 61 server audits
GRAPHQL_VERSION = "16.15.0"
SCRIPT = Path(__file__).resolve().parent / "graphql_http_audit.mjs"


def default_install_dir() -> Path:
    configured = os.environ.get("CRM_GRAPHQL_HTTP_DIR")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "channel-crm" / f"graphql-http-{GRAPHQL_HTTP_VERSION}"


def _installed_version(node_modules: Path) -> str | None:
    try:
        return str(json.loads((node_modules / "graphql-http" / "package.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None


def ensure_graphql_http(install_dir: Path | None = None) -> Path:
    """The node_modules folder holding graphql-http at the pinned version, installed with npm if it is not."""
    install_dir = install_dir or default_install_dir()
    node_modules = install_dir / "node_modules"
    if _installed_version(node_modules) == GRAPHQL_HTTP_VERSION:
        return node_modules
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise RuntimeError("The GraphQL-over-HTTP audit needs Node.js (20) and npm on PATH to run graphql-http.")
    install_dir.parent.mkdir(parents=True, exist_ok=True)
    # Installed beside its final place and moved there at once, so an interrupted install leaves nothing half-made.
    staging = Path(tempfile.mkdtemp(prefix=f".{install_dir.name}-", dir=install_dir.parent))
    try:
        (staging / "package.json").write_text(json.dumps({"name": "channel-crm-graphql-http", "private": True}))
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--omit=dev", "--prefix", str(staging),
             f"graphql-http@{GRAPHQL_HTTP_VERSION}", f"graphql@{GRAPHQL_VERSION}"],
            check=True, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        if install_dir.exists():
            shutil.rmtree(install_dir)
        staging.rename(install_dir)
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"npm install graphql-http@{GRAPHQL_HTTP_VERSION} failed:\n{exc.stderr}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    assert _installed_version(node_modules) == GRAPHQL_HTTP_VERSION
    return node_modules


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
