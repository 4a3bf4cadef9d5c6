// Pages by path under /portal, with the History API: every page has its own address, deep links work.
import { useEffect, useState } from "preact/hooks";
import { html } from "./html.js";

export const BASE = "/portal";
const listeners = new Set();

export function currentPath() {
  const path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : "/";
  return path || "/";
}

export function navigate(path, { replace = false } = {}) {
  const target = BASE + path;
  if (target !== location.pathname + location.search) {
    if (replace) history.replaceState(null, "", target);
    else history.pushState(null, "", target);
  }
  for (const listener of listeners) listener();
  window.scrollTo(0, 0);
}

/** The current portal path ("/deals/…") and its query parameters, re-rendering on every navigation. */
export function useLocation() {
  const [, setTick] = useState(0);
  useEffect(() => {
    const update = () => setTick((n) => n + 1);
    listeners.add(update);
    window.addEventListener("popstate", update);
    return () => {
      listeners.delete(update);
      window.removeEventListener("popstate", update);
    };
  }, []);
  return { path: currentPath(), query: new URLSearchParams(location.search) };
}

/** Match "/deals/:id" against a path: the parameters, or null. */
export function match(pattern, path) {
  const want = pattern.split("/").filter(Boolean);
  const got = path.split("/").filter(Boolean);
  if (want.length !== got.length) return null;
  const params = {};
  for (let i = 0; i < want.length; i += 1) {
    if (want[i].startsWith(":")) params[want[i].slice(1)] = decodeURIComponent(got[i]);
    else if (want[i] !== got[i]) return null;
  }
  return params;
}

/** A link to a portal page that navigates without reloading (and opens in a new tab when asked to). */
export function Link({ to, children, ...rest }) {
  function onClick(event) {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  }
  return html`<a href=${BASE + to} onClick=${onClick} ...${rest}>${children}</a>`;
}
