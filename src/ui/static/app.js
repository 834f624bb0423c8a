// rbackup2 web UI entry: loads /status and the history, listens to /events (SSE) for live
// progress, refreshes every 30 s as a fallback, and wires the buttons and dialogs.
import { api, ApiError, eventsUrl, setUnauthorizedHandler } from './api.js';
import { $, openDialog } from './dom.js';
import { renderJobs, renderStatus } from './jobs.js';
import { loadHistory, PAGE_SIZE } from './history.js';
import { openEditor } from './editor.js';

const REFRESH_MS = 30_000;
const state = { status: null, history: { offset: 0, jobId: '' }, source: null };

function showError(err) {
  const banner = $('banner');
  banner.hidden = false;
  banner.textContent = err instanceof Error ? err.message : String(err);
}

const handlers = {
  async run(job) {
    try {
      await api('POST', `/jobs/${job.id}/run`, {});
    } catch (e) { showError(e); }
    await refresh();
  },
  async cancel(job) {
    try { await api('POST', `/runs/${job.runId}/cancel`, {}); } catch (e) { showError(e); }
    await refresh();
  },
  edit(job) { openEditor(job.id, refresh).catch(showError); },
  history(job) {
    state.history = { offset: 0, jobId: job.id };
    $('history-job').value = job.id;
    loadHistory(state.history).catch(showError);
    $('history-h').scrollIntoView({ behavior: 'smooth' });
  },
};

function render() {
  if (!state.status) return;
  renderStatus(state.status);
  renderJobs(state.status, handlers);
  const select = $('history-job');
  const current = select.value;
  select.replaceChildren(select.options[0], ...state.status.jobs.map((j) => Object.assign(document.createElement('option'), { value: j.id, textContent: j.name })));
  select.value = current;
}

/** Reloads status and the current history page. */
async function refresh() {
  if (state.source && state.source.readyState === EventSource.CLOSED) connect();
  try {
    state.status = await api('GET', '/status');
    render();
    await loadHistory(state.history);
  } catch (e) {
    if (e.status !== 401) showError(e);
  }
}

/** Applies one run.progress event to the matching job without a round trip. */
function onProgress(ev) {
  const data = JSON.parse(ev.data);
  const job = state.status?.jobs.find((j) => j.id === data.jobId);
  if (!job) return;
  job.running = true;
  job.progress = data.progress;
  const running = state.status.running.find((r) => r.jobId === data.jobId);
  if (running) running.progress = data.progress;
  else state.status.running.push({ jobId: data.jobId, runId: data.runId, startTime: new Date().toISOString(), progress: data.progress });
  renderJobs(state.status, handlers);
}

function connect() {
  state.source?.close();
  const source = new EventSource(eventsUrl());
  state.source = source;
  const live = $('live');
  source.addEventListener('open', () => { live.textContent = 'live'; live.classList.add('on'); });
  source.addEventListener('error', () => { live.textContent = 'reconnecting'; live.classList.remove('on'); });
  source.addEventListener('run.progress', onProgress);
  for (const name of ['run.started', 'run.finished', 'config.reloaded']) source.addEventListener(name, () => refresh());
}

function askLogin() {
  if ($('login-dialog').open) return;
  state.source?.close();
  openDialog($('login-dialog'));
}

function init() {
  setUnauthorizedHandler(askLogin);
  // The sign-in dialog cannot be dismissed with Escape: nothing works without a login.
  $('login-dialog').addEventListener('cancel', (ev) => ev.preventDefault());
  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    $('login-error').textContent = '';
    try {
      await api('POST', '/login', { password: $('login-password').value });
    } catch (e) {
      $('login-error').textContent = e instanceof ApiError && e.status === 401 ? 'Sign-in failed.' : (e.message ?? String(e));
      return;
    }
    $('login-password').value = '';
    $('login-dialog').close();
    connect();
    refresh();
  });
  $('logout').addEventListener('click', async () => {
    try { await api('POST', '/logout', {}); } catch (e) { showError(e); }
    askLogin();
  });
  $('new-job').addEventListener('click', () => openEditor(null, refresh).catch(showError));
  $('history-job').addEventListener('change', (ev) => { state.history = { offset: 0, jobId: ev.target.value }; loadHistory(state.history).catch(showError); });
  $('history-prev').addEventListener('click', () => { state.history.offset = Math.max(0, state.history.offset - PAGE_SIZE); loadHistory(state.history).catch(showError); });
  $('history-next').addEventListener('click', () => { state.history.offset += PAGE_SIZE; loadHistory(state.history).catch(showError); });
  window.addEventListener('beforeunload', () => state.source?.close());
  setInterval(refresh, REFRESH_MS);
  connect();
  refresh();
}

init();
