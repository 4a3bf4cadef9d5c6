"""The portal as served: one HTML shell for every /portal path, its files open and cached right, nothing from the
internet, nothing built, and every module resolvable in the browser as written."""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import re
import tomllib
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[3]
PORTAL = ROOT / "api" / "portal"
STATIC = PORTAL / "static"
BARE = {"preact", "preact/hooks", "htm"}
HTML = {"Accept": "text/html"}


@pytest.mark.parametrize("path", ["/portal/", "/portal/deals", "/portal/orders/T3JkZXI6MQ", "/portal/no/such/page"])
async def test_every_portal_path_gets_the_shell_without_a_token(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path, headers=HTML)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert 'id="portal"' in response.text
    assert response.headers["cache-control"] == "no-cache"


async def test_the_shell_allows_only_its_own_files_and_its_import_map(client: httpx.AsyncClient) -> None:
    response = await client.get("/portal/", headers=HTML)
    policy = response.headers["content-security-policy"]
    import_map = re.search(r'<script type="importmap">(.*?)</script>', response.text, re.DOTALL).group(1)  # type: ignore[union-attr]
    digest = base64.b64encode(hashlib.sha256(import_map.encode()).digest()).decode()
    assert f"script-src 'self' 'sha256-{digest}'" in policy
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


async def test_the_root_and_the_bare_portal_path_lead_to_the_portal(client: httpx.AsyncClient) -> None:
    for path in ("/", "/portal"):
        response = await client.get(path, follow_redirects=False)
        assert response.status_code == 307 and response.headers["location"] == "/portal/", path


def _shipped_files() -> list[Path]:
    return sorted(p for p in STATIC.rglob("*") if p.is_file())


async def test_every_file_answers_with_its_type_and_cache_rule(client: httpx.AsyncClient) -> None:
    kinds = {".js": "javascript", ".mjs": "javascript", ".css": "text/css", ".json": "application/json",
             ".svg": "image/svg+xml", ".txt": "text/plain"}  # fmt: skip
    for file in _shipped_files():
        url = "/portal/static/" + file.relative_to(STATIC).as_posix()
        response = await client.get(url)
        assert response.status_code == 200, url
        assert kinds[file.suffix] in response.headers["content-type"], (url, response.headers["content-type"])
        vendored = file.parent.name == "vendor"
        assert response.headers["cache-control"] == ("public, max-age=31536000, immutable" if vendored else "no-cache")
    assert (await client.get("/portal/static/app/no-such-module.js")).status_code == 404


def test_nothing_is_loaded_from_the_internet() -> None:
    remote = re.compile(r"""(["'`(]\s*)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}""", re.IGNORECASE)
    for file in [PORTAL / "index.html", *_shipped_files()]:
        if file.suffix in {".txt", ".svg"}:
            continue  # licence texts name their authors' sites; the icon names the SVG namespace
        text = file.read_text(encoding="utf-8").replace('"http://www.w3.org/', '"')  # XML namespaces, not requests
        found = remote.search(text)
        assert not found, (file.name, found.group(0) if found else None)


def test_every_module_import_resolves_to_a_shipped_file_or_the_import_map() -> None:
    shell = (PORTAL / "index.html").read_text(encoding="utf-8")
    mapped = dict(re.findall(r'"([\w/]+)": "(/portal/static/[^"]+)"', shell))
    assert set(mapped) == BARE
    for target in mapped.values():
        assert (STATIC / target.removeprefix("/portal/static/")).is_file(), target
    for module in [*(STATIC / "app").rglob("*.js"), *(STATIC / "vendor").glob("*.mjs")]:
        text = module.read_text(encoding="utf-8")
        for specifier in re.findall(r"""\bimport\s*(?:[\w*{}\s,]+?\s*from\s*)?["']([^"']+)["']""", text):
            if specifier in BARE:
                continue
            assert specifier.startswith("."), (module.name, specifier)
            assert (module.parent / specifier).resolve().is_file(), (module.name, specifier)


def test_vendored_libraries_are_listed_with_their_licence() -> None:
    licences = (STATIC / "vendor" / "LICENSES.txt").read_text(encoding="utf-8")
    for file in (STATIC / "vendor").iterdir():
        if file.name != "LICENSES.txt":
            line = next((row for row in licences.splitlines() if row.startswith(file.name + " ")), "")
            assert " MIT " in line or " Apache-2.0 " in line, f"{file.name} is not listed in LICENSES.txt"


def test_the_package_ships_every_portal_file() -> None:
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["api"]
    for file in [PORTAL / "index.html", *_shipped_files()]:
        relative = file.relative_to(ROOT / "api").as_posix()
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), relative
