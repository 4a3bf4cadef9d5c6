"""The partner portal in a real browser: a dealer's day and a distributor's, in English and Simplified Chinese,
on a desktop and at phone width, against the live server on the test database.

On every page of every journey: no serious or critical accessibility violation (axe-core), nothing of a
sibling dealer, of another distributor or of the enterprise's direct business anywhere in the page, no
English left on a Chinese page, no request off this server, and a screenshot in tests/artifacts/.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from tests.browser import ARTIFACTS, CHROMIUM, Browsing, chromium, live_server, open_page
from tests.integration.portal_world import PASSWORD, PortalWorld, build_portal_world, latest_mail_link

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed (CI installs it: see .ci/run)"),
]

AXE = Path(__file__).parents[2] / "browser_vendor" / "axe-core-4.14.1.min.js"
AXE_URL = "/__tests__/axe.min.js"  # served to the page by the test itself, so the portal's CSP allows it
CATALOGUES = Path(__file__).parents[3] / "api" / "portal" / "static" / "i18n"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
TIMEOUT = 15_000


@pytest.fixture(scope="module")
def portal_url(database_url: str, test_settings) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The development app under uvicorn, serving the portal and the API."""
    with live_server(create_app(test_settings, database_url=database_url)) as base:
        yield base


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    async with chromium() as launched:
        yield launched


@pytest.fixture
async def portal(sessions) -> PortalWorld:  # type: ignore[no-untyped-def]
    return await build_portal_world(sessions)


class Journey:
    """One person's walk through the portal, checking every page it shows."""

    def __init__(self, browsing: Browsing, base: str, name: str, language: str, hidden: list[str]) -> None:
        self.browsing = browsing
        self.page = browsing.page
        self.base = base
        self.name = name
        self.language = language
        self.hidden = hidden
        self.shots = 0
        english = json.loads((CATALOGUES / "en.json").read_text())
        chinese = json.loads((CATALOGUES / "zh-CN.json").read_text())
        # English sentences that must not be left on a Chinese page (short words may also be data, e.g. "API").
        self.untranslated = sorted(
            {v.split("{")[0].strip() for k, v in english.items() if chinese.get(k) != v and len(v.split("{")[0]) >= 12}
        )

    async def open(self, path: str) -> None:
        await self.page.goto(f"{self.base}/portal{path}")
        await self.shown()

    async def shown(self) -> None:
        """Wait until the page's heading is there and its data has loaded."""
        await self.page.locator("h1").first.wait_for(timeout=TIMEOUT)
        await self.page.wait_for_function(
            "() => !document.querySelector('.loading') && !document.querySelector('.boot')", timeout=TIMEOUT
        )

    async def check(self, label: str) -> None:
        """The checks every page passes, then its screenshot."""
        await self.shown()
        page = self.page
        html = await page.content()
        text = await page.inner_text("body")
        leaked = [name for name in self.hidden if name in html]
        assert not leaked, f"{self.name} {label}: shows {leaked}"
        assert await page.get_attribute("html", "lang") == self.language
        if self.language == "zh-CN":
            english = [s for s in self.untranslated if s in text]
            assert not english, f"{self.name} {label}: English left on a Chinese page: {english}"
        await self.axe(label)
        assert self.browsing.blocked == [], self.browsing.blocked
        assert self.browsing.errors == [], self.browsing.errors
        self.shots += 1
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / f"{self.name}-{self.shots:02d}-{label}.png"), full_page=True)

    async def axe(self, label: str) -> None:
        if not await self.page.evaluate("() => typeof window.axe !== 'undefined'"):
            await self.page.add_script_tag(url=f"{self.base}{AXE_URL}")
        result = await self.page.evaluate(
            "async () => (await axe.run(document, { resultTypes: ['violations'] })).violations"
            ".map(v => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' ')) }))"
        )
        serious = [v for v in result if v["impact"] in ("serious", "critical")]
        assert not serious, f"{self.name} {label}: accessibility violations {json.dumps(serious, indent=1)}"

    async def nav(self, href: str) -> None:
        """Follow a link of the main menu (opening it first at phone width)."""
        menu = self.page.locator(".menu-button")
        if await menu.is_visible():
            await menu.click()
        await self.page.locator(f"#main-nav a[href='/portal{href}']").click()
        await self.shown()


async def start(browser, base: str, name: str, language: str, viewport: dict[str, int], hidden: list[str]):  # type: ignore[no-untyped-def]
    """A journey in a fresh browser context in that language and size, with axe-core at hand."""
    context = open_page(browser, viewport=viewport, locale=language, timezone_id="Asia/Shanghai")
    browsing = await context.__aenter__()

    async def serve_axe(route):  # type: ignore[no-untyped-def]
        await route.fulfill(body=AXE.read_bytes(), content_type="text/javascript")

    await browsing.page.route(f"**{AXE_URL}", serve_axe)
    return context, Journey(browsing, base, name, language, hidden)


async def sign_in(journey: Journey, tenant: str, email: str, password: str = PASSWORD) -> None:
    page = journey.page
    await page.fill("input[name=tenant]", tenant)
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", password)
    await page.locator("form button[type=submit]").click()


# --- A dealer's day


@pytest.mark.parametrize(
    ("language", "viewport", "name"),
    [("en", DESKTOP, "dealer-en-desktop"), ("zh-CN", PHONE, "dealer-zh-phone")],
)
async def test_a_dealers_day(browser, portal_url, portal, language, viewport, name) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    zh = language == "zh-CN"
    n = portal.names
    context, j = await start(browser, portal_url, name, language, viewport, portal.hidden_from("dealer"))
    page = j.page
    try:
        # The portal's address leads to the sign-in page, in the browser's language
        await page.goto(f"{portal_url}/")
        await j.shown()
        await expect(page.locator("h1")).to_have_text("登录" if zh else "Sign in")
        await j.check("sign-in")

        # A wrong password says so, and keeps what was typed
        await sign_in(j, portal.slug, portal.user("r1a_sales").email, "not-the-password-at-all")
        await expect(page.locator(".notice-error")).to_be_visible()
        assert await page.input_value("input[name=email]") == portal.user("r1a_sales").email

        # Signing in shows what needs the dealer today
        await sign_in(j, portal.slug, portal.user("r1a_sales").email)
        await expect(page.locator("#offers")).to_contain_text(n["r1a_lead"], timeout=TIMEOUT)
        await expect(page.locator("#expiring")).to_contain_text(n["r1a_registration"])
        await expect(page.locator("#closing")).to_contain_text(n["O3"])
        await expect(page.locator(".tile-alert")).to_contain_text("1,500.00" if not zh else "1,500.00")
        await j.check("home")

        # Accept the lead offer, in time
        await j.nav("/leads")
        offer = page.locator("tr", has_text=n["r1a_lead"])
        await expect(offer).to_be_visible()
        await offer.get_by_role("button", name=re.compile("接受" if zh else "Accept")).click()
        await expect(page.locator(".notice-success")).to_contain_text(n["r1a_lead"])
        await expect(page.locator("tr", has_text=n["r1a_lead"])).to_have_count(0)
        await j.check("leads")

        # Register a deal for a customer the enterprise already works: the pre-check warns while typing
        await j.nav("/registrations")
        await j.check("registrations")
        await page.locator(".page-actions a").click()
        await j.shown()
        await page.fill("input[name=customerName]", n["conflict_customer"])
        await expect(page.locator("#precheck-conflict")).to_be_visible(timeout=TIMEOUT)
        await page.fill("input[name=products]", "plc, drives")
        await page.fill("input[name=amount]", "88000")
        await j.check("register-deal-conflict")
        await page.locator("form button[type=submit]").click()
        await expect(page.locator(".notice-success")).to_be_visible(timeout=TIMEOUT)
        await expect(page.locator("h1")).to_have_text(n["conflict_customer"])
        await expect(page.locator(".page-head .badge")).to_have_text("已提交" if zh else "Submitted")
        await j.check("registration")

        # The protected registration that ends soon: ask for more time
        await j.nav("/registrations")
        await page.locator("main table a", has_text=n["r1a_registration"]).click()
        await j.shown()
        await page.locator(".page-actions button").first.click()  # ask for more time
        dialog = page.locator("dialog[open]")
        await dialog.locator("input[type=number]").fill("45")
        await dialog.locator("textarea").fill("The customer's board meets next month.")
        await dialog.locator("button[type=submit]").click()
        await expect(page.locator(".notice-success")).to_contain_text("45", timeout=TIMEOUT)
        await j.check("registration-extension")

        # Order from the catalogue at the dealer's price; above the credit it is refused with the figures
        await j.nav("/catalogue")
        gateway = page.locator("tr", has_text="HW-100")
        await expect(gateway).to_contain_text("750.00")  # the silver dealers' price, not the 1,000.00 list price
        await gateway.locator("input").fill("8")
        await gateway.get_by_role("button").click()
        await expect(page.locator(".notice-success")).to_be_visible()
        await j.check("catalogue")
        await j.nav("/cart")
        await page.select_option("#cart-account", label=n["A_r1a"])
        await page.locator("form button[type=submit]").click()
        refusal = page.locator("#credit-refusal")
        await expect(refusal).to_be_visible(timeout=TIMEOUT)
        await expect(refusal).to_contain_text("6,000.00")  # the order: 8 × 750
        await expect(refusal).to_contain_text("5,000.00")  # the credit left: 6,000 limit − 1,000 owed
        await j.check("cart-refused")
        await page.locator("#cart-HW-100").fill("2")
        await page.locator("form button[type=submit]").click()
        await expect(page.locator(".notice-success")).to_be_visible(timeout=TIMEOUT)
        await expect(page.locator("h1")).to_contain_text("SO-")
        await expect(page.locator(".page-head .badge")).to_have_text("已提交" if zh else "Submitted")
        await expect(
            page.get_by_role("button", name=re.compile("取消订单" if zh else "Cancel the order"))
        ).to_be_visible()
        await j.check("order-placed")

        # Check the overdue invoice, by order and then on the order itself
        await j.nav("/money")
        overdue = page.locator("#by-order tr", has_text=n["r1a_order"])
        await expect(overdue).to_contain_text("1,500.00")
        await j.check("money")
        await overdue.locator("a").click()
        await j.shown()
        await expect(page.locator(".badge-overdue")).to_be_visible()
        await j.check("order-invoice")

        # The deal it works: what it may change is a form, the rest read-only; log a call
        await j.open("/deals")
        await page.locator("tr", has_text=n["O3"]).locator("a").click()
        await j.shown()
        await expect(page.locator("#deal-team")).to_contain_text(n["r1a_sales"])
        # its name it may change; the figures are the enterprise's at this stage, shown read-only
        await expect(page.locator("#deal-fields input").first).to_have_value(n["O3"])
        await expect(page.locator("#deal-fields .read-only")).to_have_count(3)  # amount, close date, probability
        await expect(page.locator("#deal-fields .read-only").first).to_contain_text("48,000.00")
        await page.fill("#deal-activities input[name=subject]", "Site visit booked")
        await page.locator("#deal-activities form button[type=submit]").click()
        await expect(page.locator("#deal-activities table")).to_contain_text("Site visit booked", timeout=TIMEOUT)
        await j.check("deal")

        # A reload keeps the session (the refresh cookie); the account page lists it
        await page.reload()
        await j.shown()
        await expect(page.locator("h1")).to_have_text(n["O3"])
        await j.open("/account")
        await expect(page.locator("#sessions .badge-current")).to_be_visible()
        await j.check("account")

        # Signing out ends it: the sign-in page again, even after a reload
        await page.locator(".topbar-tools button").click()
        await expect(page.locator("input[name=password]")).to_be_visible()
        await page.reload()
        await expect(page.locator("input[name=password]")).to_be_visible(timeout=TIMEOUT)
    finally:
        await context.__aexit__(None, None, None)


# --- A distributor's day


@pytest.mark.parametrize(
    ("language", "viewport", "name"),
    [("zh-CN", DESKTOP, "distributor-zh-desktop"), ("en", PHONE, "distributor-en-phone")],
)
async def test_a_distributors_day(browser, portal_url, portal, sessions, language, viewport, name) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    n = portal.names
    context, j = await start(browser, portal_url, name, language, viewport, portal.hidden_from("distributor"))
    page = j.page
    try:
        await j.open("/")
        await sign_in(j, portal.slug, portal.user("d1_admin").email)
        await expect(page.locator("#offers")).to_contain_text(n["r1a_lead"], timeout=TIMEOUT)
        await expect(page.locator("#offers")).to_contain_text(n["r1b_lead"])
        await j.check("home")

        # Its dealers' deals, narrowed to one dealer, saved as a view
        await j.nav("/deals")
        table = page.locator("main table")
        for deal in (n["O3"], n["O4"], n["O6"]):
            await expect(table).to_contain_text(deal)
        await page.select_option("#deal-dealer", label=n["R1b"])
        await expect(table).not_to_contain_text(n["O3"], timeout=TIMEOUT)
        await expect(table).to_contain_text(n["O4"])
        await page.fill("#view-name", "R1b")
        await page.locator(".views form button").click()
        await expect(page.locator("#deal-view")).to_contain_text("R1b", timeout=TIMEOUT)
        await j.check("deals-by-dealer")

        await j.nav("/registrations")
        await expect(page.locator("main table")).to_contain_text(n["r1b_registration"])
        await j.check("registrations")
        await j.nav("/orders")
        await expect(page.locator("main table")).to_contain_text(n["r1a_order"])
        await expect(page.locator("main table")).to_contain_text(n["r1b_order"])
        await j.check("orders")
        await j.nav("/money")
        await expect(page.locator("#by-order")).to_contain_text(n["r1b_order"])
        await j.check("money")

        # Invite a user to one of its dealers
        await j.nav("/organization")
        await expect(page.locator("#users table")).to_contain_text(portal.user("r1b_sales").email)
        invite = page.locator("#invite")
        await invite.locator("input").nth(0).fill("Lin Hao")
        await invite.locator("input[type=email]").fill(f"lin.hao@{portal.slug}.example")
        await invite.locator("select").first.select_option(label=n["R1b"])
        await invite.locator("button[type=submit]").click()
        await expect(page.locator(".notice-success")).to_contain_text(f"lin.hao@{portal.slug}.example", timeout=TIMEOUT)
        await expect(page.locator("#users table")).to_contain_text("Lin Hao")
        await j.check("organization")

        # Compare its dealers side by side
        await j.open("/dealers")
        await page.select_option("#dealer-period", "year")
        comparison = page.locator("#dealer-table table")
        await expect(comparison).to_contain_text(n["R1a"], timeout=TIMEOUT)
        await expect(comparison).to_contain_text(n["R1b"])
        await expect(comparison).to_contain_text("48,000")
        await j.check("dealers")
    finally:
        await context.__aexit__(None, None, None)

    # The invited user accepts the e-mailed invitation and lands in the portal
    link = await latest_mail_link(sessions, portal.world.tenant_id, f"lin.hao@{portal.slug}.example")
    context, j = await start(
        browser, portal_url, f"{name}-invited", language, viewport, portal.hidden_from("sibling dealer")
    )
    page = j.page
    try:
        await page.goto(link.replace("http://127.0.0.1:8000", portal_url))
        await page.locator("input[type=password]").nth(0).fill("a-brand-new-passphrase-for-lin")
        await page.locator("input[type=password]").nth(1).fill("a-brand-new-passphrase-for-lin")
        await page.locator("button[type=submit]").click()
        await page.locator("#done a").click()
        await expect(page.locator("#offers")).to_be_visible(timeout=TIMEOUT)
        await expect(page.locator(".brand-org")).to_have_text(n["R1b"])
        await j.check("invited-home")
    finally:
        await context.__aexit__(None, None, None)


# --- Nothing typed is lost


async def test_a_form_keeps_what_was_typed_through_a_lost_connection_a_reload_and_an_ended_session(  # type: ignore[no-untyped-def]
    browser, portal_url, portal, sessions
) -> None:
    from playwright.async_api import expect

    from domain.identity.sign_in.sessions import revoke_user_sessions

    context, j = await start(browser, portal_url, "resilience-en-desktop", "en", DESKTOP, portal.hidden_from("dealer"))
    page = j.page
    typed = {"companyName": "Contoso Pumps", "lastName": "Ma", "email": "ma@contoso-pumps.example"}

    async def still_typed() -> None:
        for field, value in typed.items():
            await expect(page.locator(f"input[name={field}]")).to_have_value(value)

    try:
        await j.open("/")
        await sign_in(j, portal.slug, portal.user("r1a_sales").email)
        await expect(page.locator("#offers")).to_be_visible(timeout=TIMEOUT)
        await j.nav("/leads")
        await page.locator(".page-actions a").click()
        await j.shown()
        for field, value in typed.items():
            await page.fill(f"input[name={field}]", value)

        # The connection drops: submitting says so plainly, and the form keeps every value
        await j.browsing.context.set_offline(True)
        await page.locator("form button[type=submit]").click()
        await expect(page.locator(".banner-offline")).to_be_visible(timeout=TIMEOUT)
        await expect(page.locator(".notice-error")).to_contain_text("cannot be reached")
        await still_typed()
        await j.browsing.context.set_offline(False)

        # A reload brings the draft back
        await page.reload()
        await j.shown()
        await still_typed()
        await j.check("draft-after-reload")

        # The session is ended elsewhere (an administrator, or "end session" on another device): the portal asks
        # to sign in again over the page, and the form is still there after
        async with sessions() as session, session.begin():
            await revoke_user_sessions(session, portal.world.tenant_id, [portal.user("r1a_sales").id], "test")
        await page.locator("main form button[type=submit]").click()
        dialog = page.locator("#session-dialog")
        await expect(dialog).to_be_visible(timeout=TIMEOUT)
        await expect(dialog.locator("input[name=email]")).to_have_value(portal.user("r1a_sales").email)
        await j.check("session-ended")
        await dialog.locator("input[name=password]").fill(PASSWORD)
        await dialog.locator("button[type=submit]").click()
        await expect(dialog).to_be_hidden(timeout=TIMEOUT)
        await still_typed()
        await page.locator("main form button[type=submit]").click()
        await expect(page.locator("h1")).to_have_text(typed["companyName"], timeout=TIMEOUT)
        await j.check("lead-created")
    finally:
        await context.__aexit__(None, None, None)


async def test_the_sign_in_page_offers_the_tenants_single_sign_on_and_a_password_reset(  # type: ignore[no-untyped-def]
    browser, portal_url, portal, sessions
) -> None:
    import pyotp
    from playwright.async_api import expect

    from domain.identity.sign_in.models import SsoConnection, UserCredential

    secret = pyotp.random_base32()
    async with sessions() as session, session.begin():
        session.add(
            SsoConnection(
                tenant_id=portal.world.tenant_id, issuer="https://idp.example", client_id="crm", client_secret="s"
            )
        )
        credential = await session.get(UserCredential, (portal.world.tenant_id, portal.user("r1a_admin").id))
        credential.totp_secret, credential.totp_enabled_at = secret, datetime.now(UTC)
    context, j = await start(browser, portal_url, "sign-in-sso-zh-phone", "zh-CN", PHONE, portal.hidden_from("dealer"))
    page = j.page
    try:
        await j.open(f"/?tenant={portal.slug}")
        sso = page.get_by_role("link", name="使用企业账号登录（单点登录）")
        await expect(sso).to_be_visible(timeout=TIMEOUT)
        assert (
            await sso.get_attribute("href")
            == f"/auth/sso/{portal.slug}?return_to=%2Fportal%2F%3Ftenant%3D{portal.slug}"
        )
        reset = page.get_by_role("link", name="忘记密码？")
        assert await reset.get_attribute("href") == f"/auth/reset?tenant={portal.slug}&lang=zh-CN"
        await j.check("sign-in-sso")

        # A user with an authenticator app gives its code after the password
        await sign_in(j, portal.slug, portal.user("r1a_admin").email)
        code = page.locator("input[name=code]")
        await expect(code).to_be_visible(timeout=TIMEOUT)
        await j.check("sign-in-code")
        await code.fill(pyotp.TOTP(secret).now())
        await page.locator("form button[type=submit]").click()
        await expect(page.locator("#offers")).to_be_visible(timeout=TIMEOUT)

        # and the reset link opens the page that e-mails a new-password link, in the same language
        await page.locator(".topbar-tools button").click()
        await page.get_by_role("link", name="忘记密码？").click()
        await expect(page.locator("h1")).to_have_text("重置密码")
    finally:
        await context.__aexit__(None, None, None)
