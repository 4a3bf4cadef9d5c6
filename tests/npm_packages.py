"""Node packages the tests run (an OpenID provider, the GraphQL-over-HTTP audit), installed once from npm.

Each set of packages goes into a cache folder outside the repository, at pinned versions; an install is made
beside its final place and moved there at once, so an interrupted one leaves nothing half-made.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path


def cache_dir(env_var: str, name: str) -> Path:
    """Where a set of packages lives: $env_var when set, else ~/.cache/channel-crm/<name>."""
    configured = os.environ.get(env_var)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "channel-crm" / name


def _installed_version(node_modules: Path, package: str) -> str | None:
    try:
        return str(json.loads((node_modules / package / "package.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None


def ensure_npm_packages(install_dir: Path, packages: dict[str, str], *, needed_for: str) -> Path:
    """The node_modules folder holding `packages` ({name: version}), installed with npm if they are not."""
    node_modules = install_dir / "node_modules"
    if all(_installed_version(node_modules, name) == version for name, version in packages.items()):
        return node_modules
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise RuntimeError(f"{needed_for} need Node.js (20) and npm on PATH.")
    install_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{install_dir.name}-", dir=install_dir.parent))
    specs = [f"{name}@{version}" for name, version in packages.items()]
    try:
        (staging / "package.json").write_text(json.dumps({"name": f"channel-crm-{install_dir.name}", "private": True}))
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--omit=dev", "--prefix", str(staging), *specs],
            check=True, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        if install_dir.exists():
            shutil.rmtree(install_dir)
        staging.rename(install_dir)
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"npm install {' '.join(specs)} failed:\n{exc.stderr}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    for name, version in packages.items():
        assert _installed_version(node_modules, name) == version, name
    return node_modules
