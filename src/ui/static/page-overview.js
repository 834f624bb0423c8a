// Overview page: the agent's status, a one-line summary of all jobs, and a card per job with its
// last success, last attempt (with the reason in one line), next run or retry, and live progress.
import { isDown } from './connection.js';
import {
  $,
  el,
  formatBytes,
  formatDuration,
  formatRelative,
  formatShort,
  formatTime,
  statusClass,
  statusLabel,
  statusSymbol,
  fill,
} from './dom.js';

const OK = new Set(['success', 'partial']);

/** What a job is now: running, failing, ok, never (never ran) or disabled. */
export function jobState(j) {
  if (j.running) return j.queued ? 'queued' : 'running';
  if (j.failingSince) return 'failing';
  if (j.invalidReason) return 'failing';
  if (!j.lastRun && !j.lastSuccess) return 'never';
  return 'ok';
}

/** "7 jobs: 6 OK, 1 failing since Tue 22:00" (never 'null'; counts that are 0 are left out). */
export function summaryText(jobs) {
  if (jobs.length === 0) return 'No backup jobs yet.';
  const by = (s) => jobs.filter((j) => jobState(j) === s);
  const failing = by('failing');
  const since = failing
    .map((j) => j.failingSince)
    .filter(Boolean)
    .sort()[0];
  const parts = [
    `${by('ok').length} OK`,
    failing.length ? `${failing.length} failing${since ? ` since ${formatShort(since)}` : ''}` : null,
    by('running').length ? `${by('running').length} running` : null,
    by('queued').length ? `${by('queued').length} queued` : null,
    by('never').length ? `${by('never').length} never run` : null,
  ].filter(Boolean);
  return `${jobs.length} job${jobs.length === 1 ? '' : 's'}: ${parts.join(', ')}`;
}

/** The one-line reason of a run that did not succeed. */
export function reasonOf(run) {
  if (!run) return '';
  if (run.errorMessage) return run.errorMessage.split('\n')[0];
  if (run.status === 'cancelled') return 'cancelled';
  if (run.status === 'interrupted') return 'interrupted (the agent stopped during the backup)';
  return run.exitCode !== null && run.exitCode !== undefined
    ? `restic exit code ${run.exitCode}`
    : 'no reason recorded';
}

function statusRows(status) {
  const db = status.database;
  const dbText = db.connected
    ? `Connected (${db.kind === 'pglite' ? 'embedded' : 'PostgreSQL'})`
    : `Not connected${db.downSince ? ` since ${formatTime(db.downSince)} (${formatRelative(db.downSince)})` : ''} – ${db.usingCachedConfig && db.cachedConfigSince ? `using the cached config saved ${formatTime(db.cachedConfigSince)}` : 'using the config loaded at start'}`;
  const successes = status.jobs
    .map((j) => j.lastSuccess?.endTime)
    .filter(Boolean)
    .sort();
  const next = status.jobs
    .flatMap((j) => [j.nextRunAt, j.retryAt])
    .filter(Boolean)
    .sort();
  const lastOk = successes[successes.length - 1] ?? null;
  const pending = db.pendingJournalEntries ?? 0;
  return [
    ['Agent', isDown() ? 'Not answering' : `Answering (version ${status.device.agentVersion})`, 'status-agent'],
    ['Database', isDown() ? 'Unknown while the agent does not answer' : dbText, 'status-db'],
    [
      'Last backup',
      lastOk ? `${formatTime(lastOk)} (${formatRelative(lastOk)})` : 'no successful backup yet',
      'status-last',
    ],
    ['Next backup', next[0] ? `${formatTime(next[0])} (${formatRelative(next[0])})` : 'none scheduled', 'status-next'],
    ...(pending > 0
      ? [
          [
            'Waiting records',
            `${pending} run record${pending === 1 ? '' : 's'} kept on this device until the database is back`,
            'status-pending',
          ],
        ]
      : []),
    [
      'restic',
      status.restic.ok ? (status.restic.version ?? 'ok') : `not usable: ${status.restic.error ?? 'unknown'}`,
      'status-restic',
    ],
  ];
}

function progressBlock(job, onCancel) {
  const p = job.progress;
  const pct = p && Number.isFinite(p.percentDone) ? Math.round(p.percentDone * 1000) / 10 : 0;
  const nums = [`${pct}%`];
  // restic --json omits files_done / bytes_done while they are 0 (omitempty): with a total known,
  // a missing count is 0, not unknown.
  const count = (done, total) => done ?? (total !== null && total !== undefined ? 0 : null);
  const filesDone = count(p?.filesDone, p?.totalFiles);
  const bytesDone = count(p?.bytesDone, p?.totalBytes);
  if (filesDone !== null) nums.push(`${filesDone}${p.totalFiles != null ? ` / ${p.totalFiles}` : ''} files`);
  if (bytesDone !== null)
    nums.push(`${formatBytes(bytesDone)}${p.totalBytes != null ? ` / ${formatBytes(p.totalBytes)}` : ''}`);
  // C05: no ETA when restic gave none (null), never an absurd one.
  if (p && p.secondsRemaining != null) nums.push(`${formatDuration(p.secondsRemaining)} left`);
  const fill = el('span');
  fill.style.width = `${pct}%`;
  const current = p?.currentFiles?.[0];
  return el(
    'div',
    { class: 'progress', dataset: { testid: `progress-${job.id}` } },
    el(
      'div',
      {
        class: 'bar',
        role: 'progressbar',
        'aria-label': `Progress of ${job.name}`,
        'aria-valuemin': '0',
        'aria-valuemax': '100',
        'aria-valuenow': String(pct),
      },
      fill,
    ),
    el('div', { class: 'nums', dataset: { testid: `progress-text-${job.id}` } }, ...nums.map((n) => el('span', {}, n))),
    current
      ? el(
          'div',
          { class: 'current-file', title: current, dataset: { testid: `progress-file-${job.id}` } },
          `Now: ${current}`,
        )
      : null,
    job.runId
      ? el(
          'div',
          { class: 'buttons' },
          el(
            'button',
            { type: 'button', dataset: { testid: `cancel-${job.id}` }, onclick: () => onCancel(job) },
            'Cancel',
          ),
        )
      : null,
  );
}

function card(j, runInfo, ctx) {
  const running = j.running || !!runInfo;
  const job = { ...j, runId: runInfo?.runId ?? null, progress: j.progress ?? runInfo?.progress ?? null };
  const state = jobState({ ...j, running });
  const badge = running
    ? j.queued
      ? 'queued'
      : 'running'
    : state === 'failing'
      ? (j.lastRun?.status ?? 'failed')
      : (j.lastRun?.status ?? null);
  const last = j.lastRun;
  const ok = j.lastSuccess;
  const lastIsSuccess = last && ok && last.id === ok.id;
  const lines = [
    el(
      'div',
      { class: 'meta', dataset: { testid: `job-success-${j.id}` } },
      el('span', { class: 'k' }, 'Last success: '),
      ok
        ? `${formatShort(ok.endTime)} (${formatRelative(ok.endTime)}), ${formatBytes(ok.dataAddedBytes)} added`
        : 'never',
    ),
  ];
  if (last && !lastIsSuccess && last.status !== 'running')
    lines.push(
      el(
        'div',
        {
          class: `meta attempt ${statusClass(last.status)}`,
          dataset: { testid: `job-attempt-${j.id}` },
          title: last.errorMessage ?? '',
        },
        el('span', { class: 'k' }, 'Last attempt: '),
        `${statusLabel(last.status)} ${formatShort(last.startTime)} – ${reasonOf(last)}`,
      ),
    );
  const next = j.retryAt
    ? `retry ${formatShort(j.retryAt)} (${formatRelative(j.retryAt)})${j.nextRunAt ? `, then as scheduled ${formatShort(j.nextRunAt)}` : ''}`
    : j.nextRunAt
      ? `${formatShort(j.nextRunAt)} (${formatRelative(j.nextRunAt)})`
      : j.enabled
        ? 'not scheduled'
        : 'job is disabled';
  lines.push(
    el(
      'div',
      { class: 'meta', dataset: { testid: `job-next-${j.id}` } },
      el('span', { class: 'k' }, j.retryAt ? 'Next: ' : 'Next run: '),
      next,
    ),
  );
  return el(
    'li',
    {
      class: `job ${statusClass(badge)}`,
      id: `job-${j.id}`,
      dataset: { testid: `job-${j.id}`, status: last?.status ?? 'never', state },
    },
    el(
      'h3',
      {},
      el('span', {}, j.name),
      el(
        'span',
        { class: `badge ${statusClass(badge)}`, dataset: { testid: `job-status-${j.id}` } },
        el('span', { 'aria-hidden': 'true' }, `${statusSymbol(badge)} `),
        running ? (j.queued ? 'Queued' : 'Running') : state === 'failing' ? `Failing` : statusLabel(last?.status),
      ),
    ),
    j.description ? el('div', { class: 'meta description' }, j.description) : null,
    el(
      'div',
      { class: 'meta paths' },
      j.sourcePaths.join(', ') || '–',
      j.tags?.length ? el('span', { class: 'tags' }, ...j.tags.map((t) => el('span', { class: 'tag' }, t))) : null,
    ),
    j.invalidReason ? el('div', { class: 'field-error' }, `Not scheduled: ${j.invalidReason}`) : null,
    ...lines,
    running ? progressBlock(job, ctx.cancel) : null,
    el(
      'div',
      { class: 'buttons' },
      el(
        'button',
        {
          type: 'button',
          class: 'primary',
          disabled: running || !j.enabled,
          dataset: { testid: `run-${j.id}` },
          onclick: () => ctx.run(j),
        },
        'Back up now',
      ),
      el(
        'button',
        { type: 'button', dataset: { testid: `edit-${j.id}` }, onclick: () => ctx.openEditor(j.id) },
        'Edit',
      ),
      el(
        'button',
        { type: 'button', dataset: { testid: `history-${j.id}` }, onclick: () => ctx.go('history', j.id) },
        'History',
      ),
    ),
  );
}

/**
 * Every refresh replaces the cards: put the keyboard focus back on the button with the same
 * data-testid, or on its job's Edit button when that one is now disabled ("Back up now" while the
 * backup runs), so a keyboard user does not fall back to the top of the page.
 */
function keepFocus(testid) {
  const same = document.querySelector(`#jobs [data-testid="${testid}"]`);
  const jobId = /^(?:run|edit|history|cancel)-(.+)$/.exec(testid)?.[1];
  const target =
    same && !same.disabled ? same : jobId ? document.querySelector(`#jobs [data-testid="edit-${jobId}"]`) : null;
  target?.focus();
}

export default {
  id: 'overview',
  title: 'Overview',
  mount(root, ctx) {
    root.append(
      el('p', { id: 'summary', class: 'summary', dataset: { testid: 'summary' }, 'aria-live': 'polite' }),
      el(
        'section',
        { class: 'panel', 'aria-labelledby': 'status-h' },
        el('h2', { id: 'status-h' }, 'Status'),
        el('dl', { id: 'status', class: 'status', dataset: { testid: 'status' } }),
      ),
      el(
        'section',
        { class: 'panel', 'aria-labelledby': 'jobs-h' },
        el(
          'div',
          { class: 'panel-head' },
          el('h2', { id: 'jobs-h' }, 'Backup jobs'),
          el(
            'button',
            { type: 'button', id: 'new-job', dataset: { testid: 'new-job' }, onclick: () => ctx.openEditor(null) },
            'New job',
          ),
        ),
        el('ul', { id: 'jobs', class: 'jobs', dataset: { testid: 'jobs' } }),
      ),
    );
  },
  update(ctx) {
    const status = ctx.status;
    if (!status) return;
    $('summary').textContent = summaryText(
      status.jobs.map((j) => ({ ...j, running: j.running || status.running.some((r) => r.jobId === j.id) })),
    );
    fill(
      $('status'),
      ...statusRows(status).map(([k, v, id]) =>
        el('div', {}, el('dt', {}, k), el('dd', { id, dataset: { testid: id } }, v)),
      ),
    );
    const runningById = new Map(status.running.map((r) => [r.jobId, r]));
    const items = status.jobs.map((j) => card(j, runningById.get(j.id), ctx));
    const focusedId = document.activeElement?.closest('#jobs') ? document.activeElement.dataset.testid : null;
    fill(
      $('jobs'),
      ...(items.length
        ? items
        : [el('li', { class: 'meta' }, 'No jobs yet. Press "New job" to choose folders to back up.')]),
    );
    if (focusedId) keepFocus(focusedId);
  },
};

export { OK };
