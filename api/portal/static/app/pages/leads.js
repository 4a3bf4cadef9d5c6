// Leads: offers to accept or decline in time, the partner's own leads, new leads and converting them to deals.
import { useState } from "preact/hooks";
import { mutate } from "../api.js";
import { useDraft, useQuery } from "../data.js";
import { fieldErrors } from "../errors.js";
import { html } from "../html.js";
import { isoDate, t } from "../i18n.js";
import { Link, navigate } from "../router.js";
import { Badge, DateText, Dialog, ErrorNotice, Facts, Field, Loaded, Page, Section, Success, Table, Tabs, TimeLeft } from "../ui.js";
import { DealerFilter, useViewer } from "../viewer.js";

const LEAD_STATUSES = ["NEW", "ASSIGNED", "OFFERED", "ACCEPTED", "UNROUTED", "CONVERTED", "MERGED", "DISQUALIFIED"];

const LEADS = `query Leads($status: LeadStatus, $partner: ID, $after: String) {
  leads(status: $status, partnerId: $partner, first: 25, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id companyName firstName lastName status offerExpiresAt interests createdAt partner { id name } owner { id name } } }
  }
}`;

const ACCEPT = `mutation Accept($id: ID!) { acceptLead(id: $id) { lead { id status } errors { field code message } } }`;
const DECLINE = `mutation Decline($input: DeclineLeadInput!) { declineLead(input: $input) { lead { id status } errors { field code message } } }`;

/** Decline an offered lead with the reason, in a dialog. */
function DeclineDialog({ lead, onDone, onClose }) {
  const [draft, update, clear] = useDraft(`decline.${lead.id}`, { reason: "" });
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await mutate("declineLead", DECLINE, { input: { id: lead.id, reason: draft.reason } });
      clear();
      onDone();
    } catch (exc) {
      setError(exc);
    } finally {
      setBusy(false);
    }
  }
  const errors = fieldErrors(error, { reason: t("leads.decline_reason") });
  return html`
    <${Dialog} open=${true} title=${t("leads.decline_title", { company: lead.companyName })} onClose=${onClose}>
      <form class="stack" onSubmit=${submit} novalidate>
        ${error && !errors.reason ? html`<${ErrorNotice} error=${error} />` : null}
        <${Field} label=${t("leads.decline_reason")} hint=${t("leads.decline_hint")} error=${errors.reason}>
          ${(a) => html`<textarea ...${a} name="reason" rows="3" required value=${draft.reason} onInput=${(e) => update({ reason: e.currentTarget.value })}></textarea>`}
        </${Field}>
        <div class="actions">
          <button type="submit" class="danger" disabled=${busy}>${t("leads.decline")}</button>
          <button type="button" class="secondary" onClick=${onClose}>${t("common.cancel")}</button>
        </div>
      </form>
    </${Dialog}>
  `;
}

function OfferActions({ lead, onChanged }) {
  const [declining, setDeclining] = useState(false);
  const [error, setError] = useState(null);
  async function accept() {
    setError(null);
    try {
      await mutate("acceptLead", ACCEPT, { id: lead.id });
      onChanged(t("leads.accepted", { company: lead.companyName }));
    } catch (exc) {
      setError(exc);
    }
  }
  return html`
    <div class="actions">
      <button type="button" onClick=${accept}>${t("leads.accept")}<span class="visually-hidden"> ${lead.companyName}</span></button>
      <button type="button" class="secondary" onClick=${() => setDeclining(true)}>${t("leads.decline")}<span class="visually-hidden"> ${lead.companyName}</span></button>
      ${error ? html`<${ErrorNotice} error=${error} />` : null}
      ${declining
        ? html`<${DeclineDialog} lead=${lead} onClose=${() => setDeclining(false)} onDone=${() => { setDeclining(false); onChanged(t("leads.declined", { company: lead.companyName })); }} />`
        : null}
    </div>
  `;
}

export function LeadsPage() {
  const viewer = useViewer();
  const [tab, setTab] = useState("offers");
  const [status, setStatus] = useState("");
  const [partner, setPartner] = useState(null);
  const [done, setDone] = useState(null);
  const variables = { status: tab === "offers" ? "OFFERED" : status || null, partner };
  const query = useQuery(LEADS, variables);
  function changed(message) {
    setDone(message);
    query.reload();
  }
  const columns = [
    { label: t("leads.company"), cell: (l) => html`<${Link} to=${`/leads/${encodeURIComponent(l.id)}`}>${l.companyName}</${Link}>` },
    { label: t("leads.contact"), cell: (l) => [l.firstName, l.lastName].filter(Boolean).join(" ") },
    { label: t("leads.interests"), cell: (l) => l.interests.join(", ") || "—" },
    ...(viewer.isDistributor ? [{ label: t("common.dealer"), cell: (l) => (l.partner ? l.partner.name : "—") }] : []),
    tab === "offers"
      ? { label: t("leads.answer_within"), cell: (l) => html`<${TimeLeft} value=${l.offerExpiresAt} />` }
      : { label: t("common.status"), cell: (l) => html`<${Badge} group="leadStatus" value=${l.status} />` },
    ...(tab === "offers" ? [{ label: t("common.actions"), cell: (l) => html`<${OfferActions} lead=${l} onChanged=${changed} />` }] : []),
  ];
  return html`
    <${Page} title=${t("leads.title")} actions=${html`<${Link} class="button" to="/leads/new">${t("leads.new")}</${Link}>`}>
      ${done ? html`<${Success}>${done}</${Success}>` : null}
      <${Tabs} label=${t("leads.title")} current=${tab} onChange=${(id) => { setTab(id); setDone(null); }}
        tabs=${[{ id: "offers", label: t("leads.tab_offers") }, { id: "all", label: t("leads.tab_all") }]} />
      <div class="filters">
        ${tab === "all"
          ? html`<div class="field field-inline">
              <label for="lead-status">${t("common.status")}</label>
              <select id="lead-status" value=${status} onChange=${(e) => setStatus(e.currentTarget.value)}>
                <option value="">${t("common.any")}</option>
                ${LEAD_STATUSES.map((s) => html`<option value=${s}>${t(`leadStatus.${s}`)}</option>`)}
              </select>
            </div>`
          : html`<p class="hint">${t("leads.offers_intro")}</p>`}
        <${DealerFilter} id="lead-dealer" value=${partner} onChange=${setPartner} />
      </div>
      <${Loaded} query=${query}>
        ${(data) => html`
          <p class="count-line">${t("common.count", { count: data.leads.totalCount })}</p>
          <${Table} caption=${t("leads.title")} columns=${columns} rows=${data.leads.edges.map((e) => e.node)}
            empty=${tab === "offers" ? t("leads.offers_none") : t("leads.none")} />
        `}
      </${Loaded}>
    </${Page}>
  `;
}

const LEAD = `query Lead($id: ID!) {
  node(id: $id) { ... on Lead {
    id companyName firstName lastName email phone title webDomain taxId interests message source sourceDetail status
    offerExpiresAt createdAt partner { id name } owner { id name }
    convertedAccount { id name } convertedOpportunity { id name }
  } }
}`;

const CONVERT = `mutation Convert($input: ConvertLeadInput!) {
  convertLead(input: $input) { lead { id status convertedOpportunity { id name } } errors { field code message } }
}`;

function ConvertForm({ lead, onConverted }) {
  const closing = new Date();
  closing.setDate(closing.getDate() + 90);
  const [draft, update, clear] = useDraft(`convert.${lead.id}`, {
    opportunityName: lead.companyName,
    amount: "",
    currency: "CNY",
    closeDate: isoDate(closing),
  });
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const payload = await mutate("convertLead", CONVERT, {
        input: { id: lead.id, opportunityName: draft.opportunityName, amount: draft.amount || "0", currency: draft.currency, closeDate: draft.closeDate },
      });
      clear();
      onConverted(payload.lead && payload.lead.convertedOpportunity);
    } catch (exc) {
      setError(exc);
    } finally {
      setBusy(false);
    }
  }
  const labels = { opportunityName: t("leads.deal_name"), amount: t("common.amount"), currency: t("common.currency"), closeDate: t("deals.close_date") };
  const errors = fieldErrors(error, labels);
  return html`
    <form class="stack" onSubmit=${submit} novalidate>
      ${error ? html`<${ErrorNotice} error=${error} />` : null}
      <${Field} label=${labels.opportunityName} error=${errors.opportunityName}>
        ${(a) => html`<input ...${a} value=${draft.opportunityName} onInput=${(e) => update({ opportunityName: e.currentTarget.value })} />`}
      </${Field}>
      <div class="row">
        <${Field} label=${labels.amount} error=${errors.amount}>
          ${(a) => html`<input ...${a} inputmode="decimal" required value=${draft.amount} onInput=${(e) => update({ amount: e.currentTarget.value })} />`}
        </${Field}>
        <${Field} label=${labels.currency} error=${errors.currency}>
          ${(a) => html`<input ...${a} maxlength="3" required value=${draft.currency} onInput=${(e) => update({ currency: e.currentTarget.value.toUpperCase() })} />`}
        </${Field}>
        <${Field} label=${labels.closeDate} error=${errors.closeDate}>
          ${(a) => html`<input ...${a} type="date" required value=${draft.closeDate} onInput=${(e) => update({ closeDate: e.currentTarget.value })} />`}
        </${Field}>
      </div>
      <div class="actions"><button type="submit" disabled=${busy}>${t("leads.convert")}</button></div>
    </form>
  `;
}

export function LeadPage({ params }) {
  const viewer = useViewer();
  const query = useQuery(LEAD, { id: params.id });
  const [done, setDone] = useState(null);
  return html`
    <${Loaded} query=${query}>
      ${(data) => {
        const lead = data.node;
        if (!lead) return html`<${Page} title=${t("error.not_found")}><p>${t("leads.gone")}</p><${Link} to="/leads">${t("leads.title")}</${Link}></${Page}>`;
        return html`
          <${Page} title=${lead.companyName} subtitle=${html`<${Badge} group="leadStatus" value=${lead.status} />`}>
            ${done ? html`<${Success}>${done}</${Success}>` : null}
            <${Section} title=${t("leads.details")}>
              <${Facts} items=${[
                [t("leads.contact"), [lead.firstName, lead.lastName].filter(Boolean).join(" ")],
                lead.title && [t("leads.job_title"), lead.title],
                lead.email && [t("common.email"), html`<a href=${`mailto:${lead.email}`}>${lead.email}</a>`],
                lead.phone && [t("leads.phone"), lead.phone],
                lead.webDomain && [t("leads.web"), lead.webDomain],
                [t("leads.interests"), lead.interests.join(", ") || "—"],
                [t("leads.source"), `${t(`leadSource.${lead.source}`)}${lead.sourceDetail ? ` · ${lead.sourceDetail}` : ""}`],
                viewer.isDistributor && lead.partner && [t("common.dealer"), lead.partner.name],
                lead.status === "OFFERED" && [t("leads.answer_within"), html`<${TimeLeft} value=${lead.offerExpiresAt} />`],
                [t("common.created"), html`<${DateText} value=${lead.createdAt} time />`],
              ]} />
              ${lead.message ? html`<p class="message">${lead.message}</p>` : null}
            </${Section}>
            ${lead.status === "OFFERED"
              ? html`<${Section} title=${t("leads.offer")}><p>${t("leads.offer_intro")}</p>
                  <${OfferActions} lead=${lead} onChanged=${(message) => { setDone(message); query.reload(); }} /></${Section}>`
              : null}
            ${["ACCEPTED", "ASSIGNED", "NEW"].includes(lead.status)
              ? html`<${Section} title=${t("leads.convert_title")}><p>${t("leads.convert_intro")}</p>
                  <${ConvertForm} lead=${lead} onConverted=${(deal) => (deal ? navigate(`/deals/${encodeURIComponent(deal.id)}`) : query.reload())} /></${Section}>`
              : null}
            ${lead.convertedOpportunity
              ? html`<p>${t("leads.converted_to")} <${Link} to=${`/deals/${encodeURIComponent(lead.convertedOpportunity.id)}`}>${lead.convertedOpportunity.name}</${Link}></p>`
              : null}
          </${Page}>
        `;
      }}
    </${Loaded}>
  `;
}

const CREATE = `mutation CreateLead($input: CreateLeadInput!) { createLead(input: $input) { lead { id } errors { field code message } } }`;
const EMPTY_LEAD = { companyName: "", firstName: "", lastName: "", email: "", phone: "", title: "", webDomain: "", interests: "", message: "" };

export function NewLeadPage() {
  const [draft, update, clear] = useDraft("new-lead", EMPTY_LEAD);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const labels = {
    companyName: t("leads.company"), firstName: t("leads.first_name"), lastName: t("leads.last_name"), email: t("common.email"),
    phone: t("leads.phone"), title: t("leads.job_title"), webDomain: t("leads.web"), interests: t("leads.interests"), message: t("leads.notes"),
  };
  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const input = {};
    for (const [key, value] of Object.entries(draft)) if (value.trim()) input[key] = value.trim();
    if (input.interests) input.interests = input.interests.split(",").map((s) => s.trim()).filter(Boolean);
    try {
      const payload = await mutate("createLead", CREATE, { input: { companyName: "", lastName: "", ...input } });
      clear();
      navigate(payload.lead ? `/leads/${encodeURIComponent(payload.lead.id)}` : "/leads");
    } catch (exc) {
      setError(exc);
    } finally {
      setBusy(false);
    }
  }
  const errors = fieldErrors(error, labels);
  const input = (name, extra = {}) => (a) => html`<input ...${a} ...${extra} name=${name} value=${draft[name]} onInput=${(e) => update({ [name]: e.currentTarget.value })} />`;
  return html`
    <${Page} title=${t("leads.new")}>
      <form class="card stack" onSubmit=${submit} novalidate>
        ${error ? html`<${ErrorNotice} error=${error} />` : null}
        <${Field} label=${labels.companyName} error=${errors.companyName}>${input("companyName", { required: true, autocomplete: "organization" })}</${Field}>
        <div class="row">
          <${Field} label=${labels.firstName} error=${errors.firstName}>${input("firstName", { autocomplete: "given-name" })}</${Field}>
          <${Field} label=${labels.lastName} error=${errors.lastName}>${input("lastName", { required: true, autocomplete: "family-name" })}</${Field}>
        </div>
        <div class="row">
          <${Field} label=${labels.email} error=${errors.email}>${input("email", { type: "email", autocomplete: "email" })}</${Field}>
          <${Field} label=${labels.phone} error=${errors.phone}>${input("phone", { type: "tel", autocomplete: "tel" })}</${Field}>
        </div>
        <div class="row">
          <${Field} label=${labels.title} error=${errors.title}>${input("title")}</${Field}>
          <${Field} label=${labels.webDomain} error=${errors.webDomain}>${input("webDomain")}</${Field}>
        </div>
        <${Field} label=${labels.interests} hint=${t("leads.interests_hint")} error=${errors.interests}>${input("interests")}</${Field}>
        <${Field} label=${labels.message} error=${errors.message}>
          ${(a) => html`<textarea ...${a} rows="3" value=${draft.message} onInput=${(e) => update({ message: e.currentTarget.value })}></textarea>`}
        </${Field}>
        <div class="actions"><button type="submit" disabled=${busy}>${t("leads.create")}</button>
          <${Link} to="/leads" class="button secondary">${t("common.cancel")}</${Link}></div>
      </form>
    </${Page}>
  `;
}
