// Talks to the agent's API (doc/api.md). The browser is signed in by an HttpOnly session cookie
// (POST /login); fetch and EventSource send it on their own, so no token is kept in script reach.

/** An API error with the server's code and field list. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code ?? 'HTTP';
    this.fields = body?.error?.fields ?? [];
  }
}

let onUnauthorized = () => {};
/** Called on a 401 (the app shows the sign-in dialog). */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

/** GET or POST JSON; throws ApiError for non-2xx answers. */
export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin' };
  if (method !== 'GET') {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body ?? {});
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  if (res.status === 401 && path !== '/login') onUnauthorized();
  if (!res.ok) throw new ApiError(res.status, json);
  return json;
}

/** The URL of the event stream (the session cookie authenticates it). */
export function eventsUrl() {
  return '/events';
}
