// Orders: their status as it comes back from the ERP, their lines and payment plan, and cancelling one while
// the ERP does not have it yet.
import { useState } from "preact/hooks";
import { mutate } from "../api.js";
import { useDraft, useQuery } from "../data.js";
import { fieldErrors } from "../errors.js";
import { html } from "../html.js";
import { has, t } from "../i18n.js";
import { Link } from "../router.js";
import { Badge, DateText, Dialog, ErrorNotice, Facts, Field, Loaded, Money, Page, Section, Success, Table } from "../ui.js";
import { DealerFilter, useViewer } from "../viewer.js";

const STATUSES = ["SUBMITTED", "CONFIRMED", "SHIPPED", "COMPLETED", "CANCELLED"];

const ORDERS = `query Orders($status: OrderStatus, $partner: ID, $after: String) {
  orders(status: $status, partnerId: $partner, first: 25, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id number status placedAt invoiceState total { amount currency } paid { amount currency }
                   sync { state } account { id name } partner { id name } } }
  }
}`;

/** The ERP's own words for invoice and shipment states, translated when we know them. */
export function erpState(group, value) {
  if (!value) return "—";
  const key = `${group}.${value}`;
  return has(key) ? t(key) : value;
}

export function OrdersPage() {
  const viewer = useViewer();
  const [status, setStatus] = useState("");
  const [partner, setPartner] = useState(null);
  const [after, setAfter] = useState([]);
  const query = useQuery(ORDERS, { status: status || null, partner, after: after.length ? after[after.length - 1] : null });
  const columns = [
    { label: t("orders.number"), cell: (o) => html`<${Link} to=${`/orders/${encodeURIComponent(o.id)}`}>${o.number}</${Link}>` },
    { label: t("orders.placed"), cell: (o) => html`<${DateText} value=${o.placedAt} />` },
    { label: t("orders.customer"), cell: (o) => (o.account ? o.account.name : t("orders.own_stock")) },
    ...(viewer.isDistributor ? [{ label: t("common.dealer"), cell: (o) => (o.partner ? o.partner.name : "—") }] : []),
    { label: t("common.status"), cell: (o) => html`<${Badge} group="orderStatus" value=${o.status} />` },
    { label: t("orders.erp"), cell: (o) => html`<${Badge} group="sync" value=${o.sync.state} />` },
    { label: t("orders.invoice"), cell: (o) => erpState("invoiceState", o.invoiceState) },
    { label: t("common.total"), numeric: true, cell: (o) => html`<${Money} value=${o.total} />` },
  ];
  return html`
    <${Page} title=${t("orders.title")} actions=${html`<${Link} class="button" to="/catalogue">${t("orders.new")}</${Link}>`}>
      <div class="filters">
        <div class="field field-inline">
          <label for="order-status">${t("common.status")}</label>
          <select id="order-status" value=${status} onChange=${(e) => { setStatus(e.currentTarget.value); setAfter([]); }}>
            <option value="">${t("common.any")}</option>
            ${STATUSES.map((s) => html`<option value=${s}>${t(`orderStatus.${s}`)}</option>`)}
          </select>
        </div>
        <${DealerFilter} id="order-dealer" value=${partner} onChange=${(v) => { setPartner(v); setAfter([]); }} />
      </div>
      <${Loaded} query=${query}>
        ${(data) => html`
          <p class="count-line">${t("common.count", { count: data.orders.totalCount })}</p>
          <${Table} caption=${t("orders.title")} columns=${columns} rows=${data.orders.edges.map((e) => e.node)} empty=${t("orders.none")} />
          <div class="pager">
            ${after.length ? html`<button type="button" class="secondary" onClick=${() => setAfter(after.slice(0, -1))}>${t("common.previous")}</button>` : null}
            ${data.orders.pageInfo.hasNextPage ? html`<button type="button" class="secondary" onClick=${() => setAfter([...after, data.orders.pageInfo.endCursor])}>${t("common.next")}</button>` : null}
          </div>
        `}
      </${Loaded}>
    </${Page}>
  `;
}

const ORDER = `query Order($id: ID!) {
  node(id: $id) { ... on Order {
    id number status placedAt invoiceState shipmentState cancellable
    total { amount currency } paid { amount currency }
    sync { state erpNumber erpState changedAt error }
    lines { productCode description quantity unitPrice { amount currency } netAmount { amount currency } }
    installments { sequence dueDate amount { amount currency } paid { amount currency } overdue }
    payments { amount { amount currency } receivedAt }
    account { id name } partner { id name }
  } }
}`;
const CANCEL = `mutation Cancel($id: ID!, $reason: String!) { cancelOrder(id: $id, reason: $reason) { order { id status } errors { field code message } } }`;

function CancelDialog({ order, onDone, onClose }) {
  const [draft, update, clear] = useDraft(`cancel.${order.id}`, { reason: "" });
  const [error, setError] = useState(null);
  async function submit(event) {
    event.preventDefault();
    setError(null);
    try {
      await mutate("cancelOrder", CANCEL, { id: order.id, reason: draft.reason });
      clear();
      onDone();
    } catch (exc) {
      setError(exc);
    }
  }
  const errors = fieldErrors(error, { reason: t("common.reason") });
  return html`
    <${Dialog} open=${true} title=${t("orders.cancel_title", { number: order.number })} onClose=${onClose}>
      <form class="stack" onSubmit=${submit} novalidate>
        <p>${t("orders.cancel_intro")}</p>
        ${error && !errors.reason ? html`<${ErrorNotice} error=${error} />` : null}
        <${Field} label=${t("common.reason")} error=${errors.reason}>
          ${(a) => html`<textarea ...${a} rows="3" required value=${draft.reason} onInput=${(e) => update({ reason: e.currentTarget.value })}></textarea>`}
        </${Field}>
        <div class="actions"><button type="submit" class="danger">${t("orders.cancel")}</button>
          <button type="button" class="secondary" onClick=${onClose}>${t("common.back")}</button></div>
      </form>
    </${Dialog}>
  `;
}

export function OrderPage({ params }) {
  const viewer = useViewer();
  const query = useQuery(ORDER, { id: params.id });
  const [cancelling, setCancelling] = useState(false);
  const [done, setDone] = useState(new URLSearchParams(location.search).get("placed") ? t("orders.placed_ok") : null);
  return html`
    <${Loaded} query=${query}>
      ${(data) => {
        const o = data.node;
        if (!o) return html`<${Page} title=${t("error.not_found")}><${Link} to="/orders">${t("orders.title")}</${Link}></${Page}>`;
        return html`
          <${Page} title=${t("orders.order_title", { number: o.number })} subtitle=${html`<${Badge} group="orderStatus" value=${o.status} />`}
            actions=${o.cancellable ? html`<button type="button" class="secondary" onClick=${() => setCancelling(true)}>${t("orders.cancel")}</button>` : null}>
            ${done ? html`<${Success}>${done}</${Success}>` : null}
            <div class="grid">
              <${Section} title=${t("orders.status_title")}>
                <${Facts} items=${[
                  [t("common.status"), html`<${Badge} group="orderStatus" value=${o.status} />`],
                  [t("orders.erp"), html`<${Badge} group="sync" value=${o.sync.state} /> <span class="meta">${t(`syncHelp.${o.sync.state}`)}</span>`],
                  o.sync.erpNumber && [t("orders.erp_number"), o.sync.erpNumber],
                  [t("orders.invoice"), erpState("invoiceState", o.invoiceState)],
                  [t("orders.shipment"), erpState("shipmentState", o.shipmentState)],
                  o.sync.changedAt && [t("orders.erp_changed"), html`<${DateText} value=${o.sync.changedAt} time />`],
                  [t("orders.placed"), html`<${DateText} value=${o.placedAt} time />`],
                  [t("orders.customer"), o.account ? o.account.name : t("orders.own_stock")],
                  viewer.isDistributor && o.partner && [t("common.dealer"), o.partner.name],
                ]} />
                ${o.sync.state === "FAILED" ? html`<div class="notice notice-warn"><p>${t("orders.erp_failed")}</p></div>` : null}
                ${!o.cancellable && o.status !== "CANCELLED" ? html`<p class="hint">${t("orders.not_cancellable")}</p>` : null}
              </${Section}>
              <${Section} title=${t("orders.money")}>
                <${Facts} items=${[[t("common.total"), html`<${Money} value=${o.total} />`], [t("money.paid"), html`<${Money} value=${o.paid} />`]]} />
                <h3>${t("orders.installments")}</h3>
                <${Table} caption=${t("orders.installments")} rowKey=${(i) => i.sequence} rows=${o.installments} empty=${t("orders.installments_none")} columns=${[
                  { label: t("orders.due_date"), cell: (i) => html`<span class=${i.overdue ? "late" : ""}><${DateText} value=${i.dueDate} /></span>` },
                  { label: t("common.amount"), numeric: true, cell: (i) => html`<${Money} value=${i.amount} />` },
                  { label: t("money.paid"), numeric: true, cell: (i) => html`<${Money} value=${i.paid} />` },
                  { label: t("common.status"), cell: (i) => (i.overdue ? html`<span class="badge badge-overdue">${t("money.overdue")}</span>` : Number(i.paid.amount) >= Number(i.amount.amount) ? t("orders.paid_in_full") : t("orders.open")) },
                ]} />
              </${Section}>
            </div>
            <${Section} title=${t("orders.lines")}>
              <${Table} caption=${t("orders.lines")} rowKey=${(l) => l.productCode} rows=${o.lines} columns=${[
                { label: t("catalogue.code"), cell: (l) => html`<code>${l.productCode}</code>` },
                { label: t("catalogue.product"), cell: (l) => l.description },
                { label: t("cart.quantity"), numeric: true, cell: (l) => l.quantity },
                { label: t("orders.unit_price"), numeric: true, cell: (l) => html`<${Money} value=${l.unitPrice} />` },
                { label: t("common.amount"), numeric: true, cell: (l) => html`<${Money} value=${l.netAmount} />` },
              ]} />
            </${Section}>
            ${cancelling
              ? html`<${CancelDialog} order=${o} onClose=${() => setCancelling(false)} onDone=${() => { setCancelling(false); setDone(t("orders.cancelled")); query.reload(); }} />`
              : null}
          </${Page}>
        `;
      }}
    </${Loaded}>
  `;
}
