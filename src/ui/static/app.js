// rbackup2 web UI entry: the tabs of PAGES (pages.js), the shared context the pages read and act
// through, GET /status refreshes, the /events stream (SSE) for live progress, and the agent-down
// state (connection.js). Times are re-rendered every TICK_MS so "in 3 min" never freezes.
// The hash names the page: `#<page>/<param>`, and `#runs/<id>` (the link in a notification,
// src/notify/links.ts) opens the History page with that run's details.
import { AgentDownError, api, ApiError, eventsUrl, setUnauthorizedHandler } from './api.js';
import { isDown, onChange, onReconnect } from './connection.js';
import { $, el, openDialog } from './dom.js';
import { confirmDialog, openEditor } from './editor.js';
import { showRun } from './page-history.js';
import { PAGES } from './pages.js';

const REFRESH_MS = 30_000;
const TICK_MS = 15_000;

/** What every page sees: the latest status, the open page, and the actions. */
const ctx = {
  status: null,
  page: 'overview',
  showError,
  refresh,
  go,
  openEditor: (jobId) => openEditor(jobId, ctx).catch(showError),
  async run(job) {
    try {
      await api('POST', `/jobs/${job.id}/run`, {});
    } catch (e) {
      showError(e);
    }
    await refresh();
  },
  async cancel(job) {
    // Asked first, as backrest does: a stray click would end a backup that may have run for hours.
    const stop = await confirmDialog(
      `Stop the backup of ${job.name}?`,
      'restic stops now and the run is recorded as cancelled; the next scheduled run or "Back up now" backs up again.',
      'Stop backup',
      'Keep backing up',
    );
    if (!stop) return;
    try {
      await api('POST', `/runs/${job.runId}/cancel`, {});
    } catch (e) {
      showError(e);
    }
    await refresh();
  },
};
let source = null;
/** The run a `#runs/<id>` link asked for, until its details have been shown (it waits for a sign-in). */
let pendingRun = null;

function showError(err) {
  if (err instanceof AgentDownError) return; // the agent-down banner says it
  if (err instanceof ApiError && err.status === 401) return; // the sign-in dialog says it
  const banner = $('banner');
  banner.hidden = false;
  banner.textContent = err instanceof Error ? err.message : String(err);
}

function renderBanner() {
  const s = ctx.status;
  const banner = $('banner');
  const msgs = [];
  if (s && !s.database.connected)
    msgs.push(
      'The database is unreachable: backups continue from the cached config and results are sent when it returns.',
    );
  if (s && !s.restic.ok) msgs.push('restic cannot be run; backups will fail until it is installed.');
  if (s?.settingProblems?.length)
    msgs.push(`Settings the agent cannot use (see Settings): ${s.settingProblems.join(' ')}`);
  banner.hidden = msgs.length === 0;
  banner.textContent = msgs.join(' ');
}

/**
 * GET /status `notifications` (src/notify/notifier-health.ts): when no notifier has held its lease
 * for a while, failures reach nobody; silence must not look like health, so the page says so.
 * Its own element, so an error shown in #banner never hides it.
 */
function renderNotifyBanner() {
  const n = ctx.status?.notifications;
  const banner = $('notify-banner');
  banner.hidden = !(n && n.delivering === false && n.message);
  if (banner.hidden) return;
  banner.textContent = `${n.message.charAt(0).toUpperCase()}${n.message.slice(1)}. Failed or stale backups are shown here and in the log, but nobody is told until a notifier runs again.`;
}

function render() {
  if (!ctx.status) return;
  $('device-name').textContent = ctx.status.device.name || ctx.status.device.id;
  document.title = `rbackup2 – ${ctx.status.device.name || ctx.status.device.id}`;
  renderBanner();
  renderNotifyBanner();
  for (const p of PAGES) p.update(ctx);
}

/** Reloads the status and re-renders every page. */
async function refresh() {
  try {
    ctx.status = await api('GET', '/status');
    render();
    if (!source || source.readyState === EventSource.CLOSED) connect();
  } catch (e) {
    showError(e);
  }
}

/** Opens page `id` (params = what follows the id in the hash, e.g. a job id). */
function go(id, params) {
  const page = PAGES.find((p) => p.id === id) ?? PAGES[0];
  ctx.page = page.id;
  const hash = `#${page.id}${params ? `/${params}` : ''}`;
  if (location.hash !== hash) window.history.replaceState(null, '', hash);
  for (const p of PAGES) {
    const on = p.id === page.id;
    $(`page-${p.id}`).hidden = !on;
    const tab = $(`tab-${p.id}`);
    tab.setAttribute('aria-selected', String(on));
    tab.tabIndex = on ? 0 : -1;
  }
  return page.show?.(ctx, params);
}

/** [page, param] of the hash; a leading slash is ignored (`#/runs/7`, the form of older links). */
function parseHash() {
  return location.hash.replace(/^#\/?/, '').split('/');
}

/** Shows the details of the run a link asked for; kept for after the sign-in when it needs one. */
function openPendingRun() {
  const id = pendingRun;
  if (!id) return;
  showRun(id).then(
    () => {
      if (pendingRun === id) pendingRun = null;
    },
    (e) => {
      if (e instanceof ApiError && e.status === 401) return; // opened again once signed in
      pendingRun = null;
      showError(e);
    },
  );
}

/** Opens what the hash names (`force`: even when that page is open already). */
function route(force) {
  const [id, param] = parseHash();
  if (id === 'runs' && /^\d+$/.test(param ?? '')) {
    pendingRun = param;
    go('history');
    openPendingRun();
    return;
  }
  if (force || id !== ctx.page) go(id || 'overview', param);
}

function mountPages() {
  const tabs = $('tabs');
  for (const p of PAGES) {
    tabs.append(
      el(
        'button',
        {
          type: 'button',
          role: 'tab',
          id: `tab-${p.id}`,
          'aria-controls': `page-${p.id}`,
          dataset: { testid: `tab-${p.id}` },
          onclick: () => go(p.id),
        },
        p.title,
      ),
    );
    const section = el('section', {
      id: `page-${p.id}`,
      role: 'tabpanel',
      'aria-labelledby': `tab-${p.id}`,
      class: 'page',
      hidden: true,
    });
    $('pages').append(section);
    p.mount(section, ctx);
  }
  // Arrow keys move between tabs (WAI-ARIA tabs pattern).
  tabs.addEventListener('keydown', (ev) => {
    if (ev.key !== 'ArrowRight' && ev.key !== 'ArrowLeft') return;
    const i = PAGES.findIndex((p) => p.id === ctx.page);
    const next = PAGES[(i + (ev.key === 'ArrowRight' ? 1 : PAGES.length - 1)) % PAGES.length];
    go(next.id);
    $(`tab-${next.id}`).focus();
  });
}

/** Applies one run.progress event to the matching job without a round trip. */
function onProgress(ev) {
  const data = JSON.parse(ev.data);
  // Other kinds (a restore) are not a job's backup: the page that started them follows them.
  if (data.operation && data.operation !== 'backup') {
    window.dispatchEvent(new window.CustomEvent('rbackup2:run', { detail: { type: 'run.progress', ...data } }));
    return;
  }
  const job = ctx.status?.jobs.find((j) => j.id === data.jobId);
  if (!job) return;
  job.running = true;
  job.progress = data.progress;
  const running = ctx.status.running.find((r) => r.jobId === data.jobId);
  if (running) running.progress = data.progress;
  else
    ctx.status.running.push({
      jobId: data.jobId,
      runId: data.runId,
      startTime: new Date().toISOString(),
      progress: data.progress,
    });
  PAGES.find((p) => p.id === 'overview')?.update({ ...ctx, page: 'overview-progress' });
}

function connect() {
  source?.close();
  source = new EventSource(eventsUrl());
  const live = $('live');
  source.addEventListener('open', () => {
    live.textContent = 'live';
    live.classList.add('on');
  });
  source.addEventListener('error', () => {
    live.classList.remove('on');
    live.textContent = isDown() ? 'agent not answering' : 'reconnecting';
    // Ask the agent directly: a stopped agent turns into the agent-down banner at once.
    api('GET', '/status').catch(() => {});
  });
  source.addEventListener('run.progress', onProgress);
  for (const name of ['run.started', 'run.finished', 'config.reloaded'])
    source.addEventListener(name, (ev) => {
      const data = ev.data ? JSON.parse(ev.data) : {};
      if (data.operation)
        window.dispatchEvent(new window.CustomEvent('rbackup2:run', { detail: { type: name, ...data } }));
      refresh();
    });
}

function askLogin() {
  if ($('login-dialog').open) return;
  source?.close();
  openDialog($('login-dialog'));
}

function init() {
  setUnauthorizedHandler(askLogin);
  onChange(render);
  onReconnect(() => {
    connect();
    refresh();
  });
  mountPages();
  // The sign-in dialog cannot be dismissed with Escape: nothing works without a login.
  $('login-dialog').addEventListener('cancel', (ev) => ev.preventDefault());
  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    $('login-error').textContent = '';
    try {
      await api('POST', '/login', { password: $('login-password').value });
    } catch (e) {
      $('login-error').textContent =
        e instanceof ApiError && e.status === 401 ? 'Sign-in failed.' : (e.message ?? String(e));
      return;
    }
    $('login-password').value = '';
    $('login-dialog').close();
    connect();
    refresh();
    openPendingRun();
  });
  $('logout').addEventListener('click', async () => {
    try {
      await api('POST', '/logout', {});
    } catch (e) {
      showError(e);
    }
    askLogin();
  });
  window.addEventListener('beforeunload', () => source?.close());
  window.addEventListener('hashchange', () => route(false));
  setInterval(() => {
    if (!isDown()) refresh();
  }, REFRESH_MS);
  setInterval(() => {
    if (ctx.status) for (const p of PAGES) if (p.id === 'overview') p.update(ctx);
  }, TICK_MS);
  route(true);
  connect();
  refresh();
}

init();
