// Retention page (issue 18): per repository its size, snapshots and last forget, prune and check
// (GET /repositories); per job its retention policy, edited here (POST /config) with a dry-run
// preview first (POST /jobs/{id}/forget-preview: restic forget --dry-run --no-lock, nothing is
// removed and no lock is taken): "these N snapshots would be removed, these M kept, because ...".
import { api } from './api.js';
import { $, el, fill, formatBytes, formatTime, show } from './dom.js';

const KEYS = ['keep_last', 'keep_hourly', 'keep_daily', 'keep_weekly', 'keep_monthly', 'keep_yearly'];
const state = { jobs: [] };

function lastOf(r, op) {
  const l = r.last?.[op];
  if (!l) return 'never';
  return `${l.status} ${formatTime(l.end_time ?? l.start_time)} (${l.device_id})${l.error ? `: ${l.error}` : ''}`;
}

function repoRow(r) {
  return el(
    'tr',
    { dataset: { testid: `repo-${r.name}` } },
    el('td', {}, r.name),
    el(
      'td',
      { class: 'num', dataset: { testid: `repo-size-${r.name}` } },
      r.size_bytes === null ? '–' : formatBytes(r.size_bytes),
    ),
    el('td', { class: 'num' }, show(r.snapshot_count)),
    el('td', {}, lastOf(r, 'forget')),
    el('td', {}, lastOf(r, 'prune')),
    el('td', {}, lastOf(r, 'check')),
    el('td', {}, r.error ?? `prune ${show(r.prune_schedule)}, check ${show(r.check_schedule)}`),
  );
}

/** The policy typed in the form (empty fields left out); null when nothing is set. */
function formPolicy() {
  const p = {};
  for (const k of KEYS) {
    const v = $(`ret-${k}`).value.trim();
    if (v !== '') p[k] = Number(v);
  }
  const within = $('ret-keep_within').value.trim();
  if (within !== '') p.keep_within = within;
  return Object.keys(p).length ? p : null;
}

function fillForm(policy) {
  for (const k of [...KEYS, 'keep_within']) $(`ret-${k}`).value = policy?.[k] ?? '';
}

function planTable(plan) {
  const rows = [
    ...plan.keep.map((s) => ({ ...s, why: `kept: ${s.reasons.join(', ') || 'policy'}`, keep: true })),
    ...plan.remove.map((s) => ({ ...s, why: 'would be removed', keep: false })),
  ].sort((a, b) => (a.time < b.time ? 1 : -1));
  return el(
    'table',
    { class: 'history', dataset: { testid: 'preview-table' } },
    el(
      'thead',
      {},
      el('tr', {}, ...['Snapshot', 'Time', 'Host', 'Paths', 'Why'].map((h) => el('th', { scope: 'col' }, h))),
    ),
    el(
      'tbody',
      {},
      ...rows.map((s) =>
        el(
          'tr',
          { class: s.keep ? 'ok' : 'failed', dataset: { testid: s.keep ? 'preview-keep' : 'preview-remove' } },
          el('td', { class: 'mono' }, s.id.slice(0, 8)),
          el('td', {}, formatTime(s.time)),
          el('td', {}, s.hostname),
          el('td', {}, s.paths.join(', ')),
          el('td', {}, s.why),
        ),
      ),
    ),
  );
}

async function preview() {
  const jobId = $('ret-job').value;
  fill($('ret-preview'), el('p', { class: 'meta' }, 'Asking restic (dry run, no lock)…'));
  try {
    const plan = await api('POST', `/jobs/${jobId}/forget-preview`, { retention: formPolicy() });
    fill(
      $('ret-preview'),
      el(
        'p',
        { dataset: { testid: 'preview-summary' } },
        `These ${plan.remove.length} snapshots would be removed, these ${plan.keep.length} kept, because of the policy: ` +
          Object.entries(plan.policy)
            .map(([k, v]) => `${k} ${v}`)
            .join(', '),
      ),
      planTable(plan),
    );
  } catch (err) {
    fill(
      $('ret-preview'),
      el('p', { class: 'field-error', role: 'alert', dataset: { testid: 'preview-error' } }, err.message),
    );
  }
}

async function save() {
  const jobId = $('ret-job').value;
  try {
    await api('POST', '/config', { jobs: [{ id: jobId, retention: formPolicy() }] });
    fill($('ret-saved'), 'Saved.');
    await load();
  } catch (err) {
    const fields = (err.fields ?? []).map((f) => `${f.field}: ${f.message}`).join('; ');
    fill($('ret-saved'), el('span', { class: 'field-error', role: 'alert' }, fields || err.message));
  }
}

async function load() {
  const [config, repos] = await Promise.all([api('GET', '/config'), api('GET', '/repositories')]);
  state.jobs = config.jobs;
  const sel = $('ret-job');
  const current = sel.value;
  fill(sel, ...state.jobs.map((j) => el('option', { value: j.id }, j.name)));
  if (current) sel.value = current;
  fillForm(state.jobs.find((j) => j.id === sel.value)?.retention ?? null);
  fill($('repo-rows'), ...repos.repositories.map(repoRow));
}

export default {
  id: 'retention',
  title: 'Retention',
  mount(root) {
    const num = (k) =>
      el(
        'label',
        {},
        k.replace('_', ' '),
        el('input', { id: `ret-${k}`, type: 'number', min: '0', step: '1', dataset: { testid: `ret-${k}` } }),
      );
    root.append(
      el(
        'section',
        { class: 'panel', 'aria-labelledby': 'repos-h' },
        el('h2', { id: 'repos-h' }, 'Repositories'),
        el(
          'div',
          { class: 'table-wrap' },
          el(
            'table',
            { class: 'history', dataset: { testid: 'repositories' } },
            el(
              'thead',
              {},
              el(
                'tr',
                {},
                ...['Repository', 'Size', 'Snapshots', 'Last forget', 'Last prune', 'Last check', 'Schedules'].map(
                  (h) => el('th', { scope: 'col' }, h),
                ),
              ),
            ),
            el('tbody', { id: 'repo-rows' }),
          ),
        ),
      ),
      el(
        'section',
        { class: 'panel', 'aria-labelledby': 'ret-h' },
        el('h2', { id: 'ret-h' }, 'Retention of a job'),
        el(
          'p',
          { class: 'meta' },
          "Only this job's snapshots (tag backup:<job id>, every host) are affected. Empty = keep everything.",
        ),
        el(
          'label',
          {},
          'Job ',
          el('select', {
            id: 'ret-job',
            dataset: { testid: 'ret-job' },
            onchange: () => {
              fillForm(state.jobs.find((j) => j.id === $('ret-job').value)?.retention ?? null);
              fill($('ret-preview'));
            },
          }),
        ),
        el(
          'div',
          { class: 'retention-fields' },
          ...KEYS.map(num),
          el(
            'label',
            {},
            'keep within',
            el('input', { id: 'ret-keep_within', placeholder: '30d', dataset: { testid: 'ret-keep_within' } }),
          ),
        ),
        el(
          'div',
          { class: 'actions' },
          el(
            'button',
            { type: 'button', dataset: { testid: 'ret-preview-button' }, onclick: () => void preview() },
            'Preview (dry run)',
          ),
          el(
            'button',
            { type: 'button', class: 'primary', dataset: { testid: 'ret-save' }, onclick: () => void save() },
            'Save policy',
          ),
          el('span', { id: 'ret-saved', role: 'status' }),
        ),
        el('div', { id: 'ret-preview', dataset: { testid: 'ret-preview' } }),
      ),
    );
  },
  update() {},
  show() {
    return load().catch((err) => fill($('repo-rows'), el('tr', {}, el('td', { colspan: '7' }, err.message))));
  },
};
