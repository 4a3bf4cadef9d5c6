// Shared building blocks: page frame, messages, form fields, tables, money and dates.
import { useEffect, useRef, useState } from "preact/hooks";
import { describeError } from "./errors.js";
import { html } from "./html.js";
import { formatDate, formatDateTime, formatMoney, formatRelative, t } from "./i18n.js";

/** A page: its title (also the document's, and focused on arrival for screen readers) and its content. */
export function Page({ title, subtitle, actions, children }) {
  const heading = useRef(null);
  useEffect(() => {
    document.title = `${title} · ${t("app.name")}`;
    if (heading.current) heading.current.focus({ preventScroll: true });
  }, [title]);
  return html`
    <div class="page">
      <div class="page-head">
        <div>
          <h1 tabindex="-1" ref=${heading}>${title}</h1>
          ${subtitle ? html`<p class="subtitle">${subtitle}</p>` : null}
        </div>
        ${actions ? html`<div class="page-actions">${actions}</div>` : null}
      </div>
      ${children}
    </div>
  `;
}

export function Section({ title, id, children, actions }) {
  const headingId = id ? `${id}-title` : undefined;
  return html`
    <section class="card" aria-labelledby=${headingId} id=${id}>
      <div class="card-head">
        <h2 id=${headingId}>${title}</h2>
        ${actions || null}
      </div>
      ${children}
    </section>
  `;
}

export function Loading({ label }) {
  return html`<p class="loading" role="status">${label || t("common.loading")}</p>`;
}

/** A failure, said plainly, with a way to try again. */
export function ErrorNotice({ error, onRetry }) {
  const said = describeError(error);
  if (!said) return null;
  return html`
    <div class="notice notice-error" role="alert">
      <p>${said.message}</p>
      ${said.detail ? html`<p class="detail">${said.detail}</p>` : null}
      ${onRetry ? html`<button type="button" class="secondary" onClick=${onRetry}>${t("common.retry")}</button>` : null}
    </div>
  `;
}

export function Success({ children }) {
  return html`<div class="notice notice-success" role="status">${children}</div>`;
}

/** A query's state: loading, a failure, or its content. */
export function Loaded({ query, children }) {
  if (query.error && !query.data) return html`<${ErrorNotice} error=${query.error} onRetry=${query.reload} />`;
  if (!query.data) return html`<${Loading} />`;
  return html`${query.error ? html`<${ErrorNotice} error=${query.error} onRetry=${query.reload} />` : null}${children(query.data)}`;
}

let fieldCounter = 0;

/** A labelled form field with its hint and its error, wired for screen readers. */
export function Field({ label, hint, error, children, id }) {
  const [own] = useState(() => id || `field-${++fieldCounter}`);
  const hintId = hint ? `${own}-hint` : null;
  const errorId = error ? `${own}-error` : null;
  const describedBy = [hintId, errorId].filter(Boolean).join(" ") || undefined;
  const control = typeof children === "function" ? children({ id: own, "aria-describedby": describedBy, "aria-invalid": error ? "true" : undefined }) : children;
  return html`
    <div class=${`field${error ? " has-error" : ""}`}>
      <label for=${own}>${label}</label>
      ${control}
      ${hint ? html`<p class="hint" id=${hintId}>${hint}</p>` : null}
      ${error ? html`<p class="field-error" id=${errorId}>${error}</p>` : null}
    </div>
  `;
}

export function Money({ value }) {
  if (!value) return html`<span>—</span>`;
  return html`<span class="money">${formatMoney(value.amount, value.currency)}</span>`;
}

export function DateText({ value, time = false }) {
  if (!value) return html`<span>—</span>`;
  return html`<time datetime=${value}>${time ? formatDateTime(value) : formatDate(value)}</time>`;
}

/** A deadline: "in 5 hours", with the exact time for those who hover or read it out. */
export function TimeLeft({ value }) {
  if (!value) return html`<span>—</span>`;
  const overdue = new Date(value) < new Date();
  return html`<time class=${overdue ? "late" : ""} datetime=${value} title=${formatDateTime(value)}>${formatRelative(value)}</time>`;
}

/** A status as a coloured label, its text translated from an enum value. */
export function Badge({ group, value }) {
  if (!value) return null;
  return html`<span class=${`badge badge-${String(value).toLowerCase()}`}>${t(`${group}.${value}`)}</span>`;
}

/** A table that becomes a list of cards on a phone: each cell carries its column's name. */
export function Table({ caption, columns, rows, empty, rowKey = (row) => row.id }) {
  if (!rows.length) return html`<p class="empty">${empty || t("common.none")}</p>`;
  return html`
    <div class="table-wrap">
      <table>
        ${caption ? html`<caption class="visually-hidden">${caption}</caption>` : null}
        <thead>
          <tr>
            ${columns.map((c) => html`<th scope="col" class=${c.numeric ? "num" : ""}>${c.label}</th>`)}
          </tr>
        </thead>
        <tbody>
          ${rows.map(
            (row) => html`
              <tr key=${rowKey(row)}>
                ${columns.map((c) => html`<td data-label=${c.label} class=${c.numeric ? "num" : ""}>${c.cell(row)}</td>`)}
              </tr>
            `,
          )}
        </tbody>
      </table>
    </div>
  `;
}

/** A modal dialog (the browser's own <dialog>: focus is kept inside and Escape closes it). */
export function Dialog({ open, title, onClose, children }) {
  const ref = useRef(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  const titleId = useRef(`dialog-${++fieldCounter}`).current;
  return html`
    <dialog ref=${ref} aria-labelledby=${titleId} onClose=${() => onClose && onClose()}>
      <h2 id=${titleId}>${title}</h2>
      ${open ? children : null}
    </dialog>
  `;
}

/** Label/value pairs, e.g. a record's summary. */
export function Facts({ items }) {
  return html`
    <dl class="facts">
      ${items.filter(Boolean).map(([label, value]) => html`<div><dt>${label}</dt><dd>${value}</dd></div>`)}
    </dl>
  `;
}

/** A figure on the home page: a number with what it means. */
export function Tile({ label, value, note, tone }) {
  return html`
    <div class=${`tile${tone ? ` tile-${tone}` : ""}`}>
      <p class="tile-label">${label}</p>
      <p class="tile-value">${value}</p>
      ${note ? html`<p class="tile-note">${note}</p>` : null}
    </div>
  `;
}

export function Tabs({ tabs, current, onChange, label }) {
  return html`
    <div class="tabs" role="tablist" aria-label=${label}>
      ${tabs.map(
        (tab) => html`<button type="button" role="tab" aria-selected=${tab.id === current ? "true" : "false"} class=${tab.id === current ? "tab active" : "tab"} onClick=${() => onChange(tab.id)}>${tab.label}</button>`,
      )}
    </div>
  `;
}
