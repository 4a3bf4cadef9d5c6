"""The development GraphiQL page: served with its own assets, no internet needed, and usable in a real browser."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from api.app import create_app
from api.settings import Settings
from domain.identity.sign_in.models import UserCredential
from domain.identity.sign_in.passwords import hash_password
from tests.browser import CHROMIUM, Browsing, chromium, open_page
from tests.browser import live_server as serve

PASSWORD = "violet-harbour-lantern-42"
ME = "{ me { email } }"
HTML = {"Accept": "text/html"}


class AssetReferences(HTMLParser):
    """Every `src` of a script and `href` of a link in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href"}.get(tag)
        self.urls += [value for name, value in attrs if name == wanted and value]


def asset_references(html: str) -> list[str]:
    parser = AssetReferences()
    parser.feed(html)
    return parser.urls


# --- Through the ASGI app


async def test_graphiql_page_loads_only_files_served_here(client: httpx.AsyncClient) -> None:
    # Given the development app, when a browser asks for /graphql
    response = await client.get("/graphql", headers=HTML)

    # then it gets our page, which names no absolute http(s) URL anywhere
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert 'id="graphiql"' in page and 'id="sign-in"' in page
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", page, re.IGNORECASE), "the page names a remote URL"

    # and every script and stylesheet it references is a local path that answers, without a token
    references = [url for url in asset_references(page) if not url.startswith("data:")]
    scripts = [url for url in references if url.endswith(".js")]
    styles = [url for url in references if url.endswith(".css")]
    assert len(scripts) == 4 and len(styles) == 2, references
    for url in references:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc and url.startswith("/graphiql/static/"), url
        asset = await client.get(url)
        assert asset.status_code == 200, url
        kind = "css" if url.endswith(".css") else "javascript"
        assert kind in asset.headers["content-type"], (url, asset.headers["content-type"])
        assert "immutable" in asset.headers["cache-control"]
        assert len(asset.content) > 500, url


async def test_unknown_graphiql_asset_is_not_found(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphiql/static/no-such-file.js")
    assert response.status_code == 404


async def test_vendored_assets_are_listed_with_their_licence() -> None:
    # Given the vendored folder, every file in it is named in LICENSES.txt with its MIT licence
    static = Path(__file__).parents[3] / "api" / "graphql" / "graphiql" / "static"
    licences = (static / "LICENSES.txt").read_text()
    for file in static.iterdir():
        if file.name != "LICENSES.txt":
            line = next((row for row in licences.splitlines() if row.startswith(file.name + " ")), "")
            assert " MIT " in line, f"{file.name} is not listed in LICENSES.txt"


async def test_production_serves_neither_page_nor_assets(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Given the app in production mode
    settings = Settings(database_url=None, data_dir=tmp_path_factory.mktemp("crm-prod"), production=True)
    production = create_app(settings, database_url=database_url)
    async with (
        production.router.lifespan_context(production),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=production), base_url="http://testserver") as c,
    ):
        # when a browser asks for the page and the assets, it gets neither
        page = await c.get("/graphql", headers=HTML)
        asset = await c.get("/graphiql/static/graphiql-3.8.3.min.js")
    assert page.status_code != 200 and "graphiql" not in page.text.lower()
    assert asset.status_code == 404


# --- In a real browser


@pytest.fixture
def live_server(database_url: str, test_settings: Settings) -> Iterator[str]:
    """The development app under uvicorn on a free localhost port, in its own thread and event loop."""
    with serve(create_app(test_settings, database_url=database_url)) as base:
        yield base


@pytest.fixture
async def signed_up(sessions, world):  # type: ignore[no-untyped-def]
    """A user of the world who has a password."""
    user = world.users["am_east"]
    async with sessions() as session, session.begin():
        session.add(
            UserCredential(tenant_id=world.tenant_id, user_id=user.id, password_hash=await hash_password(PASSWORD))
        )
    return user


@pytest.fixture
async def browsing(live_server: str) -> AsyncIterator[Browsing]:
    """A Chromium page that may reach only localhost."""
    async with chromium() as browser, open_page(browser) as page:
        yield page


async def run_query(page, query: str) -> None:  # type: ignore[no-untyped-def]
    await page.evaluate(
        "query => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(query)", query
    )
    await page.locator(".graphiql-execute-button").click()


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed (CI installs it: see .ci/run)")
async def test_sign_in_and_query_in_a_real_browser_without_internet(live_server, browsing, world, signed_up):  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    page = browsing.page
    response = page.locator(".graphiql-response")

    # Given the GraphiQL page, opened in Chromium that may reach nothing but this server
    await page.goto(f"{live_server}/graphql")
    await expect(page.locator(".graphiql-query-editor .CodeMirror")).to_be_visible(timeout=20_000)

    # when a wrong password is tried, the answer's message is shown
    await page.fill("input[name=tenant]", world.slug)
    await page.fill("input[name=email]", signed_up.email)
    await page.fill("input[name=password]", "not the password at all")
    await page.click("#sign-in-button")
    await expect(page.locator("#sign-in-error")).not_to_be_empty()
    await expect(page.locator("#signed-in")).to_be_hidden()

    # when they sign in through the form and run a query
    await page.fill("input[name=password]", PASSWORD)
    await page.click("#sign-in-button")
    await expect(page.locator("#signed-in-as")).to_contain_text(signed_up.email)
    await expect(page.locator("#sign-in-error")).to_be_empty()
    await run_query(page, ME)

    # then the result pane shows who they are
    await expect(response).to_contain_text(f'"email": "{signed_up.email}"')

    # when the access token is refreshed, queries go on with the new one
    before = await page.evaluate("session.accessToken")
    await page.evaluate("refresh()")
    await page.wait_for_function("before => session !== null && session.accessToken !== before", arg=before)
    await run_query(page, "{ me { name } }")
    await expect(response).to_contain_text(f'"name": "{signed_up.name}"')

    # when they sign out, the next query is refused
    await page.click("#sign-out-button")
    await expect(page.locator("#credentials")).to_be_visible()
    await run_query(page, ME)
    await expect(response).to_contain_text("UNAUTHENTICATED")

    # and nothing was fetched from outside this server, and no script failed
    assert browsing.blocked == []
    assert browsing.errors == []
