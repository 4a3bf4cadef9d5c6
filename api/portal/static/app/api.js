// The portal's only way to the server: the sign-in endpoints and the public GraphQL API.
//
// The access token lives in this page's memory only. The refresh token is an httpOnly, SameSite=Strict
// cookie the page never sees; POST /auth/refresh with the X-CRM-CSRF header trades it for a new access
// token, at start-up (a reload keeps the session) and shortly before the access token expires.

const CSRF = { "X-CRM-CSRF": "1" };

/** A failure the user is shown: `kind` says what happened, `errors` holds a mutation's field errors. */
export class ApiError extends Error {
  constructor(kind, message, { code = null, field = null, errors = [], requestId = null, status = null } = {}) {
    super(message);
    this.kind = kind; // network | unauthenticated | forbidden | not_found | rate_limited | invalid | server
    this.code = code;
    this.field = field;
    this.errors = errors;
    this.requestId = requestId;
    this.status = status;
  }
}

const KIND_OF_CODE = {
  UNAUTHENTICATED: "unauthenticated",
  FORBIDDEN: "forbidden",
  NOT_FOUND: "not_found",
  RATE_LIMITED: "rate_limited",
  INVALID: "invalid",
  REQUIRED: "invalid",
  TOO_LONG: "invalid",
  OUT_OF_RANGE: "invalid",
  DUPLICATE: "invalid",
  CONFLICT: "invalid",
};

const session = { token: null, timer: null };
const listeners = { lost: new Set(), online: new Set() };

/** Subscribe to "the session ended" (the refresh token was refused). */
export function onSessionLost(callback) {
  listeners.lost.add(callback);
  return () => listeners.lost.delete(callback);
}

/** Subscribe to reachability changes: callback(true) when a request got through again, (false) when one failed. */
export function onReachability(callback) {
  listeners.online.add(callback);
  return () => listeners.online.delete(callback);
}

function reachable(value) {
  for (const callback of listeners.online) callback(value);
}

async function send(path, init) {
  let response;
  try {
    response = await fetch(path, { credentials: "same-origin", ...init });
  } catch (exc) {
    reachable(false);
    throw new ApiError("network", "The server cannot be reached.");
  }
  reachable(true);
  let body = null;
  try {
    body = await response.json();
  } catch (exc) {
    body = null;
  }
  return { response, body };
}

function authFailure(response, body) {
  const error = (body && body.error) || {};
  const kind = response.status === 429 ? "rate_limited" : KIND_OF_CODE[error.code] || (response.status >= 500 ? "server" : "invalid");
  return new ApiError(kind, error.message || `${response.status} ${response.statusText}`, {
    code: error.code || null,
    field: error.field || null,
    errors: error.errors || [],
    status: response.status,
    requestId: response.headers.get("X-Request-ID"),
  });
}

async function postAuth(path, payload, headers = {}) {
  const { response, body } = await send(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json", ...headers },
    body: JSON.stringify(payload),
  });
  if (!response.ok || body === null) throw authFailure(response, body);
  return body;
}

function startSession(tokens) {
  session.token = tokens.access_token;
  clearTimeout(session.timer);
  const lifetime = Number(tokens.expires_in) || 0;
  if (lifetime > 0) {
    // A minute (or a fifth of the lifetime, if shorter) before the access token expires.
    const early = Math.min(60, lifetime / 5);
    session.timer = setTimeout(() => refresh().catch(() => {}), (lifetime - early) * 1000);
  }
}

function endSession() {
  session.token = null;
  clearTimeout(session.timer);
}

export function signedIn() {
  return session.token !== null;
}

let refreshing = null;

/** Trade the refresh cookie for a fresh access token; ApiError("unauthenticated") when there is no session.
 * Concurrent callers share one request: the cookie rotates at every use, and spending it twice would look like
 * a stolen token to the server, which then ends the session. */
export function refresh() {
  if (refreshing === null) {
    refreshing = (async () => {
      try {
        startSession(await postAuth("/auth/refresh", {}, CSRF));
      } catch (exc) {
        if (exc.kind !== "network") {
          const had = session.token !== null;
          endSession();
          if (had) for (const callback of listeners.lost) callback();
        }
        throw exc;
      } finally {
        refreshing = null;
      }
    })();
  }
  return refreshing;
}

/** Sign in with a password: {done: true}, or {mfa: {...}} when a second factor (or enrolling one) is needed. */
export async function signIn(tenant, email, password) {
  const answer = await postAuth("/auth/login", { tenant, email, password });
  return finishStep(answer);
}

export async function secondFactor(mfaToken, code) {
  return finishStep(await postAuth("/auth/mfa", { mfa_token: mfaToken, code }));
}

function finishStep(answer) {
  if (answer.mfa_required) {
    return {
      done: false,
      mfa: {
        token: answer.mfa_token,
        enrolling: Boolean(answer.mfa_enrollment_required),
        secret: answer.totp_secret || null,
        uri: answer.otpauth_uri || null,
      },
    };
  }
  startSession(answer);
  return { done: true, recoveryCodes: answer.recovery_codes || null };
}

export async function signOut() {
  const had = session.token !== null;
  endSession();
  if (had) {
    try {
      await postAuth("/auth/logout", {}, CSRF);
    } catch (exc) {
      // The session is over here either way; the server's copy expires on its own.
    }
  }
}

/** Whether the tenant signs people in by its identity provider. */
export async function signInOptions(tenant) {
  const { response, body } = await send(`/auth/sign-in-options?tenant=${encodeURIComponent(tenant)}`, {
    headers: { Accept: "application/json" },
  });
  if (!response.ok || body === null) return { sso: false };
  return body;
}

export function ssoUrl(tenant, returnTo) {
  return `/auth/sso/${encodeURIComponent(tenant)}?return_to=${encodeURIComponent(returnTo)}`;
}

export async function requestPasswordReset(tenant, email) {
  return postAuth("/auth/password-reset", { tenant, email });
}

function graphqlFailure(error, response) {
  const extensions = error.extensions || {};
  return new ApiError(KIND_OF_CODE[extensions.code] || "server", error.message, {
    code: extensions.code || null,
    field: extensions.field || null,
    requestId: response.headers.get("X-Request-ID"),
    status: response.status,
  });
}

async function postGraphql(query, variables) {
  return send("/graphql", {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/graphql-response+json, application/json",
      Authorization: `Bearer ${session.token}`,
    },
    body: JSON.stringify({ query, variables }),
  });
}

/** Run a GraphQL operation; resolves to its data, rejects with an ApiError. Refreshes the token once on 401. */
export async function gql(query, variables = {}) {
  if (session.token === null) await refresh();
  let { response, body } = await postGraphql(query, variables);
  if (response.status === 401) {
    await refresh(); // rejects, and tells the listeners, when the session has ended
    ({ response, body } = await postGraphql(query, variables));
  }
  if (body === null) throw new ApiError("server", `${response.status} ${response.statusText}`, { status: response.status, requestId: response.headers.get("X-Request-ID") });
  const errors = body.errors || [];
  if (errors.length && (body.data === null || body.data === undefined || response.status >= 400)) {
    throw graphqlFailure(errors[0], response);
  }
  if (errors.length) {
    // Part of the data came back; a field the viewer may not read is null. Fail only for errors that matter.
    const serious = errors.find((e) => !["FORBIDDEN", "NOT_FOUND"].includes((e.extensions || {}).code));
    if (serious) throw graphqlFailure(serious, response);
  }
  return body.data;
}

/** Run a mutation and return its payload (data[name]); rejects with ApiError("invalid", …, {errors}) when the
 * payload lists errors, so a form can show each next to its field. */
export async function mutate(name, query, variables = {}) {
  const data = await gql(query, variables);
  const payload = data[name];
  if (payload && payload.errors && payload.errors.length) {
    const first = payload.errors[0];
    throw new ApiError(KIND_OF_CODE[first.code] || "invalid", first.message, {
      code: first.code,
      field: first.field,
      errors: payload.errors,
    });
  }
  return payload;
}
