// Ordering: the catalogue at the partner's own price, the cart, and placing the order within the credit the
// ERP gives (a refusal says why, in figures).
import { useState } from "preact/hooks";
import { mutate } from "../api.js";
import { addToCart, cartTotal, emptyCart, removeFromCart, setQuantity, useCart } from "../cart.js";
import { useDebounced, useDraft, useQuery } from "../data.js";
import { html } from "../html.js";
import { formatMoney, t } from "../i18n.js";
import { Link, navigate } from "../router.js";
import { ErrorNotice, Loaded, Money, Page, Section, Success, Table } from "../ui.js";

const PRODUCTS = `query Products($search: String) {
  products(search: $search, first: 50) { totalCount edges { node { id code name listPrice { amount currency } yourPrice { amount currency } } } }
}`;

function AddToCart({ product, onAdded }) {
  const [quantity, setQuantityValue] = useState("1");
  const id = `qty-${product.code}`;
  return html`
    <form class="inline-form" onSubmit=${(e) => { e.preventDefault(); if (Number(quantity) > 0) { addToCart(product, quantity); onAdded(product); setQuantityValue("1"); } }}>
      <label for=${id} class="visually-hidden">${t("catalogue.quantity_of", { name: product.name })}</label>
      <input id=${id} class="qty" type="number" min="1" step="1" value=${quantity} onInput=${(e) => setQuantityValue(e.currentTarget.value)} />
      <button type="submit" class="small">${t("catalogue.add")}<span class="visually-hidden"> ${product.name}</span></button>
    </form>
  `;
}

export function CataloguePage() {
  const [search, setSearch] = useState("");
  const settled = useDebounced(search.trim(), 300);
  const query = useQuery(PRODUCTS, { search: settled || null });
  const cart = useCart();
  const [added, setAdded] = useState(null);
  const columns = [
    { label: t("catalogue.code"), cell: (p) => html`<code>${p.code}</code>` },
    { label: t("catalogue.product"), cell: (p) => p.name },
    { label: t("catalogue.list_price"), numeric: true, cell: (p) => html`<${Money} value=${p.listPrice} />` },
    { label: t("catalogue.your_price"), numeric: true, cell: (p) => html`<strong><${Money} value=${p.yourPrice} /></strong>` },
    { label: t("catalogue.order"), cell: (p) => html`<${AddToCart} product=${p} onAdded=${setAdded} />` },
  ];
  return html`
    <${Page} title=${t("catalogue.title")} actions=${html`<${Link} class="button" to="/cart">${t("catalogue.go_to_cart", { count: cart.length })}</${Link}>`}>
      <p class="hint">${t("catalogue.intro")}</p>
      <div aria-live="polite">${added ? html`<${Success}>${t("catalogue.added", { name: added.name })} <${Link} to="/cart">${t("catalogue.view_cart")}</${Link}></${Success}>` : null}</div>
      <div class="filters">
        <div class="field field-inline">
          <label for="product-search">${t("common.search")}</label>
          <input id="product-search" type="search" value=${search} onInput=${(e) => setSearch(e.currentTarget.value)} />
        </div>
      </div>
      <${Loaded} query=${query}>
        ${(data) => html`<${Table} caption=${t("catalogue.title")} columns=${columns} rows=${data.products.edges.map((e) => e.node)} empty=${t("catalogue.none")} />`}
      </${Loaded}>
    </${Page}>
  `;
}

const CART = `query Cart { myCredit { available limit owed uninvoiced currency asOf } accounts(first: 100, orderBy: { field: NAME, direction: ASC }) { edges { node { id name } } } }`;
const PLACE = `mutation Place($input: PlacePartnerOrderInput!) {
  placePartnerOrder(input: $input) { order { id number } errors { field code message } }
}`;

function creditRefusal(error, total, credit) {
  if (!error || error.code !== "CREDIT_EXCEEDED" || error.field !== "lines" || !credit) return null;
  return t("cart.credit_refused", { total: formatMoney(total.amount, total.currency), available: formatMoney(Math.max(0, Number(credit.available)), credit.currency) });
}

export function CartPage() {
  const lines = useCart();
  const query = useQuery(CART);
  const [draft, update] = useDraft("cart", { accountId: "" });
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const totals = cartTotal(lines);
  async function place(event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const payload = await mutate("placePartnerOrder", PLACE, {
        input: { accountId: draft.accountId || null, lines: lines.map((l) => ({ productId: l.productId, quantity: l.quantity })) },
      });
      emptyCart();
      update({ accountId: "" });
      navigate(`/orders/${encodeURIComponent(payload.order.id)}?placed=1`);
    } catch (exc) {
      setError(exc);
      query.reload(); // the credit as the ERP just reported it
    } finally {
      setBusy(false);
    }
  }
  return html`
    <${Page} title=${t("cart.title")}>
      ${lines.length === 0
        ? html`<div class="card"><p>${t("cart.empty")}</p><${Link} class="button" to="/catalogue">${t("cart.browse")}</${Link}></div>`
        : html`
            <${Loaded} query=${query}>
              ${(data) => {
                const credit = data.myCredit;
                const total = totals[0] || { amount: "0", currency: credit ? credit.currency : null };
                const above = credit && totals.length === 1 && total.currency === credit.currency && Number(total.amount) > Number(credit.available);
                const refusal = creditRefusal(error, total, credit);
                return html`
                  <form class="stack" onSubmit=${place} novalidate>
                    <${Section} title=${t("cart.lines")}>
                      <${Table} caption=${t("cart.lines")} rowKey=${(l) => l.productId} rows=${lines} columns=${[
                        { label: t("catalogue.product"), cell: (l) => html`${l.name} <code>${l.code}</code>` },
                        { label: t("catalogue.your_price"), numeric: true, cell: (l) => html`<${Money} value=${l.unitPrice} />` },
                        { label: t("cart.quantity"), cell: (l) => html`<label class="visually-hidden" for=${`cart-${l.code}`}>${t("catalogue.quantity_of", { name: l.name })}</label>
                            <input id=${`cart-${l.code}`} class="qty" type="number" min="1" step="1" value=${l.quantity} onInput=${(e) => setQuantity(l.productId, e.currentTarget.value)} />` },
                        { label: t("common.amount"), numeric: true, cell: (l) => formatMoney(Number(l.unitPrice.amount) * Number(l.quantity || 0), l.unitPrice.currency) },
                        { label: t("common.actions"), cell: (l) => html`<button type="button" class="secondary small" onClick=${() => removeFromCart(l.productId)}>${t("cart.remove")}<span class="visually-hidden"> ${l.name}</span></button>` },
                      ]} />
                      <p class="total">${t("common.total")}: <strong>${totals.map((x) => formatMoney(x.amount, x.currency)).join(" + ")}</strong></p>
                    </${Section}>
                    <${Section} title=${t("cart.for_whom")}>
                      <div class="field">
                        <label for="cart-account">${t("cart.customer")}</label>
                        <select id="cart-account" value=${draft.accountId} onChange=${(e) => update({ accountId: e.currentTarget.value })}>
                          <option value="">${t("cart.own_stock")}</option>
                          ${data.accounts.edges.map((e) => html`<option value=${e.node.id}>${e.node.name}</option>`)}
                        </select>
                      </div>
                    </${Section}>
                    <${Section} title=${t("cart.credit")}>
                      ${credit
                        ? html`<p>${t("cart.credit_line", { available: formatMoney(credit.available, credit.currency), limit: formatMoney(credit.limit, credit.currency) })}</p>`
                        : html`<p>${t("cart.credit_unknown")}</p>`}
                      ${above ? html`<div class="notice notice-warn"><p>${t("cart.above_credit")}</p></div>` : null}
                    </${Section}>
                    ${refusal
                      ? html`<div class="notice notice-error" role="alert" id="credit-refusal"><p>${refusal}</p><p class="detail">${t("cart.credit_refused_help")}</p></div>`
                      : error ? html`<${ErrorNotice} error=${error} />` : null}
                    <div class="actions">
                      <button type="submit" disabled=${busy}>${busy ? t("common.working") : t("cart.place")}</button>
                      <${Link} class="button secondary" to="/catalogue">${t("cart.continue")}</${Link}>
                    </div>
                  </form>
                `;
              }}
            </${Loaded}>
          `}
    </${Page}>
  `;
}
