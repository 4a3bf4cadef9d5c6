"""House rules checked by tools: the one-way layer contracts and no SQL at the edge (import-linter), lint (ruff)
and types (mypy)."""

from __future__ import annotations

import ast
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


def _imports_inside_functions(package: str) -> list[str]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                for node in ast.walk(function):
                    if isinstance(node, ast.Import | ast.ImportFrom):
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_the_domain_and_services_import_at_the_top_only() -> None:
    # With every import at the top of its module, an import cycle between two modules cannot hide in a function
    # body: the package would not import at all. (The stages of a sale are a leaf module for that reason.)
    assert _imports_inside_functions("domain") + _imports_inside_functions("services") == []
