// Home: what needs the partner today.
import { useQuery } from "../data.js";
import { html } from "../html.js";
import { formatDateTime, formatMoney, isoDate, t } from "../i18n.js";
import { Link } from "../router.js";
import { Badge, DateText, Loaded, Money, Page, Section, Tile, TimeLeft } from "../ui.js";
import { useViewer } from "../viewer.js";

export const OPEN_STAGES = ["PROSPECTING", "QUALIFICATION", "SOLUTION", "PROPOSAL", "NEGOTIATION"];
const SOON_DAYS = 30;

const HOME = `query Home($monthStart: Date!, $monthEnd: Date!, $soon: DateTime!, $stages: [OpportunityStage!]) {
  offers: leads(status: OFFERED, first: 10) {
    totalCount edges { node { id companyName offerExpiresAt interests partner { id name } } }
  }
  expiring: dealRegistrations(status: APPROVED, protectionExpiresBefore: $soon, first: 10) {
    totalCount edges { node { id customerName protectionExpiresAt amount { amount currency } partner { id name } } }
  }
  closing: opportunities(first: 10, filter: { closeDateFrom: $monthStart, closeDateTo: $monthEnd, stages: $stages },
                         orderBy: { field: CLOSE_DATE, direction: ASC }) {
    totalCount edges { node { id name closeDate stage amount { amount currency } account { id name } } }
  }
  waiting: orders(status: SUBMITTED, first: 10) {
    totalCount edges { node { id number placedAt total { amount currency } sync { state error } partner { id name } } }
  }
  receivables { billed { amount currency } paid { amount currency } due { amount currency } overdue { amount currency } }
  myCredit { limit owed uninvoiced available currency asOf }
}`;

function monthBounds(today = new Date()) {
  const first = new Date(today.getFullYear(), today.getMonth(), 1);
  const last = new Date(today.getFullYear(), today.getMonth() + 1, 0);
  return { monthStart: isoDate(first), monthEnd: isoDate(last) };
}

function sumBy(rows, key) {
  return rows.map((r) => r[key]).filter((m) => m && Number(m.amount) !== 0);
}

function MoneyList({ values }) {
  if (!values.length) return formatMoney(0, null);
  return html`${values.map((m, i) => html`${i ? html`<br />` : null}${formatMoney(m.amount, m.currency)}`)}`;
}

function List({ items, render, empty }) {
  if (!items.length) return html`<p class="empty">${empty}</p>`;
  return html`<ul class="list">${items.map((item) => html`<li key=${item.id}>${render(item)}</li>`)}</ul>`;
}

export function HomePage() {
  const viewer = useViewer();
  const soon = new Date(Date.now() + SOON_DAYS * 86400 * 1000);
  soon.setMinutes(0, 0, 0); // a stable variable within the hour, so re-renders do not query again
  const query = useQuery(HOME, { ...monthBounds(), soon: soon.toISOString(), stages: OPEN_STAGES });
  return html`
    <${Page} title=${t("home.title")} subtitle=${t("home.greeting", { name: viewer.name })}>
      <${Loaded} query=${query}>
        ${(data) => {
          const nodes = (c) => c.edges.map((e) => e.node);
          const credit = data.myCredit;
          return html`
            <div class="tiles">
              <${Tile} label=${t("home.credit_available")} tone=${credit && Number(credit.available) <= 0 ? "warn" : null}
                value=${credit ? formatMoney(credit.available, credit.currency) : t("home.credit_unknown")}
                note=${credit ? t("home.credit_note", { limit: formatMoney(credit.limit, credit.currency), when: formatDateTime(credit.asOf) }) : t("home.credit_unknown_note")} />
              <${Tile} label=${t("home.due")} value=${html`<${MoneyList} values=${sumBy(data.receivables, "due")} />`} />
              <${Tile} label=${t("home.overdue")} tone=${sumBy(data.receivables, "overdue").length ? "alert" : null}
                value=${html`<${MoneyList} values=${sumBy(data.receivables, "overdue")} />`} />
              <${Tile} label=${t("home.offers_count")} value=${data.offers.totalCount} />
            </div>
            <div class="grid">
              <${Section} id="offers" title=${t("home.offers")} actions=${html`<${Link} to="/leads">${t("common.see_all")}</${Link}>`}>
                <${List} items=${nodes(data.offers)} empty=${t("home.offers_none")} render=${(lead) => html`
                  <${Link} to=${`/leads/${encodeURIComponent(lead.id)}`}>${lead.companyName}</${Link}>
                  <span class="meta">${t("home.answer_within")} <${TimeLeft} value=${lead.offerExpiresAt} />
                  ${viewer.isDistributor && lead.partner ? html` · ${lead.partner.name}` : null}</span>`} />
              </${Section}>
              <${Section} id="expiring" title=${t("home.expiring")} actions=${html`<${Link} to="/registrations">${t("common.see_all")}</${Link}>`}>
                <${List} items=${nodes(data.expiring)} empty=${t("home.expiring_none")} render=${(r) => html`
                  <${Link} to=${`/registrations/${encodeURIComponent(r.id)}`}>${r.customerName}</${Link}>
                  <span class="meta">${t("home.protection_ends")} <${TimeLeft} value=${r.protectionExpiresAt} />
                  ${viewer.isDistributor && r.partner ? html` · ${r.partner.name}` : null}</span>`} />
              </${Section}>
              <${Section} id="closing" title=${t("home.closing")} actions=${html`<${Link} to="/deals">${t("common.see_all")}</${Link}>`}>
                <${List} items=${nodes(data.closing)} empty=${t("home.closing_none")} render=${(o) => html`
                  <${Link} to=${`/deals/${encodeURIComponent(o.id)}`}>${o.name}</${Link}>
                  <span class="meta"><${Money} value=${o.amount} /> · <${DateText} value=${o.closeDate} /> · <${Badge} group="stage" value=${o.stage} />
                  ${o.account ? html` · ${o.account.name}` : null}</span>`} />
              </${Section}>
              <${Section} id="waiting" title=${t("home.waiting")} actions=${html`<${Link} to="/orders">${t("common.see_all")}</${Link}>`}>
                <${List} items=${nodes(data.waiting)} empty=${t("home.waiting_none")} render=${(o) => html`
                  <${Link} to=${`/orders/${encodeURIComponent(o.id)}`}>${o.number}</${Link}>
                  <span class="meta"><${Money} value=${o.total} /> · <${Badge} group="sync" value=${o.sync.state} />
                  ${viewer.isDistributor && o.partner ? html` · ${o.partner.name}` : null}</span>`} />
              </${Section}>
            </div>
            <p><${Link} to="/money">${t("home.see_money")}</${Link}></p>
          `;
        }}
      </${Loaded}>
    </${Page}>
  `;
}
