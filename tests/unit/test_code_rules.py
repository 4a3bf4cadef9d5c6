"""House rules checked by tools: the one-way layer contracts and no SQL at the edge (import-linter), lint (ruff)
and types (mypy)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / tool), *args], cwd=ROOT, capture_output=True, text=True, check=False)


# Every contract of pyproject.toml, so that none is dropped unnoticed.
CONTRACTS = (
    "domain imports none of the other layers (neither services nor infrastructure)",
    "permissions and integrations do not import the API edge",
    "services do not import the API edge",
    "api imports no sqlalchemy outside the composition root",
)


def test_layer_contracts_hold() -> None:
    result = _run("lint-imports")
    assert result.returncode == 0, result.stdout + result.stderr
    for name in CONTRACTS:
        assert f"{name} KEPT" in result.stdout, name
    assert f"{len(CONTRACTS)} kept, 0 broken" in result.stdout


def test_ruff_is_clean() -> None:
    result = _run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


# Every package mypy checks ([tool.mypy] of pyproject.toml), so that none is dropped unnoticed.
TYPED_PACKAGES = ("api", "services", "domain", "infrastructure", "permissions", "integrations", "migrations", "bench")


def test_mypy_is_clean() -> None:
    """mypy, as configured at the root, finds no error and no unused `# type: ignore` in the app's packages."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert sorted(config["packages"]) == sorted(TYPED_PACKAGES)
    assert config["warn_unused_ignores"] is True
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(ROOT / ".mypy_cache")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout, result.stdout
