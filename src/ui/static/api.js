// Talks to the agent's API (doc/api.md). The browser is signed in by an HttpOnly session cookie
// (POST /login); fetch and EventSource send it on their own, so no token is kept in script reach.
// A request that cannot reach the agent (network error, or 502/504 from a proxy in front; 503 is the
// agent itself saying its database is down) marks it down (connection.js) and throws AgentDownError.
import { markDown, markUp } from './connection.js';

/** An API error with the server's code and field list. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code ?? 'HTTP';
    this.fields = body?.error?.fields ?? [];
  }
}

/** The agent could not be reached (stopped, restarting, network gone). */
export class AgentDownError extends Error {
  constructor() {
    super('The backup agent is not answering.');
  }
}

let onUnauthorized = () => {};
/** Called on a 401 (the app shows the sign-in dialog). */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

/** Bound of one request (ms): a hung agent counts as down instead of a spinner forever. */
const TIMEOUT_MS = 15_000;

/** GET or POST JSON; throws ApiError for non-2xx answers, AgentDownError when unreachable. */
export async function api(method, path, body, { timeoutMs = TIMEOUT_MS } = {}) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', signal: window.AbortSignal.timeout(timeoutMs) };
  if (method !== 'GET') {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body ?? {});
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    markDown();
    throw new AgentDownError();
  }
  if (res.status === 502 || res.status === 504) {
    markDown();
    throw new AgentDownError();
  }
  markUp();
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (res.status === 401 && path !== '/login') onUnauthorized();
  if (!res.ok) throw new ApiError(res.status, json);
  return json;
}

/** The URL of the event stream (the session cookie authenticates it). */
export function eventsUrl() {
  return '/events';
}
