// Signing in: tenant, e-mail and password, then a second factor when the account has one (or must enrol one),
// or the tenant's single sign-on; links to reset a forgotten password.
import { useEffect, useState } from "preact/hooks";
import { secondFactor, signIn, signInOptions, ssoUrl } from "../api.js";
import { useDebounced } from "../data.js";
import { fieldErrors } from "../errors.js";
import { html } from "../html.js";
import { LANGUAGES, currentLanguage, t } from "../i18n.js";
import { ErrorNotice, Field } from "../ui.js";

const TENANT_KEY = "crm.portal.tenant";

function rememberedTenant() {
  return new URLSearchParams(location.search).get("tenant") || localStorage.getItem(TENANT_KEY) || "";
}

const LABELS = () => ({ tenant: t("signin.tenant"), email: t("signin.email"), password: t("signin.password"), code: t("signin.code") });

export function SignInForm({ compact = false, email: knownEmail = "", onSignedIn }) {
  const [tenant, setTenant] = useState(rememberedTenant);
  const [email, setEmail] = useState(knownEmail || "");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [mfa, setMfa] = useState(null);
  const [recovery, setRecovery] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [sso, setSso] = useState(false);
  const settledTenant = useDebounced(tenant.trim().toLowerCase(), 400);

  useEffect(() => {
    let live = true;
    if (!settledTenant) {
      setSso(false);
      return undefined;
    }
    signInOptions(settledTenant).then((options) => live && setSso(Boolean(options.sso)));
    return () => {
      live = false;
    };
  }, [settledTenant]);

  async function submit(event) {
    event.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const step = mfa ? await secondFactor(mfa.token, code.trim()) : await signIn(tenant.trim(), email.trim(), password);
      if (step.done) {
        localStorage.setItem(TENANT_KEY, tenant.trim().toLowerCase());
        setPassword("");
        if (step.recoveryCodes) setRecovery(step.recoveryCodes);
        else onSignedIn();
      } else {
        setMfa(step.mfa);
        setCode("");
      }
    } catch (exc) {
      setError(exc);
    } finally {
      setBusy(false);
    }
  }

  if (recovery) {
    return html`
      <div class="stack">
        <p>${t("signin.recovery_intro")}</p>
        <ul class="codes">${recovery.map((c) => html`<li><code>${c}</code></li>`)}</ul>
        <button type="button" onClick=${onSignedIn}>${t("signin.continue")}</button>
      </div>
    `;
  }
  const errors = fieldErrors(error, LABELS());
  const wrongCredentials = error && error.kind === "unauthenticated";
  return html`
    <form class="stack" onSubmit=${submit} novalidate>
      ${error ? html`<${ErrorNotice} error=${wrongCredentials ? { kind: "invalid", message: error.message, code: "UNAUTHENTICATED" } : error} />` : null}
      ${mfa
        ? html`
            ${mfa.enrolling
              ? html`<div class="notice"><p>${t("signin.enrol_intro")}</p><p><code class="secret">${mfa.secret}</code></p></div>`
              : html`<p>${t("signin.mfa_intro")}</p>`}
            <${Field} label=${t("signin.code")} error=${errors.code}>
              ${(a) => html`<input ...${a} name="code" inputmode="numeric" autocomplete="one-time-code" required value=${code} onInput=${(e) => setCode(e.currentTarget.value)} />`}
            </${Field}>
            <button type="submit" disabled=${busy}>${t("signin.verify")}</button>
            <button type="button" class="link" onClick=${() => { setMfa(null); setError(null); }}>${t("signin.back")}</button>
          `
        : html`
            <${Field} label=${t("signin.tenant")} hint=${compact ? null : t("signin.tenant_hint")} error=${errors.tenant}>
              ${(a) => html`<input ...${a} name="tenant" autocomplete="organization" autocapitalize="none" spellcheck="false" required value=${tenant} onInput=${(e) => setTenant(e.currentTarget.value)} />`}
            </${Field}>
            <${Field} label=${t("signin.email")} error=${errors.email}>
              ${(a) => html`<input ...${a} name="email" type="email" autocomplete="username" required value=${email} onInput=${(e) => setEmail(e.currentTarget.value)} />`}
            </${Field}>
            <${Field} label=${t("signin.password")} error=${errors.password}>
              ${(a) => html`<input ...${a} name="password" type="password" autocomplete="current-password" required value=${password} onInput=${(e) => setPassword(e.currentTarget.value)} />`}
            </${Field}>
            <button type="submit" disabled=${busy}>${busy ? t("common.working") : t("signin.submit")}</button>
            ${sso
              ? html`<a class="button secondary" href=${ssoUrl(tenant.trim().toLowerCase(), location.pathname + location.search)}>${t("signin.sso")}</a>`
              : null}
            <p class="small">
              <a href=${`/auth/reset?tenant=${encodeURIComponent(tenant.trim())}&lang=${currentLanguage()}`}>${t("signin.forgot")}</a>
            </p>
          `}
    </form>
  `;
}

export function SignInPage({ onLanguage, onSignedIn }) {
  useEffect(() => {
    document.title = `${t("signin.title")} · ${t("app.name")}`;
  });
  return html`
    <div class="signin">
      <header class="signin-head">
        <span class="brand-name">${t("app.name")}</span>
        <div class="language">
          <label for="signin-language" class="visually-hidden">${t("app.language")}</label>
          <select id="signin-language" value=${currentLanguage()} onChange=${(e) => onLanguage(e.currentTarget.value)}>
            ${LANGUAGES.map((l) => html`<option value=${l.code} lang=${l.code}>${l.name}</option>`)}
          </select>
        </div>
      </header>
      <main id="main" class="centered">
        <div class="card narrow">
          <h1>${t("signin.title")}</h1>
          <p class="subtitle">${t("signin.intro")}</p>
          <${SignInForm} onSignedIn=${onSignedIn} />
          <p class="small">${t("signin.invited")}</p>
        </div>
      </main>
    </div>
  `;
}
