// Deals: the list with filters and saved views, and a deal's page with its team, partners, activities, tasks
// and quotes. What the partner may not change is shown read-only; internal-only fields are never asked for.
import { useState } from "preact/hooks";
import { mutate } from "../api.js";
import { useDraft, useQuery } from "../data.js";
import { fieldErrors } from "../errors.js";
import { html } from "../html.js";
import { formatPercent, t } from "../i18n.js";
import { Link } from "../router.js";
import { Badge, DateText, ErrorNotice, Facts, Field, Loaded, Money, Page, Section, Success, Table } from "../ui.js";
import { DealerFilter, useViewer } from "../viewer.js";
import { OPEN_STAGES } from "./home.js";

export const STAGES = [...OPEN_STAGES, "CLOSED_WON", "CLOSED_LOST"];
const ACTIVITY_KINDS = ["CALL", "MEETING", "VISIT", "EMAIL", "TASK"];
const NO_FILTERS = { search: "", stage: "open", partner: "", closeFrom: "", closeTo: "", sort: "CLOSE_DATE" };

const DEALS = `query Deals($filter: OpportunityFilterInput, $orderBy: OpportunityOrder, $after: String) {
  opportunities(filter: $filter, orderBy: $orderBy, first: 25, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id name stage probability closeDate amount { amount currency } account { id name }
                   partners { role organization { id name } } } }
  }
}`;
const VIEWS = `query Views { savedViews(list: DEALS) { id name filters } }`;
const SAVE_VIEW = `mutation SaveView($input: SaveViewInput!) { saveView(input: $input) { view { id name filters } errors { field code message } } }`;
const DELETE_VIEW = `mutation DeleteView($id: ID!) { deleteSavedView(id: $id) { view { id } errors { field code message } } }`;

function toFilter(f) {
  const filter = {};
  if (f.search.trim()) filter.search = f.search.trim();
  if (f.stage === "open") filter.stages = OPEN_STAGES;
  else if (f.stage) filter.stages = [f.stage];
  if (f.partner) filter.partnerOrganizationId = f.partner;
  if (f.closeFrom) filter.closeDateFrom = f.closeFrom;
  if (f.closeTo) filter.closeDateTo = f.closeTo;
  return filter;
}

/** Saved views: pick one, save the current filters under a name, or delete the one in use. */
function SavedViews({ filters, onApply }) {
  const views = useQuery(VIEWS);
  const [name, setName] = useState("");
  const [current, setCurrent] = useState("");
  const [error, setError] = useState(null);
  const [note, setNote] = useState(null);
  const list = views.data ? views.data.savedViews : [];
  async function save(event) {
    event.preventDefault();
    setError(null);
    try {
      const existing = list.find((v) => v.name === name.trim());
      const payload = await mutate("saveView", SAVE_VIEW, { input: { list: "DEALS", name, filters, id: existing ? existing.id : null } });
      setCurrent(payload.view.id);
      setNote(t("deals.view_saved", { name: payload.view.name }));
      setName("");
      views.reload();
    } catch (exc) {
      setError(exc);
    }
  }
  async function remove() {
    setError(null);
    try {
      await mutate("deleteSavedView", DELETE_VIEW, { id: current });
      setCurrent("");
      setNote(t("deals.view_deleted"));
      views.reload();
    } catch (exc) {
      setError(exc);
    }
  }
  function pick(id) {
    setCurrent(id);
    setNote(null);
    const view = list.find((v) => v.id === id);
    onApply(view ? { ...NO_FILTERS, ...view.filters } : NO_FILTERS);
  }
  const errors = fieldErrors(error, { name: t("deals.view_name") });
  return html`
    <div class="views">
      <div class="field field-inline">
        <label for="deal-view">${t("deals.views")}</label>
        <select id="deal-view" value=${current} onChange=${(e) => pick(e.currentTarget.value)}>
          <option value="">${t("deals.view_default")}</option>
          ${list.map((v) => html`<option value=${v.id}>${v.name}</option>`)}
        </select>
        ${current ? html`<button type="button" class="secondary small" onClick=${remove}>${t("deals.view_delete")}</button>` : null}
      </div>
      <form class="field field-inline" onSubmit=${save}>
        <label for="view-name">${t("deals.view_name")}</label>
        <input id="view-name" value=${name} maxlength="100" aria-invalid=${errors.name ? "true" : undefined} onInput=${(e) => setName(e.currentTarget.value)} />
        <button type="submit" class="secondary small">${t("deals.view_save")}</button>
      </form>
      <div aria-live="polite">
        ${note ? html`<p class="hint">${note}</p>` : null}
        ${error ? html`<p class="field-error">${errors.name || error.message}</p>` : null}
      </div>
    </div>
  `;
}

export function DealsPage() {
  const viewer = useViewer();
  const [filters, setFilters] = useState(() => ({ ...NO_FILTERS, partner: new URLSearchParams(location.search).get("dealer") || "" }));
  const [after, setAfter] = useState([]);
  const set = (changes) => {
    setFilters({ ...filters, ...changes });
    setAfter([]);
  };
  const orderBy = { field: filters.sort, direction: filters.sort === "CLOSE_DATE" || filters.sort === "NAME" ? "ASC" : "DESC" };
  const query = useQuery(DEALS, { filter: toFilter(filters), orderBy, after: after.length ? after[after.length - 1] : null });
  const columns = [
    { label: t("deals.name"), cell: (o) => html`<${Link} to=${`/deals/${encodeURIComponent(o.id)}`}>${o.name}</${Link}>` },
    { label: t("deals.customer"), cell: (o) => (o.account ? o.account.name : "—") },
    { label: t("deals.stage"), cell: (o) => html`<${Badge} group="stage" value=${o.stage} />` },
    { label: t("common.amount"), numeric: true, cell: (o) => html`<${Money} value=${o.amount} />` },
    { label: t("deals.close_date"), cell: (o) => html`<${DateText} value=${o.closeDate} />` },
    ...(viewer.isDistributor ? [{ label: t("common.dealer"), cell: (o) => o.partners.map((p) => p.organization.name).join(", ") || "—" }] : []),
  ];
  return html`
    <${Page} title=${t("deals.title")}>
      <div class="filters card">
        <div class="field field-inline">
          <label for="deal-search">${t("common.search")}</label>
          <input id="deal-search" type="search" value=${filters.search} onInput=${(e) => set({ search: e.currentTarget.value })} />
        </div>
        <div class="field field-inline">
          <label for="deal-stage">${t("deals.stage")}</label>
          <select id="deal-stage" value=${filters.stage} onChange=${(e) => set({ stage: e.currentTarget.value })}>
            <option value="open">${t("deals.open")}</option>
            <option value="">${t("common.any")}</option>
            ${STAGES.map((s) => html`<option value=${s}>${t(`stage.${s}`)}</option>`)}
          </select>
        </div>
        <${DealerFilter} id="deal-dealer" value=${filters.partner} onChange=${(v) => set({ partner: v || "" })} />
        <div class="field field-inline">
          <label for="deal-from">${t("deals.closing_from")}</label>
          <input id="deal-from" type="date" value=${filters.closeFrom} onInput=${(e) => set({ closeFrom: e.currentTarget.value })} />
        </div>
        <div class="field field-inline">
          <label for="deal-to">${t("deals.closing_to")}</label>
          <input id="deal-to" type="date" value=${filters.closeTo} onInput=${(e) => set({ closeTo: e.currentTarget.value })} />
        </div>
        <div class="field field-inline">
          <label for="deal-sort">${t("deals.sort")}</label>
          <select id="deal-sort" value=${filters.sort} onChange=${(e) => set({ sort: e.currentTarget.value })}>
            ${["CLOSE_DATE", "AMOUNT", "UPDATED_AT", "NAME"].map((s) => html`<option value=${s}>${t(`deals.sort_${s}`)}</option>`)}
          </select>
        </div>
        <${SavedViews} filters=${filters} onApply=${(f) => { setFilters(f); setAfter([]); }} />
      </div>
      <${Loaded} query=${query}>
        ${(data) => html`
          <p class="count-line">${t("common.count", { count: data.opportunities.totalCount })}</p>
          <${Table} caption=${t("deals.title")} columns=${columns} rows=${data.opportunities.edges.map((e) => e.node)} empty=${t("deals.none")} />
          <div class="pager">
            ${after.length ? html`<button type="button" class="secondary" onClick=${() => setAfter(after.slice(0, -1))}>${t("common.previous")}</button>` : null}
            ${data.opportunities.pageInfo.hasNextPage
              ? html`<button type="button" class="secondary" onClick=${() => setAfter([...after, data.opportunities.pageInfo.endCursor])}>${t("common.next")}</button>`
              : null}
          </div>
        `}
      </${Loaded}>
    </${Page}>
  `;
}

const DEAL = `query Deal($id: ID!) {
  node(id: $id) { ... on Opportunity {
    id version name stage probability forecastCategory closeDate isClosed createdAt updatedAt
    amount { amount currency } account { id name } owner { id name }
    team { salesRole access joinedAt user { id name } }
    partners { role organization { id name } }
    activities(first: 30) { totalCount edges { node { id kind subject notes occurredAt dueAt done isOverdue owner { id name } assignee { id name } } } }
  } }
  access: explainAccess(recordId: $id) { canEdit editableFieldGroups }
  quotes(opportunityId: $id, first: 10) { edges { node { id number version status validUntil total { amount currency } } } }
}`;
const UPDATE = `mutation UpdateDeal($input: UpdateOpportunityInput!) { updateOpportunity(input: $input) { opportunity { id version } errors { field code message } } }`;
const MOVE = `mutation MoveDeal($input: MoveOpportunityStageInput!) { moveOpportunityStage(input: $input) { opportunity { id stage } errors { field code message } } }`;
const LOG = `mutation Log($input: LogActivityInput!) { logActivity(input: $input) { activity { id } errors { field code message } } }`;
const COMPLETE = `mutation Complete($id: ID!) { completeTask(id: $id) { activity { id done } errors { field code message } } }`;

/** The deal's fields: those the viewer may change in a form, the rest read-only, saying so. */
function DealFields({ deal, groups, onSaved }) {
  const canDetails = groups.includes("DETAILS");
  const canCommercial = groups.includes("COMMERCIAL");
  const canStage = groups.includes("STAGE") && !deal.isClosed;
  const [draft, update, clear] = useDraft(`deal.${deal.id}`, {
    name: deal.name, amount: deal.amount.amount, closeDate: deal.closeDate || "", probability: String(deal.probability), stage: deal.stage, reason: "",
  });
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const labels = { name: t("deals.name"), amount: t("common.amount"), closeDate: t("deals.close_date"), probability: t("deals.probability"), stage: t("deals.stage"), reason: t("common.reason") };
  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      // The version read with the deal: a change someone saved meanwhile is refused (CONFLICT), never overwritten.
      let version = deal.version;
      const input = { id: deal.id, expectedVersion: version };
      if (canDetails && draft.name !== deal.name) input.name = draft.name;
      if (canCommercial && draft.amount !== deal.amount.amount) input.amount = draft.amount;
      if (canCommercial && draft.closeDate !== (deal.closeDate || "")) input.closeDate = draft.closeDate || null;
      if (canCommercial && draft.probability !== String(deal.probability)) input.probability = Number.parseInt(draft.probability, 10);
      if (Object.keys(input).length > 2) {
        const saved = await mutate("updateOpportunity", UPDATE, { input });
        if (saved.opportunity) version = saved.opportunity.version;
      }
      if (canStage && draft.stage !== deal.stage) await mutate("moveOpportunityStage", MOVE, { input: { id: deal.id, stage: draft.stage, reason: draft.reason.trim() || null, expectedVersion: version } });
      clear();
      onSaved(t("deals.saved"));
    } catch (exc) {
      setError(exc);
    } finally {
      setBusy(false);
    }
  }
  const errors = fieldErrors(error, labels);
  const readOnly = (label, value) => html`<div class="field read-only"><span class="label">${label}</span><span class="value">${value}</span><span class="hint">${t("deals.read_only")}</span></div>`;
  if (!canDetails && !canCommercial && !canStage) {
    return html`
      <p class="hint">${t("deals.all_read_only")}</p>
      <${Facts} items=${[
        [labels.name, deal.name],
        [labels.amount, html`<${Money} value=${deal.amount} />`],
        [labels.closeDate, html`<${DateText} value=${deal.closeDate} />`],
        [labels.probability, formatPercent(deal.probability / 100)],
        [labels.stage, html`<${Badge} group="stage" value=${deal.stage} />`],
      ]} />
    `;
  }
  return html`
    <form class="stack" onSubmit=${submit} novalidate>
      ${error ? html`<${ErrorNotice} error=${error} />` : null}
      ${canDetails
        ? html`<${Field} label=${labels.name} error=${errors.name}>${(a) => html`<input ...${a} value=${draft.name} onInput=${(e) => update({ name: e.currentTarget.value })} />`}</${Field}>`
        : readOnly(labels.name, deal.name)}
      <div class="row">
        ${canCommercial
          ? html`
              <${Field} label=${`${labels.amount} (${deal.amount.currency})`} error=${errors.amount}>${(a) => html`<input ...${a} inputmode="decimal" value=${draft.amount} onInput=${(e) => update({ amount: e.currentTarget.value })} />`}</${Field}>
              <${Field} label=${labels.closeDate} error=${errors.closeDate}>${(a) => html`<input ...${a} type="date" value=${draft.closeDate} onInput=${(e) => update({ closeDate: e.currentTarget.value })} />`}</${Field}>
              <${Field} label=${labels.probability} error=${errors.probability}>${(a) => html`<input ...${a} type="number" min="0" max="100" value=${draft.probability} onInput=${(e) => update({ probability: e.currentTarget.value })} />`}</${Field}>`
          : html`${readOnly(labels.amount, html`<${Money} value=${deal.amount} />`)}${readOnly(labels.closeDate, html`<${DateText} value=${deal.closeDate} />`)}${readOnly(labels.probability, formatPercent(deal.probability / 100))}`}
      </div>
      ${canStage
        ? html`<div class="row">
            <${Field} label=${labels.stage} error=${errors.stage}>
              ${(a) => html`<select ...${a} value=${draft.stage} onChange=${(e) => update({ stage: e.currentTarget.value })}>${STAGES.map((s) => html`<option value=${s}>${t(`stage.${s}`)}</option>`)}</select>`}
            </${Field}>
            <${Field} label=${labels.reason} hint=${t("deals.stage_reason_hint")} error=${errors.reason}>${(a) => html`<input ...${a} value=${draft.reason} onInput=${(e) => update({ reason: e.currentTarget.value })} />`}</${Field}>
          </div>`
        : readOnly(labels.stage, html`<${Badge} group="stage" value=${deal.stage} />`)}
      <div class="actions"><button type="submit" disabled=${busy}>${t("common.save")}</button></div>
    </form>
  `;
}

function LogActivity({ deal, onLogged }) {
  const [draft, update, clear] = useDraft(`activity.${deal.id}`, { kind: "CALL", subject: "", notes: "", dueAt: "" });
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const input = { kind: draft.kind, subject: draft.subject, opportunityId: deal.id, notes: draft.notes.trim() || null };
      if (draft.kind === "TASK" && draft.dueAt) input.dueAt = new Date(draft.dueAt).toISOString();
      await mutate("logActivity", LOG, { input });
      clear();
      onLogged(t("deals.activity_logged"));
    } catch (exc) {
      setError(exc);
    } finally {
      setBusy(false);
    }
  }
  const labels = { kind: t("deals.activity_kind"), subject: t("deals.subject"), notes: t("deals.notes"), dueAt: t("deals.due") };
  const errors = fieldErrors(error, labels);
  return html`
    <form class="stack" onSubmit=${submit} novalidate>
      ${error ? html`<${ErrorNotice} error=${error} />` : null}
      <div class="row">
        <${Field} label=${labels.kind}>${(a) => html`<select ...${a} value=${draft.kind} onChange=${(e) => update({ kind: e.currentTarget.value })}>${ACTIVITY_KINDS.map((k) => html`<option value=${k}>${t(`activity.${k}`)}</option>`)}</select>`}</${Field}>
        <${Field} label=${labels.subject} error=${errors.subject}>${(a) => html`<input ...${a} name="subject" required value=${draft.subject} onInput=${(e) => update({ subject: e.currentTarget.value })} />`}</${Field}>
        ${draft.kind === "TASK" ? html`<${Field} label=${labels.dueAt} error=${errors.dueAt}>${(a) => html`<input ...${a} type="datetime-local" value=${draft.dueAt} onInput=${(e) => update({ dueAt: e.currentTarget.value })} />`}</${Field}>` : null}
      </div>
      <${Field} label=${labels.notes} error=${errors.notes}>${(a) => html`<textarea ...${a} rows="2" value=${draft.notes} onInput=${(e) => update({ notes: e.currentTarget.value })}></textarea>`}</${Field}>
      <div class="actions"><button type="submit" disabled=${busy}>${t("deals.log")}</button></div>
    </form>
  `;
}

export function DealPage({ params }) {
  const viewer = useViewer();
  const query = useQuery(DEAL, { id: params.id });
  const [done, setDone] = useState(null);
  const [error, setError] = useState(null);
  function changed(message) {
    setDone(message);
    query.reload();
  }
  async function complete(task) {
    setError(null);
    try {
      await mutate("completeTask", COMPLETE, { id: task.id });
      changed(t("deals.task_done", { subject: task.subject }));
    } catch (exc) {
      setError(exc);
    }
  }
  return html`
    <${Loaded} query=${query}>
      ${(data) => {
        const deal = data.node;
        if (!deal) return html`<${Page} title=${t("error.not_found")}><p>${t("deals.gone")}</p><${Link} to="/deals">${t("deals.title")}</${Link}></${Page}>`;
        const activities = deal.activities.edges.map((e) => e.node);
        const tasks = activities.filter((a) => a.kind === "TASK");
        const others = activities.filter((a) => a.kind !== "TASK");
        const groups = (data.access && data.access.editableFieldGroups) || [];
        return html`
          <${Page} title=${deal.name} subtitle=${html`${deal.account ? deal.account.name : ""} · <${Badge} group="stage" value=${deal.stage} />`}>
            ${done ? html`<${Success}>${done}</${Success}>` : null}
            ${error ? html`<${ErrorNotice} error=${error} />` : null}
            <div class="grid">
              <${Section} id="deal-fields" title=${t("deals.details")}>
                <${DealFields} key=${deal.updatedAt} deal=${deal} groups=${groups} onSaved=${changed} />
                <${Facts} items=${[
                  [t("deals.owner"), deal.owner ? deal.owner.name : t("deals.owner_enterprise")],
                  [t("deals.forecast"), t(`forecast.${deal.forecastCategory}`)],
                  [t("common.updated"), html`<${DateText} value=${deal.updatedAt} time />`],
                ]} />
              </${Section}>
              <${Section} id="deal-team" title=${t("deals.team")}>
                <${Table} caption=${t("deals.team")} rowKey=${(m) => `${m.salesRole}-${m.user ? m.user.id : m.joinedAt}`} rows=${deal.team} empty=${t("deals.team_none")} columns=${[
                  { label: t("deals.member"), cell: (m) => (m.user ? m.user.name : t("deals.member_hidden")) },
                  { label: t("deals.role"), cell: (m) => t(`salesRole.${m.salesRole}`) },
                  { label: t("deals.access"), cell: (m) => t(`teamAccess.${m.access}`) },
                ]} />
                <h3>${t("deals.partners")}</h3>
                <ul class="list">${deal.partners.map((p) => html`<li>${p.organization.name} · ${t(`partnerRole.${p.role}`)}</li>`)}</ul>
              </${Section}>
            </div>
            <${Section} id="deal-tasks" title=${t("deals.tasks")}>
              <${Table} caption=${t("deals.tasks")} rows=${tasks} empty=${t("deals.tasks_none")} columns=${[
                { label: t("deals.subject"), cell: (a) => a.subject },
                { label: t("deals.due"), cell: (a) => html`<span class=${a.isOverdue ? "late" : ""}><${DateText} value=${a.dueAt} time /></span>` },
                { label: t("deals.assignee"), cell: (a) => (a.assignee || a.owner || { name: "—" }).name },
                { label: t("common.status"), cell: (a) => (a.done ? t("deals.task_is_done") : html`<button type="button" class="secondary small" onClick=${() => complete(a)}>${t("deals.complete")}<span class="visually-hidden"> ${a.subject}</span></button>`) },
              ]} />
            </${Section}>
            <${Section} id="deal-activities" title=${t("deals.activities")}>
              <${LogActivity} deal=${deal} onLogged=${changed} />
              <${Table} caption=${t("deals.activities")} rows=${others} empty=${t("deals.activities_none")} columns=${[
                { label: t("deals.when"), cell: (a) => html`<${DateText} value=${a.occurredAt} time />` },
                { label: t("deals.activity_kind"), cell: (a) => t(`activity.${a.kind}`) },
                { label: t("deals.subject"), cell: (a) => html`${a.subject}${a.notes ? html`<br /><span class="meta">${a.notes}</span>` : null}` },
                { label: t("deals.by"), cell: (a) => (a.owner ? a.owner.name : "—") },
              ]} />
            </${Section}>
            <${Section} id="deal-quotes" title=${t("deals.quotes")}>
              <${Table} caption=${t("deals.quotes")} rows=${data.quotes.edges.map((e) => e.node)} empty=${t("deals.quotes_none")} columns=${[
                { label: t("deals.quote"), cell: (q) => `${q.number} v${q.version}` },
                { label: t("common.status"), cell: (q) => html`<${Badge} group="quoteStatus" value=${q.status} />` },
                { label: t("common.total"), numeric: true, cell: (q) => html`<${Money} value=${q.total} />` },
                { label: t("deals.valid_until"), cell: (q) => html`<${DateText} value=${q.validUntil} />` },
              ]} />
            </${Section}>
          </${Page}>
        `;
      }}
    </${Loaded}>
  `;
}
