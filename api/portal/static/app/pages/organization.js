// My organization: its users (invite, deactivate, roles), and for a distributor its dealers side by side.
import { useState } from "preact/hooks";
import { mutate } from "../api.js";
import { useDraft, useQuery } from "../data.js";
import { fieldErrors } from "../errors.js";
import { html } from "../html.js";
import { LANGUAGES, currentLanguage, formatDate, formatMoney, formatNumber, formatPercent, isoDate, t } from "../i18n.js";
import { Link } from "../router.js";
import { Badge, Dialog, ErrorNotice, Field, Loaded, Page, Section, Success, Table } from "../ui.js";
import { DealerFilter, useViewer } from "../viewer.js";

const PARTNER_ROLES = ["partner_admin", "partner_manager", "partner_sales"];

const USERS = `query Users($org: ID) {
  users(filter: { organizationId: $org }, first: 100) {
    totalCount edges { node { id name email roles isActive organization { id name } } }
  }
}`;
const INVITE = `mutation Invite($input: InviteUserInput!) { inviteUser(input: $input) { user { id email } errors { field code message } } }`;
const SET_ACTIVE = `mutation SetActive($input: SetUserActiveInput!) { setUserActive(input: $input) { user { id isActive } errors { field code message } } }`;
const SET_ROLES = `mutation SetRoles($input: SetUserRolesInput!) { setUserRoles(input: $input) { user { id roles } errors { field code message } } }`;

function RoleBoxes({ value, onChange, legend, error }) {
  return html`
    <fieldset class=${error ? "has-error" : ""}>
      <legend>${legend}</legend>
      ${PARTNER_ROLES.map(
        (role) => html`<label class="check"><input type="checkbox" name="roles" value=${role} checked=${value.includes(role)}
          onChange=${(e) => onChange(e.currentTarget.checked ? [...value, role] : value.filter((r) => r !== role))} />
          ${t(`role.${role}`)} <span class="hint">${t(`role_help.${role}`)}</span></label>`,
      )}
      ${error ? html`<p class="field-error">${error}</p>` : null}
    </fieldset>
  `;
}

function InviteForm({ onInvited }) {
  const viewer = useViewer();
  const organizations = [viewer.organization, ...viewer.dealers];
  const [draft, update, clear] = useDraft("invite", { name: "", email: "", organizationId: viewer.organization.id, roles: ["partner_sales"], locale: currentLanguage() });
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const payload = await mutate("inviteUser", INVITE, { input: draft });
      clear();
      onInvited(t("org.invited", { email: payload.user.email }));
    } catch (exc) {
      setError(exc);
    } finally {
      setBusy(false);
    }
  }
  const labels = { name: t("org.name"), email: t("common.email"), organizationId: t("org.organization"), roles: t("org.roles"), locale: t("org.language") };
  const errors = fieldErrors(error, labels);
  return html`
    <form class="stack" onSubmit=${submit} novalidate>
      ${error ? html`<${ErrorNotice} error=${error} />` : null}
      <div class="row">
        <${Field} label=${labels.name} error=${errors.name}>${(a) => html`<input ...${a} required autocomplete="off" value=${draft.name} onInput=${(e) => update({ name: e.currentTarget.value })} />`}</${Field}>
        <${Field} label=${labels.email} error=${errors.email}>${(a) => html`<input ...${a} type="email" required autocomplete="off" value=${draft.email} onInput=${(e) => update({ email: e.currentTarget.value })} />`}</${Field}>
      </div>
      <div class="row">
        ${organizations.length > 1
          ? html`<${Field} label=${labels.organizationId} error=${errors.organizationId}>${(a) => html`<select ...${a} value=${draft.organizationId} onChange=${(e) => update({ organizationId: e.currentTarget.value })}>${organizations.map((o) => html`<option value=${o.id}>${o.name}</option>`)}</select>`}</${Field}>`
          : null}
        <${Field} label=${labels.locale} hint=${t("org.language_hint")} error=${errors.locale}>${(a) => html`<select ...${a} value=${draft.locale} onChange=${(e) => update({ locale: e.currentTarget.value })}>${LANGUAGES.map((l) => html`<option value=${l.code} lang=${l.code}>${l.name}</option>`)}</select>`}</${Field}>
      </div>
      <${RoleBoxes} legend=${labels.roles} value=${draft.roles} onChange=${(roles) => update({ roles })} error=${errors.roles} />
      <div class="actions"><button type="submit" disabled=${busy}>${t("org.invite")}</button></div>
    </form>
  `;
}

function RolesDialog({ user, onDone, onClose }) {
  const [roles, setRoles] = useState(user.roles);
  const [error, setError] = useState(null);
  async function submit(event) {
    event.preventDefault();
    setError(null);
    try {
      await mutate("setUserRoles", SET_ROLES, { input: { id: user.id, roles } });
      onDone(t("org.roles_changed", { name: user.name }));
    } catch (exc) {
      setError(exc);
    }
  }
  const errors = fieldErrors(error, { roles: t("org.roles") });
  return html`
    <${Dialog} open=${true} title=${t("org.roles_title", { name: user.name })} onClose=${onClose}>
      <form class="stack" onSubmit=${submit} novalidate>
        ${error && !errors.roles ? html`<${ErrorNotice} error=${error} />` : null}
        <${RoleBoxes} legend=${t("org.roles")} value=${roles} onChange=${setRoles} error=${errors.roles} />
        <div class="actions"><button type="submit">${t("common.save")}</button><button type="button" class="secondary" onClick=${onClose}>${t("common.cancel")}</button></div>
      </form>
    </${Dialog}>
  `;
}

function DeactivateDialog({ user, onDone, onClose }) {
  const [reason, setReason] = useState("");
  const [error, setError] = useState(null);
  async function submit(event) {
    event.preventDefault();
    setError(null);
    try {
      await mutate("setUserActive", SET_ACTIVE, { input: { id: user.id, active: false, reason } });
      onDone(t("org.deactivated", { name: user.name }));
    } catch (exc) {
      setError(exc);
    }
  }
  const errors = fieldErrors(error, { reason: t("common.reason") });
  return html`
    <${Dialog} open=${true} title=${t("org.deactivate_title", { name: user.name })} onClose=${onClose}>
      <form class="stack" onSubmit=${submit} novalidate>
        <p>${t("org.deactivate_intro")}</p>
        ${error && !errors.reason ? html`<${ErrorNotice} error=${error} />` : null}
        <${Field} label=${t("common.reason")} error=${errors.reason}>${(a) => html`<textarea ...${a} rows="2" required value=${reason} onInput=${(e) => setReason(e.currentTarget.value)}></textarea>`}</${Field}>
        <div class="actions"><button type="submit" class="danger">${t("org.deactivate")}</button><button type="button" class="secondary" onClick=${onClose}>${t("common.cancel")}</button></div>
      </form>
    </${Dialog}>
  `;
}

export function OrganizationPage() {
  const viewer = useViewer();
  const [org, setOrg] = useState(null);
  const [dialog, setDialog] = useState(null);
  const [done, setDone] = useState(null);
  const [error, setError] = useState(null);
  const query = useQuery(USERS, { org });
  function finished(message) {
    setDialog(null);
    setDone(message);
    query.reload();
  }
  async function reactivate(user) {
    setError(null);
    try {
      await mutate("setUserActive", SET_ACTIVE, { input: { id: user.id, active: true } });
      finished(t("org.reactivated", { name: user.name }));
    } catch (exc) {
      setError(exc);
    }
  }
  const columns = [
    { label: t("org.name"), cell: (u) => html`${u.name}${u.id === viewer.id ? html` <span class="meta">(${t("org.you")})</span>` : null}` },
    { label: t("common.email"), cell: (u) => u.email },
    ...(viewer.isDistributor ? [{ label: t("org.organization"), cell: (u) => (u.organization ? u.organization.name : "—") }] : []),
    { label: t("org.roles"), cell: (u) => u.roles.map((r) => t(`role.${r}`)).join(", ") },
    { label: t("common.status"), cell: (u) => html`<${Badge} group="userStatus" value=${u.isActive ? "ACTIVE" : "INACTIVE"} />` },
    ...(viewer.isAdmin
      ? [{
          label: t("common.actions"),
          cell: (u) => (u.id === viewer.id ? "—" : html`<div class="actions">
            <button type="button" class="secondary small" onClick=${() => setDialog({ kind: "roles", user: u })}>${t("org.change_roles")}<span class="visually-hidden"> ${u.name}</span></button>
            ${u.isActive
              ? html`<button type="button" class="secondary small" onClick=${() => setDialog({ kind: "deactivate", user: u })}>${t("org.deactivate")}<span class="visually-hidden"> ${u.name}</span></button>`
              : html`<button type="button" class="secondary small" onClick=${() => reactivate(u)}>${t("org.reactivate")}<span class="visually-hidden"> ${u.name}</span></button>`}
          </div>`),
        }]
      : []),
  ];
  return html`
    <${Page} title=${t("org.title")} subtitle=${viewer.organization.name}
      actions=${viewer.isDistributor ? html`<${Link} class="button secondary" to="/dealers">${t("org.compare_dealers")}</${Link}>` : null}>
      ${done ? html`<${Success}>${done}</${Success}>` : null}
      ${error ? html`<${ErrorNotice} error=${error} />` : null}
      <${Section} id="users" title=${t("org.users")}>
        <div class="filters"><${DealerFilter} id="user-org" value=${org} onChange=${setOrg} /></div>
        <${Loaded} query=${query}>
          ${(data) => html`<${Table} caption=${t("org.users")} columns=${columns} rows=${data.users.edges.map((e) => e.node)} empty=${t("org.users_none")} />`}
        </${Loaded}>
      </${Section}>
      ${viewer.isAdmin
        ? html`<${Section} id="invite" title=${t("org.invite_title")}><p class="hint">${t("org.invite_intro")}</p><${InviteForm} onInvited=${finished} /></${Section}>`
        : html`<p class="hint">${t("org.admins_only")}</p>`}
      ${dialog && dialog.kind === "roles" ? html`<${RolesDialog} user=${dialog.user} onDone=${finished} onClose=${() => setDialog(null)} />` : null}
      ${dialog && dialog.kind === "deactivate" ? html`<${DeactivateDialog} user=${dialog.user} onDone=${finished} onClose=${() => setDialog(null)} />` : null}
    </${Page}>
  `;
}

// --- Dealers side by side (distributors)

const FORECAST = `query Dealers($start: Date!, $end: Date!, $currency: String!) {
  forecast(periodStart: $start, periodEnd: $end, currency: $currency) {
    currency byPartner { organization { id name kind } own { category count amount weightedAmount } rollup { category count amount weightedAmount } }
  }
}`;
const OPEN = ["PIPELINE", "BEST_CASE", "COMMIT"];

function periodOf(kind, today = new Date()) {
  const year = today.getFullYear();
  if (kind === "year") return { start: `${year}-01-01`, end: `${year}-12-31` };
  if (kind === "next-year") return { start: `${year + 1}-01-01`, end: `${year + 1}-12-31` };
  const quarter = Math.floor(today.getMonth() / 3);
  const start = new Date(year, quarter * 3, 1);
  const end = new Date(year, quarter * 3 + 3, 0);
  return { start: isoDate(start), end: isoDate(end) };
}

function bucket(rows, categories) {
  const found = rows.filter((r) => categories.includes(r.category));
  return {
    count: found.reduce((n, r) => n + r.count, 0),
    amount: found.reduce((n, r) => n + Number(r.amount), 0),
    weighted: found.reduce((n, r) => n + Number(r.weightedAmount), 0),
  };
}

export function DealersPage() {
  const viewer = useViewer();
  const [period, setPeriod] = useState("year");
  const [currency, setCurrency] = useState("CNY");
  const { start, end } = periodOf(period);
  const query = useQuery(FORECAST, { start, end, currency });
  if (!viewer.isDistributor) return html`<${Page} title=${t("dealers.title")}><p>${t("dealers.distributors_only")}</p></${Page}>`;
  return html`
    <${Page} title=${t("dealers.title")} subtitle=${t("dealers.intro")}>
      <div class="filters">
        <div class="field field-inline">
          <label for="dealer-period">${t("dealers.period")}</label>
          <select id="dealer-period" value=${period} onChange=${(e) => setPeriod(e.currentTarget.value)}>
            ${["quarter", "year", "next-year"].map((p) => html`<option value=${p}>${t(`dealers.period_${p}`)}</option>`)}
          </select>
        </div>
        <div class="field field-inline">
          <label for="dealer-currency">${t("common.currency")}</label>
          <select id="dealer-currency" value=${currency} onChange=${(e) => setCurrency(e.currentTarget.value)}>
            ${["CNY", "USD", "EUR"].map((c) => html`<option value=${c}>${c}</option>`)}
          </select>
        </div>
      </div>
      <${Loaded} query=${query}>
        ${(data) => {
          const rows = data.forecast.byPartner
            .filter((p) => p.organization && p.organization.id !== viewer.organization.id)
            .map((p) => {
              const open = bucket(p.rollup, OPEN);
              const won = bucket(p.rollup, ["CLOSED"]);
              const lost = bucket(p.rollup, ["OMITTED"]);
              const decided = won.count + lost.count;
              return { id: p.organization.id, name: p.organization.name, open, commit: bucket(p.rollup, ["COMMIT"]), won, lost, winRate: decided ? won.count / decided : null };
            });
          const cur = data.forecast.currency;
          return html`
            <${Section} id="dealer-table" title=${t("dealers.side_by_side", { start: formatDate(start), end: formatDate(end) })}>
              <${Table} caption=${t("dealers.title")} rows=${rows} empty=${t("dealers.none")} columns=${[
                { label: t("common.dealer"), cell: (r) => html`<${Link} to=${`/deals?dealer=${encodeURIComponent(r.id)}`}>${r.name}</${Link}>` },
                { label: t("dealers.open_pipeline"), numeric: true, cell: (r) => html`${formatMoney(r.open.amount, cur)}<br /><span class="meta">${t("dealers.deals", { count: formatNumber(r.open.count) })}</span>` },
                { label: t("dealers.weighted"), numeric: true, cell: (r) => formatMoney(r.open.weighted, cur) },
                { label: t("dealers.commit"), numeric: true, cell: (r) => formatMoney(r.commit.amount, cur) },
                { label: t("dealers.won"), numeric: true, cell: (r) => html`${formatMoney(r.won.amount, cur)}<br /><span class="meta">${t("dealers.deals", { count: formatNumber(r.won.count) })}</span>` },
                { label: t("dealers.lost"), numeric: true, cell: (r) => t("dealers.deals", { count: formatNumber(r.lost.count) }) },
                { label: t("dealers.win_rate"), numeric: true, cell: (r) => formatPercent(r.winRate) },
              ]} />
            </${Section}>
          `;
        }}
      </${Loaded}>
    </${Page}>
  `;
}
