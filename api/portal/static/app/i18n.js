// Languages: a message catalogue per language (i18n/*.json) and Intl for dates, numbers and money.

export const LANGUAGES = [
  { code: "en", name: "English" },
  { code: "zh-CN", name: "简体中文" },
];
const STORAGE_KEY = "crm.portal.language";

let language = "en";
let messages = {};
let english = {};

function preferred() {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (LANGUAGES.some((l) => l.code === saved)) return saved;
  const asked = new URLSearchParams(location.search).get("lang");
  if (LANGUAGES.some((l) => l.code === asked)) return asked;
  const browser = (navigator.languages || [navigator.language || "en"]).find((l) => /^(zh|en)/i.test(l)) || "en";
  return /^zh/i.test(browser) ? "zh-CN" : "en";
}

async function catalogue(code) {
  const response = await fetch(`/portal/static/i18n/${code}.json`, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`catalogue ${code}: ${response.status}`);
  return response.json();
}

/** Load the language to use (the saved choice, else the browser's) and the English fallback. */
export async function startLanguage() {
  english = await catalogue("en");
  await setLanguage(preferred(), { save: false });
}

/** Switch the language; every later `t` and formatter uses it. */
export async function setLanguage(code, { save = true } = {}) {
  messages = code === "en" ? english : await catalogue(code);
  language = code;
  document.documentElement.lang = code;
  if (save) localStorage.setItem(STORAGE_KEY, code);
}

export function currentLanguage() {
  return language;
}

/** The message for a key, with {name} placeholders filled from params. */
export function t(key, params) {
  let text = messages[key] ?? english[key];
  if (text === undefined) {
    console.warn(`missing message ${key}`);
    text = key;
  }
  if (params) text = text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
  return text;
}

/** Whether a key has a message (for optional, data-driven keys). */
export function has(key) {
  return key in messages || key in english;
}

// --- Formatting in the user's locale

function asDate(value) {
  if (value instanceof Date) return value;
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const [y, m, d] = value.split("-").map(Number);
    return new Date(y, m - 1, d); // a calendar date, not a moment: no time zone shift
  }
  return new Date(value);
}

export function formatMoney(amount, currency) {
  if (amount === null || amount === undefined) return "—";
  const value = Number(amount);
  if (!currency) return new Intl.NumberFormat(language, { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(value);
  return new Intl.NumberFormat(language, { style: "currency", currency }).format(value);
}

export function formatNumber(value, options) {
  if (value === null || value === undefined) return "—";
  return new Intl.NumberFormat(language, options).format(Number(value));
}

export function formatPercent(value) {
  if (value === null || value === undefined) return "—";
  return new Intl.NumberFormat(language, { style: "percent", maximumFractionDigits: 0 }).format(value);
}

export function formatDate(value) {
  if (!value) return "—";
  return new Intl.DateTimeFormat(language, { dateStyle: "medium" }).format(asDate(value));
}

export function formatDateTime(value) {
  if (!value) return "—";
  return new Intl.DateTimeFormat(language, { dateStyle: "medium", timeStyle: "short" }).format(asDate(value));
}

/** "in 5 hours", "3 days ago": the largest whole unit. */
export function formatRelative(value, now = new Date()) {
  if (!value) return "—";
  const seconds = (asDate(value).getTime() - now.getTime()) / 1000;
  const units = [
    ["day", 86400],
    ["hour", 3600],
    ["minute", 60],
  ];
  const rtf = new Intl.RelativeTimeFormat(language, { numeric: "auto" });
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return rtf.format(Math.trunc(seconds / size), unit);
  }
  return rtf.format(Math.trunc(seconds / 60), "minute");
}

/** Today as YYYY-MM-DD in the user's time zone. */
export function isoDate(date = new Date()) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}
