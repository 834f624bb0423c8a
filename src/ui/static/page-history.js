// History page: the runs of one job or all (every operation kind), newest first, each with its
// snapshot id, data added, files, duration and status; a chart over time of data added and of the
// total size processed, with dated axes (uPlot, from npm: /ui/uplot.js); the run detail dialog.
import { api } from './api.js';
import {
  $,
  el,
  formatBytes,
  formatDuration,
  formatTime,
  openDialog,
  show,
  statusClass,
  statusLabel,
  statusSymbol,
  fill,
} from './dom.js';
import uPlot from './uplot.js';

export const PAGE_SIZE = 20;
/** Runs drawn in the chart (the API's page limit). */
const CHART_RUNS = 200;

const state = { offset: 0, jobId: '', plot: null, observer: null };

function badge(status) {
  return el(
    'span',
    { class: `badge ${statusClass(status)}` },
    el('span', { 'aria-hidden': 'true' }, `${statusSymbol(status)} `),
    statusLabel(status),
  );
}

function row(r) {
  return el(
    'tr',
    { dataset: { testid: `run-row-${r.id}`, status: r.status }, class: statusClass(r.status) },
    el('td', {}, formatTime(r.startTime)),
    el('td', {}, show(r.jobName ?? r.jobId)),
    el('td', {}, show(r.operation ?? 'backup')),
    el('td', {}, badge(r.status)),
    el(
      'td',
      { class: 'mono', dataset: { testid: `run-snapshot-${r.id}` }, title: r.snapshotId ?? '' },
      r.snapshotId ? r.snapshotId.slice(0, 8) : '–',
    ),
    el('td', { class: 'num' }, formatBytes(r.dataAddedBytes)),
    el('td', { class: 'num' }, show(r.totalFilesProcessed)),
    el('td', { class: 'num' }, formatDuration(r.durationSeconds)),
    el(
      'td',
      {},
      el(
        'button',
        {
          type: 'button',
          dataset: { testid: `run-details-${r.id}` },
          'aria-label': `Details of run ${r.id}`,
          onclick: () => showRun(r.id),
        },
        'Details',
      ),
    ),
  );
}

/**
 * Labels of the x axis, never two alike: ticks a day or more apart show the date; closer ones the
 * time (with seconds when under a minute apart: a first day's test runs), the date only on the
 * first and where the day changes. Also kept on the figure (data-xticks) so a test can read them.
 */
function dateLabels(u, splits) {
  const step = splits.length > 1 ? splits[1] - splits[0] : 0;
  const day = (d) => d.toLocaleDateString(undefined, { day: 'numeric', month: 'short' });
  const time = { hour: '2-digit', minute: '2-digit', ...(step < 60 ? { second: '2-digit' } : {}) };
  const labels = splits.map((s, i) => {
    const d = new Date(s * 1000);
    if (step >= 86400) return day(d);
    const newDay = i === 0 || day(d) !== day(new Date(splits[i - 1] * 1000));
    return `${newDay ? `${day(d)}, ` : ''}${d.toLocaleTimeString(undefined, time)}`;
  });
  $('chart').dataset.xticks = JSON.stringify(labels);
  return labels;
}

function drawChart(runs) {
  const figure = $('chart');
  const box = $('chart-plot');
  state.plot?.destroy();
  state.plot = null;
  const done = runs.filter((r) => r.status !== 'running' && r.startTime).reverse();
  figure.hidden = done.length === 0;
  if (done.length === 0) return;
  const xs = done.map((r) => Math.floor(new Date(r.startTime).getTime() / 1000));
  const added = done.map((r) => r.dataAddedBytes ?? null);
  const total = done.map((r) => r.totalBytesProcessed ?? null);
  const bytes = (u, vals) => vals.map((v) => formatBytes(v));
  const width = Math.max(280, box.clientWidth || figure.clientWidth || 600);
  state.plot = new uPlot(
    {
      width,
      height: 220,
      scales: { x: { time: true }, added: { auto: true }, total: { auto: true } },
      series: [
        { label: 'Started', value: (u, v) => (v == null ? '–' : formatTime(new Date(v * 1000).toISOString())) },
        {
          label: 'Data added',
          scale: 'added',
          stroke: '#1f5fbf',
          width: 2,
          fill: 'rgba(31,95,191,0.12)',
          points: { show: true },
          value: (u, v) => formatBytes(v),
        },
        {
          label: 'Total size processed',
          scale: 'total',
          stroke: '#c2410c',
          width: 2,
          dash: [6, 4],
          points: { show: true },
          value: (u, v) => formatBytes(v),
        },
      ],
      axes: [
        // 110 px between ticks: a label with its date ("Dec 2, 08:27:05 AM") fits without overlapping.
        { values: dateLabels, space: 110 },
        { scale: 'added', values: bytes, size: 70, label: 'Data added' },
        { scale: 'total', side: 1, values: bytes, size: 70, label: 'Total size', grid: { show: false } },
      ],
    },
    [xs, added, total],
    box,
  );
  figure.dataset.points = String(xs.length);
}

/** Loads one page of runs (state = {offset, jobId}) and renders rows, pager and chart. */
async function load() {
  const q = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String(state.offset) });
  if (state.jobId) q.set('job_id', state.jobId);
  const page = await api('GET', `/runs?${q}`);
  fill(
    $('history-rows'),
    ...(page.runs.length ? page.runs.map(row) : [el('tr', {}, el('td', { colspan: '9' }, 'No runs yet.'))]),
  );
  $('history-prev').disabled = state.offset === 0;
  $('history-next').disabled = !page.hasMore;
  $('history-page').textContent = page.runs.length ? `${state.offset + 1}–${state.offset + page.runs.length}` : '';
  const cq = new URLSearchParams({ limit: String(CHART_RUNS) });
  if (state.jobId) cq.set('job_id', state.jobId);
  drawChart((await api('GET', `/runs?${cq}`)).runs);
}

/** Opens the detail dialog of one run (errors, warnings, unreadable files, output tail). */
export async function showRun(id) {
  const d = await api('GET', `/runs/${id}`);
  const files = [d.filesNew, d.filesChanged, d.filesUnmodified].every((v) => v == null)
    ? '–'
    : `${show(d.filesNew)} new, ${show(d.filesChanged)} changed, ${show(d.filesUnmodified)} unchanged`;
  const items = [
    ['Job', show(d.jobName ?? d.jobId)],
    ['Operation', show(d.operation ?? 'backup')],
    ['Status', statusLabel(d.status)],
    ['Started by', show(d.triggeredBy)],
    ['Started', formatTime(d.startTime)],
    ['Finished', formatTime(d.endTime)],
    ['Duration', formatDuration(d.durationSeconds)],
    ['Snapshot', show(d.snapshotId)],
    ['Files', files],
    ['Files processed', show(d.totalFilesProcessed)],
    ['Size processed', formatBytes(d.totalBytesProcessed)],
    ['Data added', formatBytes(d.dataAddedBytes)],
    ['restic exit code', show(d.exitCode)],
  ];
  if (d.errorMessage) items.push(['Why it failed', d.errorMessage]);
  if (d.errorKind) items.push(['Kind of failure', d.errorKind.replaceAll('_', ' ')]);
  const list = (title, values, testid) =>
    values?.length
      ? [el('h3', {}, title), el('ul', { dataset: { testid } }, ...values.map((v) => el('li', {}, show(v))))]
      : [];
  $('run-dialog-h').textContent = `Run ${d.id}`;
  fill(
    $('run-detail'),
    el('dl', { class: 'detail' }, ...items.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)])),
    ...list('Warnings', d.warnings, 'run-warnings'),
    ...list('Unreadable files', d.unreadablePaths, 'run-unreadable'),
    d.resticErrors
      ? el('details', {}, el('summary', {}, 'restic errors'), el('pre', { class: 'output' }, d.resticErrors))
      : null,
    d.resticOutput
      ? el(
          'details',
          {},
          el('summary', {}, d.outputTruncated ? 'restic output (last part)' : 'restic output'),
          el('pre', { class: 'output' }, d.resticOutput),
        )
      : null,
  );
  openDialog($('run-dialog'));
}

export default {
  id: 'history',
  title: 'History',
  mount(root, ctx) {
    const select = el(
      'select',
      { id: 'history-job', dataset: { testid: 'history-job' } },
      el('option', { value: '' }, 'All jobs'),
    );
    select.addEventListener('change', () => ctx.go('history', select.value));
    const pager = (id, label, delta) =>
      el(
        'button',
        {
          type: 'button',
          id,
          dataset: { testid: id },
          onclick: () => {
            state.offset = Math.max(0, state.offset + delta);
            load().catch(ctx.showError);
          },
        },
        label,
      );
    root.append(
      el(
        'section',
        { class: 'panel', 'aria-labelledby': 'history-h' },
        el(
          'div',
          { class: 'panel-head' },
          el('h2', { id: 'history-h' }, 'Run history'),
          el('label', { for: 'history-job' }, 'Job '),
          select,
        ),
        el(
          'figure',
          { id: 'chart', class: 'chart', dataset: { testid: 'chart' }, hidden: true },
          el('figcaption', {}, 'Data added and total size processed per run, over time'),
          el('div', { id: 'chart-plot' }),
        ),
        el(
          'div',
          { class: 'table-wrap' },
          el(
            'table',
            { class: 'history', dataset: { testid: 'history' } },
            el(
              'thead',
              {},
              el(
                'tr',
                {},
                ...['Started', 'Job', 'Operation', 'Status', 'Snapshot', 'Added', 'Files', 'Duration'].map((h) =>
                  el('th', { scope: 'col' }, h),
                ),
                el('th', { scope: 'col' }, el('span', { class: 'sr-only' }, 'Details')),
              ),
            ),
            el('tbody', { id: 'history-rows' }),
          ),
        ),
        el(
          'nav',
          { class: 'pager', 'aria-label': 'History pages' },
          pager('history-prev', 'Newer', -PAGE_SIZE),
          el('span', { id: 'history-page', dataset: { testid: 'history-page' } }),
          pager('history-next', 'Older', PAGE_SIZE),
        ),
      ),
    );
    state.observer = new window.ResizeObserver(() => {
      const w = $('chart-plot').clientWidth;
      if (state.plot && w > 0 && Math.abs(w - state.plot.width) > 8)
        state.plot.setSize({ width: Math.max(280, w), height: 220 });
    });
    state.observer.observe($('chart-plot'));
  },
  update(ctx) {
    const select = $('history-job');
    const current = select.value;
    fill(select, select.options[0], ...(ctx.status?.jobs ?? []).map((j) => el('option', { value: j.id }, j.name)));
    select.value = current;
    if (ctx.page === 'history') load().catch(ctx.showError);
  },
  show(ctx, jobId) {
    state.jobId = jobId ?? '';
    state.offset = 0;
    $('history-job').value = state.jobId;
    return load().catch(ctx.showError);
  },
};
