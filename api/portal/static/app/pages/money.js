// Money: what the partner has been billed, has paid, owes and is late with, by order and by customer.
import { useState } from "preact/hooks";
import { useQuery } from "../data.js";
import { html } from "../html.js";
import { t } from "../i18n.js";
import { Link } from "../router.js";
import { Loaded, Money, Page, Section, Table, Tile } from "../ui.js";
import { DealerFilter } from "../viewer.js";
import { erpState } from "./orders.js";

const MONEY = `query Money($partner: ID) {
  receivables(partnerId: $partner) { planned { amount currency } billed { amount currency } paid { amount currency } due { amount currency } overdue { amount currency } }
  byOrder: receivablesBreakdown(by: ORDER, partnerId: $partner, first: 50) {
    order { id number placedAt invoiceState account { id name } partner { id name } }
    receivables { billed { amount currency } paid { amount currency } due { amount currency } overdue { amount currency } }
  }
  byAccount: receivablesBreakdown(by: ACCOUNT, partnerId: $partner, first: 50) {
    account { id name } ownStock
    receivables { billed { amount currency } paid { amount currency } due { amount currency } overdue { amount currency } }
  }
}`;

const money = (key) => ({ label: t(`money.${key}`), numeric: true, cell: (row) => html`<${Money} value=${row.receivables[key]} />` });

export function MoneyPage() {
  const [partner, setPartner] = useState(null);
  const query = useQuery(MONEY, { partner });
  return html`
    <${Page} title=${t("money.title")}>
      <p class="hint">${t("money.intro")}</p>
      <div class="filters"><${DealerFilter} id="money-dealer" value=${partner} onChange=${setPartner} /></div>
      <${Loaded} query=${query}>
        ${(data) => html`
          ${data.receivables.length === 0 ? html`<p class="empty">${t("money.none")}</p>` : null}
          ${data.receivables.map(
            (r) => html`
              <div class="tiles">
                <${Tile} label=${t("money.billed")} value=${html`<${Money} value=${r.billed} />`} />
                <${Tile} label=${t("money.paid")} value=${html`<${Money} value=${r.paid} />`} />
                <${Tile} label=${t("money.due")} value=${html`<${Money} value=${r.due} />`} />
                <${Tile} label=${t("money.overdue")} tone=${Number(r.overdue.amount) > 0 ? "alert" : null} value=${html`<${Money} value=${r.overdue} />`} />
              </div>
            `,
          )}
          <${Section} id="by-order" title=${t("money.by_order")}>
            <${Table} caption=${t("money.by_order")} rowKey=${(row) => `${row.order ? row.order.id : "x"}-${row.receivables.due.currency}`} rows=${data.byOrder.filter((row) => row.order)} empty=${t("money.none")} columns=${[
              { label: t("orders.number"), cell: (row) => html`<${Link} to=${`/orders/${encodeURIComponent(row.order.id)}`}>${row.order.number}</${Link}>` },
              { label: t("orders.customer"), cell: (row) => (row.order.account ? row.order.account.name : t("orders.own_stock")) },
              { label: t("orders.invoice"), cell: (row) => erpState("invoiceState", row.order.invoiceState) },
              money("billed"), money("paid"), money("due"), money("overdue"),
            ]} />
          </${Section}>
          <${Section} id="by-customer" title=${t("money.by_customer")}>
            <${Table} caption=${t("money.by_customer")} rowKey=${(row) => `${row.account ? row.account.id : "stock"}-${row.receivables.due.currency}`} rows=${data.byAccount.filter((row) => row.account || row.ownStock)} empty=${t("money.none")} columns=${[
              { label: t("orders.customer"), cell: (row) => (row.account ? row.account.name : t("orders.own_stock")) },
              money("billed"), money("paid"), money("due"), money("overdue"),
            ]} />
          </${Section}>
        `}
      </${Loaded}>
    </${Page}>
  `;
}
