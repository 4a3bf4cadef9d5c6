// The partner portal: start-up (restore the session from the refresh cookie), the frame, and the pages.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { gql, onReachability, onSessionLost, refresh, signOut } from "./api.js";
import { openCart, useCart } from "./cart.js";
import { clearDrafts } from "./data.js";
import { html } from "./html.js";
import { LANGUAGES, currentLanguage, setLanguage, startLanguage, t } from "./i18n.js";
import { Link, match, navigate, useLocation } from "./router.js";
import { ErrorNotice, Loading } from "./ui.js";
import { VIEWER_QUERY, ViewerContext, describeViewer } from "./viewer.js";
import { AccountPage } from "./pages/account.js";
import { CartPage, CataloguePage } from "./pages/catalogue.js";
import { DealPage, DealsPage } from "./pages/deals.js";
import { HomePage } from "./pages/home.js";
import { LeadPage, LeadsPage, NewLeadPage } from "./pages/leads.js";
import { MoneyPage } from "./pages/money.js";
import { OrderPage, OrdersPage } from "./pages/orders.js";
import { DealersPage, OrganizationPage } from "./pages/organization.js";
import { NewRegistrationPage, RegistrationPage, RegistrationsPage } from "./pages/registrations.js";
import { SignInForm, SignInPage } from "./pages/signin.js";

const ROUTES = [
  ["/", HomePage],
  ["/leads", LeadsPage],
  ["/leads/new", NewLeadPage],
  ["/leads/:id", LeadPage],
  ["/registrations", RegistrationsPage],
  ["/registrations/new", NewRegistrationPage],
  ["/registrations/:id", RegistrationPage],
  ["/deals", DealsPage],
  ["/deals/:id", DealPage],
  ["/catalogue", CataloguePage],
  ["/cart", CartPage],
  ["/orders", OrdersPage],
  ["/orders/:id", OrderPage],
  ["/money", MoneyPage],
  ["/organization", OrganizationPage],
  ["/dealers", DealersPage],
  ["/account", AccountPage],
];

function NotFoundPage() {
  return html`<div class="page"><h1 tabindex="-1">${t("notfound.title")}</h1><p>${t("notfound.body")}</p><p><${Link} to="/">${t("nav.home")}</${Link}></p></div>`;
}

function LanguageSwitch({ onChange }) {
  return html`
    <div class="language">
      <label for="language" class="visually-hidden">${t("app.language")}</label>
      <select id="language" value=${currentLanguage()} onChange=${(e) => onChange(e.currentTarget.value)}>
        ${LANGUAGES.map((l) => html`<option value=${l.code} lang=${l.code}>${l.name}</option>`)}
      </select>
    </div>
  `;
}

/** Shown while requests fail to reach the server: nothing is lost, and the page retries when it is back. */
function ConnectionBanner({ offline }) {
  if (!offline) return null;
  return html`<div class="banner banner-offline" role="alert">${t("app.offline")}</div>`;
}

/** When the session ends under a page (it expired, or was ended elsewhere): sign in again in place, so
 * nothing on the page, typed or not, is lost. */
function SessionDialog({ open, viewer, onSignedIn }) {
  useEffect(() => {
    const element = document.getElementById("session-dialog");
    if (!element) return;
    if (open && !element.open) element.showModal();
    if (!open && element.open) element.close();
  }, [open]);
  return html`
    <dialog id="session-dialog" aria-labelledby="session-dialog-title" onCancel=${(e) => e.preventDefault()}>
      <h2 id="session-dialog-title">${t("session.expired_title")}</h2>
      <p>${t("session.expired_body")}</p>
      ${open ? html`<${SignInForm} compact email=${viewer && viewer.email} onSignedIn=${onSignedIn} />` : null}
    </dialog>
  `;
}

const NAV = [
  ["/", "nav.home"],
  ["/leads", "nav.leads"],
  ["/registrations", "nav.registrations"],
  ["/deals", "nav.deals"],
  ["/catalogue", "nav.catalogue"],
  ["/orders", "nav.orders"],
  ["/money", "nav.money"],
  ["/organization", "nav.organization"],
];

function Navigation({ path, viewer, open, onNavigate }) {
  const cart = useCart();
  const items = [...NAV];
  if (viewer.isDistributor) items.push(["/dealers", "nav.dealers"]);
  const active = (to) => (to === "/" ? path === "/" : path === to || path.startsWith(`${to}/`));
  return html`
    <nav id="main-nav" class=${open ? "nav open" : "nav"} aria-label=${t("nav.label")}>
      <ul>
        ${items.map(
          ([to, key]) => html`<li><${Link} to=${to} aria-current=${active(to) ? "page" : undefined} onClick=${onNavigate}>${t(key)}</${Link}></li>`,
        )}
        <li>
          <${Link} to="/cart" aria-current=${active("/cart") ? "page" : undefined} onClick=${onNavigate}>
            ${t("nav.cart")}${cart.length ? html` <span class="count">${t("nav.cart_count", { count: cart.length })}</span>` : null}
          </${Link}>
        </li>
      </ul>
    </nav>
  `;
}

function Shell({ viewer, onSignOut, onLanguage, offline }) {
  const { path } = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  let page = null;
  for (const [pattern, Component] of ROUTES) {
    const params = match(pattern, path);
    if (params) {
      page = html`<${Component} key=${path} params=${params} />`;
      break;
    }
  }
  return html`
    <a class="skip-link" href="#main">${t("app.skip")}</a>
    <header class="topbar">
      <button type="button" class="menu-button" aria-expanded=${menuOpen ? "true" : "false"} aria-controls="main-nav" onClick=${() => setMenuOpen(!menuOpen)}>
        ${t("nav.menu")}
      </button>
      <${Link} to="/" class="brand">
        <span class="brand-name">${t("app.name")}</span>
        <span class="brand-org">${viewer.organization.name}</span>
      </${Link}>
      <div class="topbar-tools">
        <${LanguageSwitch} onChange=${onLanguage} />
        <${Link} to="/account" class="user-link" aria-label=${t("nav.account_of", { name: viewer.name })}>${viewer.name}</${Link}>
        <button type="button" class="secondary" onClick=${onSignOut}>${t("nav.sign_out")}</button>
      </div>
    </header>
    <div class="layout">
      <${Navigation} path=${path} viewer=${viewer} open=${menuOpen} onNavigate=${() => setMenuOpen(false)} />
      <main id="main" tabindex="-1">
        <${ConnectionBanner} offline=${offline} />
        ${page || html`<${NotFoundPage} />`}
      </main>
    </div>
  `;
}

function InternalUserNotice({ viewer, onSignOut }) {
  return html`
    <main id="main" class="centered">
      <div class="card narrow">
        <h1>${t("internal.title")}</h1>
        <p>${t("internal.body", { name: viewer.name })}</p>
        <p><a href="/graphql">${t("internal.graphiql")}</a></p>
        <button type="button" onClick=${onSignOut}>${t("nav.sign_out")}</button>
      </div>
    </main>
  `;
}

function App() {
  const [state, setState] = useState({ phase: "starting", viewer: null, error: null });
  const [, setLanguageTick] = useState(0);
  const [expired, setExpired] = useState(false);
  const [offline, setOffline] = useState(!navigator.onLine);

  async function loadViewer() {
    try {
      const data = await gql(VIEWER_QUERY);
      if (!data.me) throw new Error("not a user");
      const viewer = describeViewer(data.me);
      openCart(viewer.id);
      setState({ phase: "ready", viewer, error: null });
    } catch (error) {
      if (error.kind === "unauthenticated") setState({ phase: "signed-out", viewer: null, error: null });
      else setState({ phase: "failed", viewer: null, error });
    }
  }

  useEffect(() => {
    const stopLost = onSessionLost(() => setExpired(true));
    const stopReach = onReachability((ok) => setOffline(!ok));
    const goOnline = () => setOffline(false);
    const goOffline = () => setOffline(true);
    window.addEventListener("online", goOnline);
    window.addEventListener("offline", goOffline);
    (async () => {
      try {
        await refresh();
        await loadViewer();
      } catch (error) {
        if (error.kind === "network") setState({ phase: "failed", viewer: null, error });
        else setState({ phase: "signed-out", viewer: null, error: null });
      }
    })();
    return () => {
      stopLost();
      stopReach();
      window.removeEventListener("online", goOnline);
      window.removeEventListener("offline", goOffline);
    };
  }, []);

  async function changeLanguage(code) {
    await setLanguage(code);
    setLanguageTick((n) => n + 1);
  }

  /** Signed in again after the session ended: carry on where they were, unless someone else signed in. */
  async function resumed() {
    setExpired(false);
    try {
      const data = await gql(VIEWER_QUERY);
      if (!data.me || data.me.id !== state.viewer.id) location.assign("/portal/");
    } catch (error) {
      // The next request shows whatever went wrong.
    }
  }

  async function doSignOut() {
    await signOut();
    clearDrafts();
    setExpired(false);
    setState({ phase: "signed-out", viewer: null, error: null });
    navigate("/", { replace: true });
  }

  if (state.phase === "starting") return html`<main id="main" class="centered"><${Loading} /></main>`;
  if (state.phase === "failed") {
    return html`<main id="main" class="centered"><div class="card narrow"><h1>${t("app.name")}</h1><${ErrorNotice} error=${state.error} onRetry=${() => location.reload()} /></div></main>`;
  }
  if (state.phase === "signed-out") {
    return html`<${SignInPage} onLanguage=${changeLanguage} onSignedIn=${loadViewer} />`;
  }
  const viewer = state.viewer;
  if (!viewer.isPartner) return html`<${InternalUserNotice} viewer=${viewer} onSignOut=${doSignOut} />`;
  return html`
    <${ViewerContext.Provider} value=${viewer}>
      <${Shell} viewer=${viewer} onSignOut=${doSignOut} onLanguage=${changeLanguage} offline=${offline} />
      <${SessionDialog} open=${expired} viewer=${viewer} onSignedIn=${resumed} />
    </${ViewerContext.Provider}>
  `;
}

startLanguage()
  .catch(() => {})
  .then(() => {
    const root = document.getElementById("portal");
    root.textContent = ""; // the "Loading" line of the HTML shell
    render(html`<${App} />`, root);
  });
