// The job editor (a modal <dialog>): name, folders, excludes, schedules with a live preview of
// the next five run times of a cron expression (GET /cron-preview); saves through POST /config and
// shows the server's field errors next to their inputs.
import { api, ApiError } from './api.js';
import { $, el, formatTime, openDialog } from './dom.js';

const lines = (text) => text.split('\n').map((s) => s.trim()).filter(Boolean);

function scheduleRow(s, removed) {
  const row = el('div', { class: 'schedule', dataset: { scheduleId: s.id ?? '' } });
  const field = (name, label, input) => {
    input.dataset.name = name;
    const id = `sch-${Math.random().toString(36).slice(2)}-${name}`;
    input.id = id;
    return el('div', {}, el('label', { for: id }, label), input, el('span', { class: 'field-error', dataset: { errorName: name } }));
  };
  const type = el('select', {}, el('option', { value: 'cron' }, 'Cron (times of day)'), el('option', { value: 'interval' }, 'Every N seconds'));
  type.value = s.schedule_type ?? 'cron';
  const cron = el('input', { value: s.cron_expression ?? '0 3 * * *', placeholder: 'minute hour day month weekday', dataset: { testid: 'cron-input' } });
  const interval = el('input', { type: 'number', min: '60', value: s.interval_seconds ?? 3600 });
  const tz = el('input', { value: s.timezone ?? '', placeholder: 'device local zone, e.g. Europe/Prague' });
  const catchUp = el('input', { type: 'checkbox', checked: s.catch_up !== false });
  const enabled = el('input', { type: 'checkbox', checked: s.enabled !== false });
  const preview = el('ol', { class: 'preview', dataset: { testid: 'cron-preview' }, 'aria-live': 'polite', 'aria-label': 'Next runs' });
  const cronBox = field('cron_expression', 'Cron expression', cron);
  const intervalBox = field('interval_seconds', 'Interval (seconds)', interval);
  const sync = () => { cronBox.hidden = type.value !== 'cron'; intervalBox.hidden = type.value !== 'interval'; preview.hidden = type.value !== 'cron'; };
  let timer = null;
  const refreshPreview = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      if (type.value !== 'cron') return;
      const err = cronBox.querySelector('.field-error');
      try {
        const q = new URLSearchParams({ expr: cron.value, n: '5' });
        if (tz.value.trim()) q.set('tz', tz.value.trim());
        const r = await api('GET', `/cron-preview?${q}`);
        err.textContent = '';
        preview.replaceChildren(...r.nextRuns.map((t) => el('li', {}, formatTime(t))));
      } catch (e) {
        preview.replaceChildren();
        err.textContent = e instanceof ApiError ? (e.fields[0]?.message ?? e.message) : String(e);
      }
    }, 250);
  };
  type.addEventListener('change', () => { sync(); refreshPreview(); });
  cron.addEventListener('input', refreshPreview);
  tz.addEventListener('input', refreshPreview);
  row.append(
    el('div', { class: 'row' }, field('schedule_type', 'Type', type), field('timezone', 'Time zone', tz)),
    cronBox, preview, intervalBox,
    el('div', { class: 'row' },
      el('label', { class: 'check' }, catchUp, 'Catch up a missed run'),
      el('label', { class: 'check' }, enabled, 'Enabled')),
    el('button', { type: 'button', onclick: () => { row.remove(); if (s.id) removed.push(s.id); } }, 'Remove schedule'),
  );
  row.read = () => ({
    ...(s.id ? { id: s.id } : {}),
    schedule_type: type.value,
    cron_expression: type.value === 'cron' ? cron.value.trim() : null,
    interval_seconds: type.value === 'interval' ? Number(interval.value) : null,
    timezone: tz.value.trim() || null,
    catch_up: catchUp.checked,
    enabled: enabled.checked,
  });
  sync();
  refreshPreview();
  return row;
}

function showErrors(fields, fallback) {
  for (const e of document.querySelectorAll('#editor .field-error')) e.textContent = '';
  const unplaced = [];
  for (const f of fields) {
    const name = f.field.replace(/^jobs\[0\]\./, '');
    const m = /^schedules\[(\d+)\]\.(\w+)$/.exec(name);
    const rows = [...$('ed-schedules').children];
    const target = m
      ? rows[Number(m[1])]?.querySelector(`[data-error-name="${m[2]}"]`)
      : document.querySelector(`#editor [data-error-for="${name}"]`);
    if (target) target.textContent = f.message; else unplaced.push(`${f.field}: ${f.message}`);
  }
  $('editor-error').textContent = unplaced.length ? unplaced.join('; ') : (fields.length ? '' : fallback ?? '');
  const first = document.querySelector('#editor .field-error:not(:empty)');
  first?.closest('div, form')?.querySelector('input, textarea, select')?.focus();
}

/**
 * Hooks and extra restic arguments make the agent's user run programs, so they are admin-only
 * (issue 15): shown read-only with the reason, never sent back by the editor.
 */
function renderAdminOnly(job) {
  const hooks = job?.hooks ?? [];
  const args = job?.restic_args ?? [];
  $('ed-admin').replaceChildren(
    el('strong', {}, 'Set by the admin only'),
    el('p', {}, 'Hooks and extra restic arguments run programs as the backup agent\'s user, so only the admin changes them (rbackup2 commands or the database), unless the admin allows local changes with the setting allow_local_command_changes.'),
    el('div', {}, 'Hooks: ', hooks.length ? el('pre', { dataset: { testid: 'admin-hooks' } }, hooks.map((h) => `${h.timing}: ${h.command}`).join('\n')) : 'none'),
    el('div', {}, 'restic arguments: ', args.length ? el('pre', { dataset: { testid: 'admin-restic-args' } }, args.join(' ')) : 'none'),
  );
}

/** Opens the editor for `jobId` (null = new job); `onSaved` runs after a successful save. */
export async function openEditor(jobId, onSaved) {
  const config = await api('GET', '/config');
  const job = jobId ? config.jobs.find((j) => j.id === jobId) : null;
  const removed = [];
  $('editor-h').textContent = job ? `Edit ${job.name}` : 'New job';
  $('ed-name').value = job?.name ?? '';
  $('ed-paths').value = (job?.source_paths ?? []).join('\n');
  $('ed-excludes').value = (job?.exclude_patterns ?? []).join('\n');
  $('ed-enabled').checked = job ? job.enabled !== false : true;
  $('ed-schedules').replaceChildren(...(job?.schedules ?? []).map((s) => scheduleRow(s, removed)));
  renderAdminOnly(job);
  $('ed-add-schedule').onclick = () => $('ed-schedules').append(scheduleRow({}, removed));
  showErrors([]);
  $('editor-form').onsubmit = async (ev) => {
    ev.preventDefault();
    const change = {
      jobs: [{
        ...(job ? { id: job.id } : {}),
        name: $('ed-name').value.trim(),
        source_paths: lines($('ed-paths').value),
        exclude_patterns: lines($('ed-excludes').value),
        enabled: $('ed-enabled').checked,
        schedules: [...$('ed-schedules').children].map((r) => r.read()),
      }],
    };
    if (removed.length) change.delete_schedules = [...removed];
    try {
      await api('POST', '/config', change);
      $('editor').close();
      onSaved();
    } catch (e) {
      if (e instanceof ApiError) showErrors(e.fields, e.message); else showErrors([], String(e));
    }
  };
  openDialog($('editor'));
}
