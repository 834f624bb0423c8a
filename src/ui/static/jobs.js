// The status panel and the job cards with their live progress bars.
import { $, el, formatBytes, formatDuration, formatRelative, formatTime, statusClass, statusLabel } from './dom.js';

/** Fills the status panel from GET /status. */
export function renderStatus(status) {
  $('device-name').textContent = status.device.name || status.device.id;
  document.title = `rbackup2 – ${status.device.name || status.device.id}`;
  const db = status.database;
  const dbText = db.connected
    ? `Connected (${db.kind === 'pglite' ? 'embedded' : 'PostgreSQL'})`
    : `Not connected${db.downSince ? ` since ${formatTime(db.downSince)} (${formatRelative(db.downSince)})` : ''} – ${db.usingCachedConfig && db.cachedConfigSince ? `using the cached config saved ${formatTime(db.cachedConfigSince)} (${formatRelative(db.cachedConfigSince)})` : 'using the config loaded at start'}`;
  // Run records kept in the local journal until the database has them (issue 8).
  const pending = db.pendingJournalEntries ?? 0;
  const finished = status.jobs.filter((j) => j.lastRun && j.lastRun.status !== 'running').map((j) => j.lastRun.endTime ?? j.lastRun.startTime).filter(Boolean).sort();
  const next = status.jobs.map((j) => j.nextRunAt).filter(Boolean).sort();
  const lastBackup = finished[finished.length - 1] ?? null;
  const rows = [
    ['Database', dbText, 'status-db'],
    ['Last backup', lastBackup ? `${formatTime(lastBackup)} (${formatRelative(lastBackup)})` : 'never', 'status-last'],
    ['Next backup', next[0] ? `${formatTime(next[0])} (${formatRelative(next[0])})` : 'none scheduled', 'status-next'],
    ...(pending > 0 ? [['Waiting records', `${pending} run record${pending === 1 ? '' : 's'} kept on this device until the database is back`, 'status-pending']] : []),
    ['restic', status.restic.ok ? status.restic.version ?? 'ok' : `not usable: ${status.restic.error ?? 'unknown'}`, 'status-restic'],
  ];
  $('status').replaceChildren(...rows.map(([k, v, id]) => el('div', {}, el('dt', {}, k), el('dd', { id, dataset: { testid: id } }, v))));
  const banner = $('banner');
  banner.hidden = db.connected && status.restic.ok;
  banner.textContent = !db.connected ? 'The database is unreachable: backups continue from the cached config and results are sent when it returns.' : (status.restic.ok ? '' : 'restic cannot be run; backups will fail until it is installed.');
}

function progressBlock(job, onCancel) {
  const p = job.progress;
  const pct = p ? Math.round(p.percentDone * 1000) / 10 : 0;
  const nums = [`${pct}%`];
  // restic --json omits files_done / bytes_done while they are 0 (omitempty): with a total known,
  // a missing count is 0, not unknown.
  const count = (done, total) => done ?? (total !== null && total !== undefined ? 0 : null);
  const filesDone = count(p?.filesDone, p?.totalFiles);
  const bytesDone = count(p?.bytesDone, p?.totalBytes);
  if (filesDone !== null) nums.push(`${filesDone}${p.totalFiles !== null && p.totalFiles !== undefined ? ` / ${p.totalFiles}` : ''} files`);
  if (bytesDone !== null) nums.push(`${formatBytes(bytesDone)}${p.totalBytes !== null && p.totalBytes !== undefined ? ` / ${formatBytes(p.totalBytes)}` : ''}`);
  // C05: no ETA when restic gave none (null), never an absurd one.
  if (p && p.secondsRemaining !== null && p.secondsRemaining !== undefined) nums.push(`${formatDuration(p.secondsRemaining)} left`);
  const fill = el('span');
  fill.style.width = `${pct}%`;
  return el('div', { class: 'progress', dataset: { testid: `progress-${job.id}` } },
    el('div', { class: 'bar', role: 'progressbar', 'aria-label': `Progress of ${job.name}`, 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': String(pct) }, fill),
    el('div', { class: 'nums', dataset: { testid: `progress-text-${job.id}` } }, ...nums.map((n) => el('span', {}, n))),
    job.runId ? el('div', { class: 'buttons' }, el('button', { type: 'button', dataset: { testid: `cancel-${job.id}` }, onclick: () => onCancel(job) }, 'Cancel')) : null,
  );
}

/**
 * Renders the job cards. `handlers` = {run(job), cancel(job), edit(job), history(job)}.
 * A running job shows its progress and its 'Back up now' button is disabled.
 */
export function renderJobs(status, handlers) {
  const runningById = new Map(status.running.map((r) => [r.jobId, r]));
  const items = status.jobs.map((j) => {
    const running = j.running || runningById.has(j.id);
    const job = { ...j, runId: runningById.get(j.id)?.runId ?? null, progress: j.progress ?? runningById.get(j.id)?.progress ?? null };
    const st = running ? 'running' : j.lastRun?.status ?? null;
    const last = j.lastRun;
    return el('li', { class: `job ${statusClass(last?.status)}`, id: `job-${j.id}`, dataset: { testid: `job-${j.id}`, status: last?.status ?? 'never' } },
      el('h3', {}, el('span', {}, j.name), el('span', { class: `badge ${statusClass(st)}`, dataset: { testid: `job-status-${j.id}` } }, running ? (j.queued ? 'Queued' : 'Running') : statusLabel(last?.status))),
      el('div', { class: 'meta' }, j.sourcePaths.join(', ')),
      j.invalidReason ? el('div', { class: 'field-error' }, `Not scheduled: ${j.invalidReason}`) : null,
      el('div', { class: 'meta', dataset: { testid: `job-last-${j.id}` } }, `Last run: ${!last ? 'never' : last.status === 'running' ? `running since ${formatTime(last.startTime)}` : `${formatTime(last.startTime)}, ${formatDuration(last.durationSeconds)}, ${formatBytes(last.dataAddedBytes)} added`}`),
      el('div', { class: 'meta', dataset: { testid: `job-next-${j.id}` } }, `Next run: ${j.nextRunAt ? `${formatTime(j.nextRunAt)} (${formatRelative(j.nextRunAt)})` : j.enabled ? 'not scheduled' : 'disabled'}`),
      running ? progressBlock(job, handlers.cancel) : null,
      el('div', { class: 'buttons' },
        el('button', { type: 'button', class: 'primary', disabled: running || !j.enabled, dataset: { testid: `run-${j.id}` }, onclick: () => handlers.run(j) }, 'Back up now'),
        el('button', { type: 'button', dataset: { testid: `edit-${j.id}` }, onclick: () => handlers.edit(j) }, 'Edit'),
        el('button', { type: 'button', dataset: { testid: `history-${j.id}` }, onclick: () => handlers.history(j) }, 'History'),
      ),
    );
  });
  $('jobs').replaceChildren(...(items.length ? items : [el('li', { class: 'meta' }, 'No jobs yet.')]));
}
