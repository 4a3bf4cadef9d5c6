// Deal registration: the conflict pre-check while typing the customer, submitting, status and protection,
// asking for more protection time, and withdrawing.
import { useEffect, useState } from "preact/hooks";
import { gql, mutate } from "../api.js";
import { useDebounced, useDraft, useQuery } from "../data.js";
import { fieldErrors } from "../errors.js";
import { html } from "../html.js";
import { isoDate, t } from "../i18n.js";
import { Link, navigate } from "../router.js";
import { Badge, DateText, Dialog, ErrorNotice, Facts, Field, Loaded, Money, Page, Section, Success, Table, TimeLeft } from "../ui.js";
import { DealerFilter, useViewer } from "../viewer.js";

const STATUSES = ["SUBMITTED", "APPROVED", "REJECTED", "WITHDRAWN", "EXPIRED"];

const REGISTRATIONS = `query Registrations($status: RegistrationStatus, $partner: ID) {
  dealRegistrations(status: $status, partnerId: $partner, first: 50) {
    totalCount
    edges { node { id customerName status amount { amount currency } expectedCloseDate protectionExpiresAt submittedAt partner { id name } } }
  }
}`;

export function RegistrationsPage() {
  const viewer = useViewer();
  const [status, setStatus] = useState("");
  const [partner, setPartner] = useState(null);
  const query = useQuery(REGISTRATIONS, { status: status || null, partner });
  const columns = [
    { label: t("registrations.customer"), cell: (r) => html`<${Link} to=${`/registrations/${encodeURIComponent(r.id)}`}>${r.customerName}</${Link}>` },
    { label: t("common.amount"), numeric: true, cell: (r) => html`<${Money} value=${r.amount} />` },
    { label: t("common.status"), cell: (r) => html`<${Badge} group="regStatus" value=${r.status} />` },
    { label: t("registrations.protection_ends"), cell: (r) => (r.protectionExpiresAt ? html`<${TimeLeft} value=${r.protectionExpiresAt} />` : "—") },
    ...(viewer.isDistributor ? [{ label: t("common.dealer"), cell: (r) => (r.partner ? r.partner.name : "—") }] : []),
    { label: t("registrations.submitted"), cell: (r) => html`<${DateText} value=${r.submittedAt} />` },
  ];
  return html`
    <${Page} title=${t("registrations.title")} actions=${html`<${Link} class="button" to="/registrations/new">${t("registrations.new")}</${Link}>`}>
      <p class="hint">${t("registrations.intro")}</p>
      <div class="filters">
        <div class="field field-inline">
          <label for="reg-status">${t("common.status")}</label>
          <select id="reg-status" value=${status} onChange=${(e) => setStatus(e.currentTarget.value)}>
            <option value="">${t("common.any")}</option>
            ${STATUSES.map((s) => html`<option value=${s}>${t(`regStatus.${s}`)}</option>`)}
          </select>
        </div>
        <${DealerFilter} id="reg-dealer" value=${partner} onChange=${setPartner} />
      </div>
      <${Loaded} query=${query}>
        ${(data) => html`
          <p class="count-line">${t("common.count", { count: data.dealRegistrations.totalCount })}</p>
          <${Table} caption=${t("registrations.title")} columns=${columns} rows=${data.dealRegistrations.edges.map((e) => e.node)} empty=${t("registrations.none")} />
        `}
      </${Loaded}>
    </${Page}>
  `;
}

const PRECHECK = `query Precheck($name: String!, $taxId: String, $domain: String) {
  registrationPrecheck(customerName: $name, customerTaxId: $taxId, customerWebDomain: $domain) { conflict }
}`;
const SUBMIT = `mutation Submit($input: SubmitDealRegistrationInput!) {
  submitDealRegistration(input: $input) { dealRegistration { id } errors { field code message } }
}`;

/** While the customer is typed: would registering it meet a conflict? (Only yes or no: never whose.) */
function Precheck({ name, taxId, domain }) {
  const settled = useDebounced(JSON.stringify({ name: name.trim(), taxId: taxId.trim(), domain: domain.trim() }), 400);
  const [state, setState] = useState({ status: "idle" });
  useEffect(() => {
    const values = JSON.parse(settled);
    if (values.name.length < 2) {
      setState({ status: "idle" });
      return undefined;
    }
    let live = true;
    setState({ status: "checking" });
    gql(PRECHECK, { name: values.name, taxId: values.taxId || null, domain: values.domain || null })
      .then((data) => live && setState({ status: data.registrationPrecheck.conflict ? "conflict" : "clear" }))
      .catch((error) => live && setState({ status: "failed", error }));
    return () => {
      live = false;
    };
  }, [settled]);
  return html`
    <div class="precheck" aria-live="polite">
      ${state.status === "checking" ? html`<p class="hint">${t("registrations.checking")}</p>` : null}
      ${state.status === "conflict" ? html`<div class="notice notice-warn" id="precheck-conflict"><p><strong>${t("registrations.conflict_title")}</strong></p><p>${t("registrations.conflict_body")}</p></div>` : null}
      ${state.status === "clear" ? html`<p class="notice notice-success">${t("registrations.no_conflict")}</p>` : null}
      ${state.status === "failed" ? html`<${ErrorNotice} error=${state.error} />` : null}
    </div>
  `;
}

export function NewRegistrationPage() {
  const closing = new Date();
  closing.setDate(closing.getDate() + 90);
  const [draft, update, clear] = useDraft("new-registration", {
    customerName: "", customerTaxId: "", customerWebDomain: "", products: "", amount: "", currency: "CNY", expectedCloseDate: isoDate(closing), notes: "",
  });
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const labels = {
    customerName: t("registrations.customer"), customerTaxId: t("registrations.tax_id"), customerWebDomain: t("registrations.web_domain"),
    products: t("registrations.products"), amount: t("common.amount"), currency: t("common.currency"),
    expectedCloseDate: t("registrations.expected_close"), notes: t("registrations.notes"),
  };
  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const payload = await mutate("submitDealRegistration", SUBMIT, {
        input: {
          customerName: draft.customerName,
          customerTaxId: draft.customerTaxId.trim() || null,
          customerWebDomain: draft.customerWebDomain.trim() || null,
          products: draft.products.split(",").map((s) => s.trim()).filter(Boolean),
          amount: draft.amount.trim() || "0",
          currency: draft.currency,
          expectedCloseDate: draft.expectedCloseDate,
          notes: draft.notes.trim() || null,
        },
      });
      clear();
      navigate(payload.dealRegistration ? `/registrations/${encodeURIComponent(payload.dealRegistration.id)}?submitted=1` : "/registrations");
    } catch (exc) {
      setError(exc);
    } finally {
      setBusy(false);
    }
  }
  const errors = fieldErrors(error, labels);
  const input = (name, extra = {}) => (a) => html`<input ...${a} ...${extra} name=${name} value=${draft[name]} onInput=${(e) => update({ [name]: e.currentTarget.value })} />`;
  return html`
    <${Page} title=${t("registrations.new")}>
      <form class="card stack" onSubmit=${submit} novalidate>
        <p class="hint">${t("registrations.new_intro")}</p>
        ${error ? html`<${ErrorNotice} error=${error} />` : null}
        <${Field} label=${labels.customerName} error=${errors.customerName}>${input("customerName", { required: true, autocomplete: "off" })}</${Field}>
        <div class="row">
          <${Field} label=${labels.customerTaxId} hint=${t("registrations.tax_id_hint")} error=${errors.customerTaxId}>${input("customerTaxId", { autocomplete: "off" })}</${Field}>
          <${Field} label=${labels.customerWebDomain} error=${errors.customerWebDomain}>${input("customerWebDomain", { autocomplete: "off", placeholder: "example.com" })}</${Field}>
        </div>
        <${Precheck} name=${draft.customerName} taxId=${draft.customerTaxId} domain=${draft.customerWebDomain} />
        <${Field} label=${labels.products} hint=${t("registrations.products_hint")} error=${errors.products}>${input("products", { required: true })}</${Field}>
        <div class="row">
          <${Field} label=${labels.amount} error=${errors.amount}>${input("amount", { required: true, inputmode: "decimal" })}</${Field}>
          <${Field} label=${labels.currency} error=${errors.currency}>
            ${(a) => html`<input ...${a} name="currency" maxlength="3" required value=${draft.currency} onInput=${(e) => update({ currency: e.currentTarget.value.toUpperCase() })} />`}
          </${Field}>
          <${Field} label=${labels.expectedCloseDate} error=${errors.expectedCloseDate}>${input("expectedCloseDate", { type: "date", required: true })}</${Field}>
        </div>
        <${Field} label=${labels.notes} error=${errors.notes}>
          ${(a) => html`<textarea ...${a} rows="3" value=${draft.notes} onInput=${(e) => update({ notes: e.currentTarget.value })}></textarea>`}
        </${Field}>
        <div class="actions">
          <button type="submit" disabled=${busy}>${t("registrations.submit")}</button>
          <${Link} to="/registrations" class="button secondary">${t("common.cancel")}</${Link}>
        </div>
      </form>
    </${Page}>
  `;
}

const REGISTRATION = `query Registration($id: ID!) {
  node(id: $id) { ... on DealRegistration {
    id customerName customerTaxId customerWebDomain products amount { amount currency } expectedCloseDate notes status
    protectionExpiresAt decisionReason decidedAt extensionRequestedDays submittedAt
    partner { id name } submittedBy { id name } account { id name } opportunity { id name }
  } }
}`;
const EXTEND = `mutation Extend($input: RegistrationExtensionInput!) {
  requestRegistrationExtension(input: $input) { dealRegistration { id extensionRequestedDays } errors { field code message } }
}`;
const WITHDRAW = `mutation Withdraw($input: RegistrationReasonInput!) {
  withdrawDealRegistration(input: $input) { dealRegistration { id status } errors { field code message } }
}`;

function ExtensionDialog({ registration, onDone, onClose }) {
  const [draft, update, clear] = useDraft(`extend.${registration.id}`, { days: "30", reason: "" });
  const [error, setError] = useState(null);
  async function submit(event) {
    event.preventDefault();
    setError(null);
    try {
      await mutate("requestRegistrationExtension", EXTEND, { input: { id: registration.id, days: Number.parseInt(draft.days, 10) || 0, reason: draft.reason.trim() || null } });
      clear();
      onDone(t("registrations.extension_requested", { days: draft.days }));
    } catch (exc) {
      setError(exc);
    }
  }
  const errors = fieldErrors(error, { days: t("registrations.extension_days"), reason: t("common.reason") });
  return html`
    <${Dialog} open=${true} title=${t("registrations.extend_title")} onClose=${onClose}>
      <form class="stack" onSubmit=${submit} novalidate>
        ${error ? html`<${ErrorNotice} error=${error} />` : null}
        <${Field} label=${t("registrations.extension_days")} error=${errors.days}>
          ${(a) => html`<input ...${a} type="number" min="1" max="180" required value=${draft.days} onInput=${(e) => update({ days: e.currentTarget.value })} />`}
        </${Field}>
        <${Field} label=${t("common.reason")} error=${errors.reason}>
          ${(a) => html`<textarea ...${a} rows="3" value=${draft.reason} onInput=${(e) => update({ reason: e.currentTarget.value })}></textarea>`}
        </${Field}>
        <div class="actions"><button type="submit">${t("registrations.extend")}</button>
          <button type="button" class="secondary" onClick=${onClose}>${t("common.cancel")}</button></div>
      </form>
    </${Dialog}>
  `;
}

function WithdrawDialog({ registration, onDone, onClose }) {
  const [draft, update, clear] = useDraft(`withdraw.${registration.id}`, { reason: "" });
  const [error, setError] = useState(null);
  async function submit(event) {
    event.preventDefault();
    setError(null);
    try {
      await mutate("withdrawDealRegistration", WITHDRAW, { input: { id: registration.id, reason: draft.reason.trim() || null } });
      clear();
      onDone(t("registrations.withdrawn"));
    } catch (exc) {
      setError(exc);
    }
  }
  return html`
    <${Dialog} open=${true} title=${t("registrations.withdraw_title")} onClose=${onClose}>
      <form class="stack" onSubmit=${submit} novalidate>
        <p>${t("registrations.withdraw_intro")}</p>
        ${error ? html`<${ErrorNotice} error=${error} />` : null}
        <${Field} label=${t("common.reason")}>
          ${(a) => html`<textarea ...${a} rows="3" value=${draft.reason} onInput=${(e) => update({ reason: e.currentTarget.value })}></textarea>`}
        </${Field}>
        <div class="actions"><button type="submit" class="danger">${t("registrations.withdraw")}</button>
          <button type="button" class="secondary" onClick=${onClose}>${t("common.cancel")}</button></div>
      </form>
    </${Dialog}>
  `;
}

export function RegistrationPage({ params }) {
  const viewer = useViewer();
  const query = useQuery(REGISTRATION, { id: params.id });
  const [dialog, setDialog] = useState(null);
  const [done, setDone] = useState(new URLSearchParams(location.search).get("submitted") ? t("registrations.submitted_ok") : null);
  function finished(message) {
    setDialog(null);
    setDone(message);
    query.reload();
  }
  return html`
    <${Loaded} query=${query}>
      ${(data) => {
        const r = data.node;
        if (!r) return html`<${Page} title=${t("error.not_found")}><${Link} to="/registrations">${t("registrations.title")}</${Link}></${Page}>`;
        const open = r.status === "SUBMITTED" || r.status === "APPROVED";
        return html`
          <${Page} title=${r.customerName} subtitle=${html`<${Badge} group="regStatus" value=${r.status} />`}
            actions=${open
              ? html`${r.status === "APPROVED" ? html`<button type="button" class="secondary" onClick=${() => setDialog("extend")}>${t("registrations.extend")}</button>` : null}
                  <button type="button" class="secondary" onClick=${() => setDialog("withdraw")}>${t("registrations.withdraw")}</button>`
              : null}>
            ${done ? html`<${Success}>${done}</${Success}>` : null}
            <${Section} title=${t("registrations.protection")}>
              ${r.status === "APPROVED" && r.protectionExpiresAt
                ? html`<p class="lead-text">${t("registrations.protected_until")} <strong><${DateText} value=${r.protectionExpiresAt} /></strong> (<${TimeLeft} value=${r.protectionExpiresAt} />)</p>`
                : html`<p>${t(`registrations.status_help.${r.status}`)}</p>`}
              ${r.extensionRequestedDays ? html`<p>${t("registrations.extension_pending", { days: r.extensionRequestedDays })}</p>` : null}
              ${r.decisionReason ? html`<p>${t("registrations.decision")}: ${r.decisionReason}</p>` : null}
            </${Section}>
            <${Section} title=${t("registrations.details")}>
              <${Facts} items=${[
                [t("common.amount"), html`<${Money} value=${r.amount} />`],
                [t("registrations.products"), r.products.join(", ")],
                [t("registrations.expected_close"), html`<${DateText} value=${r.expectedCloseDate} />`],
                r.customerTaxId && [t("registrations.tax_id"), r.customerTaxId],
                r.customerWebDomain && [t("registrations.web_domain"), r.customerWebDomain],
                viewer.isDistributor && r.partner && [t("common.dealer"), r.partner.name],
                r.submittedBy && [t("registrations.submitted_by"), r.submittedBy.name],
                [t("registrations.submitted"), html`<${DateText} value=${r.submittedAt} time />`],
                r.opportunity && [t("registrations.deal"), html`<${Link} to=${`/deals/${encodeURIComponent(r.opportunity.id)}`}>${r.opportunity.name}</${Link}>`],
              ]} />
              ${r.notes ? html`<p class="message">${r.notes}</p>` : null}
            </${Section}>
            ${dialog === "extend" ? html`<${ExtensionDialog} registration=${r} onDone=${finished} onClose=${() => setDialog(null)} />` : null}
            ${dialog === "withdraw" ? html`<${WithdrawDialog} registration=${r} onDone=${finished} onClose=${() => setDialog(null)} />` : null}
          </${Page}>
        `;
      }}
    </${Loaded}>
  `;
}
