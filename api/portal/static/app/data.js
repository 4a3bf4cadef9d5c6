// Reading and changing data from components: GraphQL queries that reload when their inputs change, and
// drafts that keep what a person typed across reloads, lost connections and expired sessions.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { gql } from "./api.js";

/** Run a query now and whenever `variables` change: {data, error, loading, reload}. */
export function useQuery(query, variables = {}, { skip = false } = {}) {
  const key = JSON.stringify(variables);
  const [state, setState] = useState({ data: null, error: null, loading: !skip });
  const generation = useRef(0);
  const run = useCallback(async () => {
    if (skip) return;
    const mine = ++generation.current;
    setState((s) => ({ ...s, loading: true, error: null }));
    try {
      const data = await gql(query, JSON.parse(key));
      if (mine === generation.current) setState({ data, error: null, loading: false });
    } catch (error) {
      if (mine === generation.current) setState((s) => ({ data: s.data, error, loading: false }));
    }
  }, [query, key, skip]);
  useEffect(() => {
    run();
  }, [run]);
  return { ...state, reload: run };
}

const DRAFTS = "crm.portal.draft.";

/** A form's values, kept in this tab's session storage as they are typed, until `clear()` after success.
 * A reload, a lost connection or a sign-in again brings them back. */
export function useDraft(key, initial) {
  const storageKey = DRAFTS + key;
  const [values, setValues] = useState(() => {
    try {
      const saved = sessionStorage.getItem(storageKey);
      if (saved) return { ...initial, ...JSON.parse(saved) };
    } catch (exc) {
      // An unreadable draft is dropped.
    }
    return initial;
  });
  const update = useCallback(
    (changes) => {
      setValues((current) => {
        const next = { ...current, ...changes };
        try {
          sessionStorage.setItem(storageKey, JSON.stringify(next));
        } catch (exc) {
          // Storage full or off: the form still works, it just does not survive a reload.
        }
        return next;
      });
    },
    [storageKey],
  );
  const clear = useCallback(() => {
    sessionStorage.removeItem(storageKey);
    setValues(initial);
  }, [storageKey]);
  return [values, update, clear];
}

/** Forget every draft (signing out). */
export function clearDrafts() {
  for (const key of Object.keys(sessionStorage)) if (key.startsWith(DRAFTS)) sessionStorage.removeItem(key);
}

/** A value that settles `delay` ms after its last change (for checks while typing). */
export function useDebounced(value, delay = 350) {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), delay);
    return () => clearTimeout(timer);
  }, [value, delay]);
  return settled;
}
