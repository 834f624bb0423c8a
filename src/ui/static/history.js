// Run history (paged), the run detail dialog and the per-job chart of duration and data added.
import { api } from './api.js';
import { $, el, formatBytes, formatDuration, formatTime, openDialog, statusClass, statusLabel } from './dom.js';
import { drawChart } from './chart.js';

export const PAGE_SIZE = 10;

/** Loads one page of runs (state = {offset, jobId}) and renders rows, pager and chart. */
export async function loadHistory(state) {
  const q = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String(state.offset) });
  if (state.jobId) q.set('job_id', state.jobId);
  const page = await api('GET', `/runs?${q}`);
  $('history-rows').replaceChildren(...(page.runs.length ? page.runs.map(row) : [el('tr', {}, el('td', { colspan: '6' }, 'No runs yet.'))]));
  $('history-prev').disabled = state.offset === 0;
  $('history-next').disabled = !page.hasMore;
  $('history-page').textContent = page.runs.length ? `${state.offset + 1}–${state.offset + page.runs.length}` : '';
  const chart = $('chart');
  if (!state.jobId) { chart.hidden = true; return; }
  const recent = await api('GET', `/runs?${new URLSearchParams({ limit: '30', job_id: state.jobId })}`);
  const done = recent.runs.filter((r) => r.status !== 'running').reverse();
  chart.hidden = done.length === 0;
  $('chart-svg').replaceChildren(drawChart(done));
}

function row(r) {
  return el('tr', { dataset: { testid: `run-row-${r.id}`, status: r.status }, class: statusClass(r.status) },
    el('td', {}, formatTime(r.startTime)),
    el('td', {}, r.jobName ?? r.jobId),
    el('td', {}, el('span', { class: `badge ${statusClass(r.status)}` }, statusLabel(r.status))),
    el('td', {}, formatDuration(r.durationSeconds)),
    el('td', {}, formatBytes(r.dataAddedBytes)),
    el('td', {}, el('button', { type: 'button', dataset: { testid: `run-details-${r.id}` }, 'aria-label': `Details of run ${r.id}`, onclick: () => showRun(r.id) }, 'Details')),
  );
}

/** Opens the detail dialog of one run (errors, warnings, unreadable files, output tail). */
export async function showRun(id) {
  const d = await api('GET', `/runs/${id}`);
  const items = [
    ['Job', d.jobName ?? d.jobId], ['Status', statusLabel(d.status)], ['Triggered by', d.triggeredBy],
    ['Started', formatTime(d.startTime)], ['Finished', formatTime(d.endTime)], ['Duration', formatDuration(d.durationSeconds)],
    ['Snapshot', d.snapshotId ?? '–'], ['Files new / changed / unmodified', `${d.filesNew ?? '–'} / ${d.filesChanged ?? '–'} / ${d.filesUnmodified ?? '–'}`],
    ['Data added', formatBytes(d.dataAddedBytes)], ['Exit code', d.exitCode ?? '–'],
  ];
  if (d.errorMessage) items.push(['Error', d.errorMessage]);
  const list = (title, values, testid) => values.length
    ? [el('h3', {}, title), el('ul', { dataset: { testid } }, ...values.map((v) => el('li', {}, v)))]
    : [];
  $('run-dialog-h').textContent = `Run ${d.id}`;
  $('run-detail').replaceChildren(
    el('dl', { class: 'detail' }, ...items.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, String(v))])),
    ...list('Warnings', d.warnings, 'run-warnings'),
    ...list('Unreadable files', d.unreadablePaths, 'run-unreadable'),
    d.resticErrors ? el('details', {}, el('summary', {}, 'restic errors'), el('pre', { class: 'output' }, d.resticErrors)) : null,
    d.resticOutput ? el('details', {}, el('summary', {}, d.outputTruncated ? 'restic output (last part)' : 'restic output'), el('pre', { class: 'output' }, d.resticOutput)) : null,
  );
  openDialog($('run-dialog'));
}
