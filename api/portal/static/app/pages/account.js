// My account: who I am, my sessions (and ending them), my password and my second factor.
import { useState } from "preact/hooks";
import { mutate } from "../api.js";
import { useQuery } from "../data.js";
import { fieldErrors } from "../errors.js";
import { html } from "../html.js";
import { t } from "../i18n.js";
import { DateText, ErrorNotice, Facts, Field, Loaded, Page, Section, Success, Table } from "../ui.js";
import { useViewer } from "../viewer.js";

const ACCOUNT = `query Account {
  mySessions { id method createdAt lastUsedAt expiresAt clientAddress userAgent current }
  mySignIn { hasPassword totpEnabled recoveryCodesLeft mfaRequired }
}`;
const REVOKE = `mutation Revoke($input: RevokeSessionInput!) { revokeSession(input: $input) { ok errors { field code message } } }`;
const PASSWORD = `mutation Password($input: ChangePasswordInput!) { changePassword(input: $input) { endedSessions errors { field code message } } }`;
const ENROL = `mutation Enrol { enrollTotp { secret otpauthUri errors { field code message } } }`;
const CONFIRM = `mutation Confirm($input: TotpCodeInput!) { confirmTotp(input: $input) { recoveryCodes errors { field code message } } }`;

/** A browser's user agent, shortened to what a person recognizes. */
function device(agent) {
  if (!agent) return t("account.unknown_device");
  const browser = (agent.match(/(Edg|Chrome|Firefox|Safari)\/[\d.]+/) || [agent.slice(0, 40)])[0].replace("Edg", "Edge");
  const system = (agent.match(/\((Windows|Macintosh|iPhone|iPad|Android|Linux|X11)[^;)]*/) || ["", ""])[1];
  return [browser, system].filter(Boolean).join(" · ");
}

function PasswordForm({ onChanged }) {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [error, setError] = useState(null);
  async function submit(event) {
    event.preventDefault();
    setError(null);
    try {
      const payload = await mutate("changePassword", PASSWORD, { input: { currentPassword: current, newPassword: next } });
      setCurrent("");
      setNext("");
      onChanged(t("account.password_changed", { count: payload.endedSessions || 0 }));
    } catch (exc) {
      setError(exc);
    }
  }
  const errors = fieldErrors(error, { currentPassword: t("account.current_password"), newPassword: t("account.new_password") });
  return html`
    <form class="stack" onSubmit=${submit} novalidate>
      ${error && !errors.currentPassword && !errors.newPassword ? html`<${ErrorNotice} error=${error} />` : null}
      <div class="row">
        <${Field} label=${t("account.current_password")} error=${errors.currentPassword}>${(a) => html`<input ...${a} type="password" autocomplete="current-password" value=${current} onInput=${(e) => setCurrent(e.currentTarget.value)} />`}</${Field}>
        <${Field} label=${t("account.new_password")} hint=${t("account.password_hint")} error=${errors.newPassword}>${(a) => html`<input ...${a} type="password" autocomplete="new-password" value=${next} onInput=${(e) => setNext(e.currentTarget.value)} />`}</${Field}>
      </div>
      <div class="actions"><button type="submit">${t("account.change_password")}</button></div>
    </form>
  `;
}

function SecondFactor({ status, onChanged }) {
  const [enrolment, setEnrolment] = useState(null);
  const [code, setCode] = useState("");
  const [codes, setCodes] = useState(null);
  const [error, setError] = useState(null);
  async function start() {
    setError(null);
    try {
      setEnrolment(await mutate("enrollTotp", ENROL));
    } catch (exc) {
      setError(exc);
    }
  }
  async function confirm(event) {
    event.preventDefault();
    setError(null);
    try {
      const payload = await mutate("confirmTotp", CONFIRM, { input: { code: code.trim() } });
      setCodes(payload.recoveryCodes);
      setEnrolment(null);
      onChanged(t("account.totp_on"));
    } catch (exc) {
      setError(exc);
    }
  }
  if (codes) {
    return html`<div class="stack"><p>${t("signin.recovery_intro")}</p><ul class="codes">${codes.map((c) => html`<li><code>${c}</code></li>`)}</ul></div>`;
  }
  if (status.totpEnabled) return html`<p>${t("account.totp_enabled", { count: status.recoveryCodesLeft })}</p>`;
  return html`
    <div class="stack">
      <p>${status.mfaRequired ? t("account.totp_required") : t("account.totp_off")}</p>
      ${error ? html`<${ErrorNotice} error=${error} />` : null}
      ${enrolment
        ? html`<form class="stack" onSubmit=${confirm} novalidate>
            <p>${t("signin.enrol_intro")}</p><p><code class="secret">${enrolment.secret}</code></p>
            <${Field} label=${t("signin.code")}>${(a) => html`<input ...${a} inputmode="numeric" autocomplete="one-time-code" value=${code} onInput=${(e) => setCode(e.currentTarget.value)} />`}</${Field}>
            <div class="actions"><button type="submit">${t("signin.verify")}</button></div>
          </form>`
        : html`<div class="actions"><button type="button" class="secondary" onClick=${start}>${t("account.totp_start")}</button></div>`}
    </div>
  `;
}

export function AccountPage() {
  const viewer = useViewer();
  const query = useQuery(ACCOUNT);
  const [done, setDone] = useState(null);
  const [error, setError] = useState(null);
  function changed(message) {
    setDone(message);
    query.reload();
  }
  async function revoke(session) {
    setError(null);
    try {
      await mutate("revokeSession", REVOKE, { input: { id: session.id } });
      changed(t("account.session_ended"));
    } catch (exc) {
      setError(exc);
    }
  }
  return html`
    <${Page} title=${t("account.title")}>
      ${done ? html`<${Success}>${done}</${Success}>` : null}
      ${error ? html`<${ErrorNotice} error=${error} />` : null}
      <${Section} title=${t("account.profile")}>
        <${Facts} items=${[
          [t("org.name"), viewer.name],
          [t("common.email"), viewer.email],
          [t("org.organization"), viewer.organization.name],
          [t("org.roles"), viewer.roles.map((r) => t(`role.${r}`)).join(", ")],
        ]} />
      </${Section}>
      <${Loaded} query=${query}>
        ${(data) => html`
          <${Section} id="sessions" title=${t("account.sessions")}>
            <p class="hint">${t("account.sessions_intro")}</p>
            <${Table} caption=${t("account.sessions")} rows=${data.mySessions} columns=${[
              { label: t("account.device"), cell: (s) => html`${device(s.userAgent)}${s.current ? html` <span class="badge badge-current">${t("account.this_device")}</span>` : null}` },
              { label: t("account.method"), cell: (s) => t(`signInMethod.${s.method}`) },
              { label: t("account.signed_in"), cell: (s) => html`<${DateText} value=${s.createdAt} time />` },
              { label: t("account.last_used"), cell: (s) => html`<${DateText} value=${s.lastUsedAt} time />` },
              { label: t("common.actions"), cell: (s) => (s.current ? "—" : html`<button type="button" class="secondary small" onClick=${() => revoke(s)}>${t("account.end_session")}</button>`) },
            ]} />
          </${Section}>
          <${Section} id="password" title=${t("account.password")}><${PasswordForm} onChanged=${changed} /></${Section}>
          <${Section} id="second-factor" title=${t("account.second_factor")}><${SecondFactor} status=${data.mySignIn} onChanged=${changed} /></${Section}>
        `}
      </${Loaded}>
    </${Page}>
  `;
}
