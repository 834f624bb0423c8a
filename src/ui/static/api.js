// Talks to the agent's API (doc/api.md). The API token, when the agent needs one, is asked for once
// and kept in sessionStorage (this tab only); EventSource cannot send headers, so /events gets it
// as ?token= (the only route that accepts that).
const TOKEN_KEY = 'rbackup2.token';

/** An API error with the server's code and field list. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code ?? 'HTTP';
    this.fields = body?.error?.fields ?? [];
  }
}

export function getToken() {
  return window.sessionStorage.getItem(TOKEN_KEY) ?? '';
}

export function setToken(token) {
  window.sessionStorage.setItem(TOKEN_KEY, token);
}

let onUnauthorized = () => {};
/** Called on a 401 (the app shows the token dialog). */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

/** GET or POST JSON; throws ApiError for non-2xx answers. */
export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers };
  if (method !== 'GET') {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body ?? {});
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  if (res.status === 401) onUnauthorized();
  if (!res.ok) throw new ApiError(res.status, json);
  return json;
}

/** The URL of the event stream (token in the query when one is set). */
export function eventsUrl() {
  const token = getToken();
  return token ? `/events?token=${encodeURIComponent(token)}` : '/events';
}
