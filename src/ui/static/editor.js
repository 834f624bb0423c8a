// The job editor (a modal <dialog>): name, description, folders, excludes, tags, the repository
// (pick one, or add one: URL and password, `restic init` for a new one, with a connection test),
// schedules in human units with a preview of the next runs, enabled, delete with confirmation.
// Hooks, restic args and a repository's command/cache/env are shown read-only with the reason
// (admin-only, issue 15). Saves through POST /repositories and POST /config and shows the
// server's field errors next to their inputs.
import { api, ApiError } from './api.js';
import { $, el, formatTime, openDialog, fill } from './dom.js';
import { DAYS, describe, fromHuman, toHuman, UNITS } from './schedule-text.js';

const NEW_REPO = '__new__';
const lines = (text) =>
  text
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
let uid = 0;
const nextId = (name) => `ed-${name}-${(uid += 1)}`;

/** A labelled field: <div><label for>…</label>input<span error></span></div>. */
function field(label, input, errorKey, hint) {
  if (!input.id) input.id = nextId(errorKey ?? 'f');
  const err = el('span', { class: 'field-error', dataset: { errorFor: errorKey ?? '' }, id: `${input.id}-err` });
  input.setAttribute('aria-describedby', `${input.id}-err`);
  return el(
    'div',
    { class: 'field' },
    el('label', { for: input.id }, label),
    input,
    hint ? el('span', { class: 'hint' }, hint) : null,
    err,
  );
}

function zoneSelect(value) {
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  const select = el(
    'select',
    {},
    el('option', { value: '' }, "This device's time zone"),
    ...zones.map((z) => el('option', { value: z }, z)),
  );
  if (value && !zones.includes(value)) select.append(el('option', { value }, value));
  select.value = value ?? '';
  return select;
}

function scheduleRow(s, removed, index) {
  const h = toHuman(s);
  const row = el('fieldset', { class: 'schedule', dataset: { scheduleId: s.id ?? '' } });
  const kind = el(
    'select',
    { dataset: { testid: 'schedule-kind' } },
    el('option', { value: 'interval' }, 'Every …'),
    el('option', { value: 'daily' }, 'Daily at …'),
    el('option', { value: 'weekly' }, 'Weekly on … at …'),
    el('option', { value: 'cron' }, 'Custom (cron expression)'),
  );
  kind.value = h.kind;
  const every = el('input', {
    type: 'number',
    min: '1',
    step: '1',
    value: String(h.every),
    dataset: { testid: 'schedule-every' },
  });
  const unit = el(
    'select',
    { dataset: { testid: 'schedule-unit' } },
    ...UNITS.map(([u]) => el('option', { value: u }, u)),
  );
  unit.value = h.unit;
  const time = el('input', { type: 'time', value: h.time, dataset: { testid: 'schedule-time' } });
  const day = el('select', {}, ...DAYS.map((d, i) => el('option', { value: String(i) }, d)));
  day.value = String(h.day);
  const cron = el('input', {
    value: h.cron,
    placeholder: 'minute hour day month weekday',
    dataset: { testid: 'cron-input' },
  });
  const tz = zoneSelect(s.timezone);
  tz.dataset.testid = 'schedule-tz';
  const catchUp = el('input', { type: 'checkbox', checked: s.catch_up !== false });
  const on = el('input', { type: 'checkbox', checked: s.enabled !== false });
  const preview = el('ol', {
    class: 'preview',
    dataset: { testid: 'cron-preview' },
    'aria-live': 'polite',
    'aria-label': 'Next runs',
  });
  const summary = el('p', { class: 'meta', dataset: { testid: 'schedule-summary' } });
  const boxes = {
    every: el('div', { class: 'row' }, field('Every', every, 'interval_seconds'), field('Unit', unit)),
    time: field('At (hh:mm)', time),
    day: field('Day', day),
    cron: field('Cron expression', cron, 'cron_expression', 'minute hour day-of-month month day-of-week'),
  };
  const read = () => ({
    kind: kind.value,
    every: every.value,
    unit: unit.value,
    time: time.value,
    day: Number(day.value),
    cron: cron.value,
  });
  let timer = null;
  const refresh = () => {
    const k = kind.value;
    boxes.every.hidden = k !== 'interval';
    boxes.time.hidden = k !== 'daily' && k !== 'weekly';
    boxes.day.hidden = k !== 'weekly';
    boxes.cron.hidden = k !== 'cron';
    summary.textContent = `Runs ${describe(read())}${tz.value ? ` (${tz.value})` : ''}.`;
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const f = fromHuman(read());
      const err = row.querySelector(`[data-error-for="${k === 'interval' ? 'interval_seconds' : 'cron_expression'}"]`);
      if (f.schedule_type === 'interval') {
        fill(
          preview,
          el('li', {}, `every ${Math.round((f.interval_seconds ?? 0) / 60)} minutes, counted from the last run`),
        );
        return;
      }
      try {
        const q = new URLSearchParams({ expr: f.cron_expression, n: '5' });
        if (tz.value) q.set('tz', tz.value);
        const r = await api('GET', `/cron-preview?${q}`);
        if (err) err.textContent = '';
        fill(preview, ...r.nextRuns.map((t) => el('li', {}, formatTime(t))));
      } catch (e) {
        fill(preview);
        if (err) err.textContent = e instanceof ApiError ? (e.fields[0]?.message ?? e.message) : String(e.message ?? e);
      }
    }, 250);
  };
  for (const input of [kind, every, unit, time, day, cron, tz]) input.addEventListener('input', refresh);
  kind.addEventListener('change', refresh);
  row.append(
    el('legend', {}, `Schedule ${index + 1}`),
    el('div', { class: 'row' }, field('Repeat', kind), field('Time zone', tz, 'timezone')),
    boxes.every,
    el('div', { class: 'row' }, boxes.day, boxes.time),
    boxes.cron,
    summary,
    el('div', { class: 'preview-box' }, el('span', { class: 'hint' }, 'Next runs:'), preview),
    el(
      'div',
      { class: 'row' },
      el('label', { class: 'check' }, catchUp, 'Catch up a missed run'),
      el('label', { class: 'check' }, on, 'Use this schedule'),
    ),
    el(
      'button',
      {
        type: 'button',
        onclick: () => {
          row.remove();
          if (s.id) removed.push(s.id);
        },
      },
      'Remove schedule',
    ),
  );
  row.read = () => ({
    ...(s.id ? { id: s.id } : {}),
    ...fromHuman(read()),
    timezone: tz.value || null,
    catch_up: catchUp.checked,
    enabled: on.checked,
  });
  refresh();
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
      ? rows[Number(m[1])]?.querySelector(`[data-error-for="${m[2]}"]`)
      : document.querySelector(`#editor [data-error-for="${name}"]`);
    if (target) target.textContent = f.message;
    else unplaced.push(`${f.field}: ${f.message}`);
  }
  $('editor-error').textContent = unplaced.length ? unplaced.join('; ') : fields.length ? '' : (fallback ?? '');
  const first = document.querySelector('#editor .field-error:not(:empty)');
  first?.closest('.field, form')?.querySelector('input, textarea, select')?.focus();
}

/** Hooks and restic args (admin-only, issue 15): read-only with the reason, never sent back. */
function adminOnly(job) {
  const hooks = job?.hooks ?? [];
  const args = job?.restic_args ?? [];
  return el(
    'div',
    { class: 'readonly', dataset: { testid: 'admin-only' } },
    el('strong', {}, 'Set by the admin only'),
    el(
      'p',
      {},
      "Hooks and extra restic arguments run programs as the backup agent's user, so only the admin changes them (rbackup2 commands or the database), unless the admin allows local changes with the setting allow_local_command_changes.",
    ),
    el(
      'div',
      {},
      'Hooks: ',
      hooks.length
        ? el('pre', { dataset: { testid: 'admin-hooks' } }, hooks.map((h) => `${h.timing}: ${h.command}`).join('\n'))
        : 'none',
    ),
    el(
      'div',
      {},
      'restic arguments: ',
      args.length ? el('pre', { dataset: { testid: 'admin-restic-args' } }, args.join(' ')) : 'none',
    ),
  );
}

/** Asks a yes/no question in the confirm dialog; resolves true on "ok" (`okLabel`), false on `noLabel`. */
export function confirmDialog(title, text, okLabel, noLabel = 'Cancel') {
  const d = $('confirm-dialog');
  $('confirm-h').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = okLabel;
  d.querySelector('[data-testid="confirm-cancel"]').textContent = noLabel;
  d.returnValue = 'cancel';
  return new Promise((resolve) => {
    d.addEventListener('close', () => resolve(d.returnValue === 'ok'), { once: true });
    openDialog(d);
    $('confirm-ok').focus();
  });
}

function repositoryPart(config, job) {
  const repos = config.repositories ?? [];
  const defaultUrl = config.settings?.repository_url;
  const select = el(
    'select',
    { id: 'ed-repo', dataset: { testid: 'editor-repo' } },
    el(
      'option',
      { value: '' },
      defaultUrl ? `Default repository (${defaultUrl})` : 'Default repository (none configured yet)',
    ),
    ...repos.map((r) => el('option', { value: r.id }, `${r.name} – ${r.url}`)),
    el('option', { value: NEW_REPO }, 'Add a repository…'),
  );
  select.value = job?.repository_id ?? (repos.length === 1 && !defaultUrl && !job ? repos[0].id : '');
  const name = el('input', { id: 'ed-repo-name', dataset: { testid: 'repo-name' }, maxlength: '255' });
  const url = el('input', {
    id: 'ed-repo-url',
    dataset: { testid: 'repo-url' },
    placeholder: '/mnt/backup/restic or sftp:user@host:/srv/restic',
  });
  const password = el('input', {
    id: 'ed-repo-password',
    type: 'password',
    autocomplete: 'new-password',
    dataset: { testid: 'repo-password' },
  });
  const init = el('input', { type: 'checkbox', id: 'ed-repo-init', dataset: { testid: 'repo-init' } });
  const result = el('p', { class: 'meta', role: 'status', dataset: { testid: 'repo-test-result' } });
  const body = () => ({ name: name.value.trim(), url: url.value.trim(), password: password.value, init: init.checked });
  const test = el(
    'button',
    {
      type: 'button',
      dataset: { testid: 'repo-test' },
      onclick: async () => {
        result.textContent = 'Testing…';
        showErrors([]);
        try {
          await api('POST', '/repositories', { ...body(), init: false, test_only: true });
          result.textContent = '✓ restic opened the repository with this password.';
        } catch (e) {
          result.textContent = '';
          if (e instanceof ApiError)
            showErrors(
              e.fields.map((f) => ({ ...f, field: `repo.${f.field}` })),
              e.message,
            );
          else showErrors([], e.message);
        }
      },
    },
    'Test connection',
  );
  const adder = el(
    'fieldset',
    { class: 'repo-new', dataset: { testid: 'repo-new' } },
    el('legend', {}, 'New repository'),
    field('Name', name, 'repo.name'),
    field('Where (restic repository URL)', url, 'repo.url'),
    field('Password', password, 'repo.password', 'Kept in the database; restic cannot restore anything without it.'),
    el('label', { class: 'check' }, init, 'Create a new, empty repository there (restic init)'),
    el('div', { class: 'row' }, test),
    result,
  );
  const adminInfo = el('div', { class: 'readonly', dataset: { testid: 'repo-admin-only' } });
  const sync = () => {
    adder.hidden = select.value !== NEW_REPO;
    test.disabled = init.checked;
    const r = repos.find((x) => x.id === select.value);
    adminInfo.hidden = !r;
    if (r)
      fill(
        adminInfo,
        el('strong', {}, 'Set by the admin only: '),
        `password command ${r.password_command ? `"${r.password_command}"` : 'none'}, cache folder ${r.cache_dir ?? 'default'}, environment ${Object.keys(r.env ?? {}).join(', ') || 'none'}. These make the agent run a program or write a folder, so only the admin changes them (rbackup2 repo).`,
      );
  };
  select.addEventListener('change', sync);
  init.addEventListener('change', sync);
  sync();
  const part = el('div', {}, field('Repository (where the backup goes)', select, 'repository_id'), adder, adminInfo);
  part.read = () => (select.value === NEW_REPO ? { add: body() } : { id: select.value || null });
  return part;
}

/** Opens the editor for `jobId` (null = new job); ctx.refresh runs after a save or delete. */
export async function openEditor(jobId, ctx) {
  const config = await api('GET', '/config');
  const job = jobId ? config.jobs.find((j) => j.id === jobId) : null;
  const removed = [];
  const input = (id, attrs = {}) => el('input', { id, ...attrs });
  const name = input('ed-name', {
    required: true,
    maxlength: '255',
    dataset: { testid: 'editor-name' },
    value: job?.name ?? '',
  });
  const description = el('textarea', {
    id: 'ed-description',
    rows: '2',
    maxlength: '2000',
    dataset: { testid: 'editor-description' },
  });
  description.value = job?.description ?? '';
  const paths = el('textarea', { id: 'ed-paths', rows: '3', dataset: { testid: 'editor-paths' } });
  paths.value = (job?.source_paths ?? []).join('\n');
  const excludes = el('textarea', { id: 'ed-excludes', rows: '2' });
  excludes.value = (job?.exclude_patterns ?? []).join('\n');
  const tags = input('ed-tags', {
    dataset: { testid: 'editor-tags' },
    value: (job?.tags ?? []).join(', '),
    placeholder: 'e.g. photos, laptop',
  });
  const enabled = el('input', { type: 'checkbox', id: 'ed-enabled', checked: job ? job.enabled !== false : true });
  const schedules = el(
    'div',
    { id: 'ed-schedules' },
    ...(job?.schedules ?? []).map((s, i) => scheduleRow(s, removed, i)),
  );
  const repo = repositoryPart(config, job);
  const form = $('editor-form');
  const del = job
    ? el(
        'button',
        {
          type: 'button',
          class: 'danger',
          dataset: { testid: 'editor-delete' },
          onclick: async () => {
            if (
              !(await confirmDialog(
                `Delete ${job.name}?`,
                `The job "${job.name}" and its schedules are removed from this device. Snapshots already in the repository stay; run history is kept.`,
                'Delete job',
              ))
            )
              return;
            try {
              await api('POST', '/config', { delete_jobs: [job.id] });
              $('editor').close();
              ctx.refresh();
            } catch (e) {
              showErrors(e.fields ?? [], e.message);
            }
          },
        },
        'Delete job',
      )
    : null;
  fill(
    form,
    el('h2', { id: 'editor-h' }, job ? `Edit ${job.name}` : 'New job'),
    el('p', { id: 'editor-error', class: 'field-error', role: 'alert', dataset: { testid: 'editor-error' } }),
    field('Name', name, 'name'),
    field('Description (optional)', description, 'description'),
    field('Folders to back up (one per line)', paths, 'source_paths'),
    field('Exclude patterns (one per line)', excludes, 'exclude_patterns'),
    field('Tags (separated by commas)', tags, 'tags'),
    repo,
    el('label', { class: 'check' }, enabled, 'Enabled (runs on its schedules)'),
    el(
      'fieldset',
      {},
      el('legend', {}, 'Schedules'),
      schedules,
      el(
        'button',
        {
          type: 'button',
          dataset: { testid: 'add-schedule' },
          onclick: () =>
            schedules.append(
              scheduleRow({ schedule_type: 'cron', cron_expression: '0 3 * * *' }, removed, schedules.children.length),
            ),
        },
        'Add schedule',
      ),
    ),
    adminOnly(job),
    el(
      'div',
      { class: 'actions' },
      del,
      el('span', { class: 'spacer' }),
      el('button', { type: 'button', dataset: { close: '' } }, 'Cancel'),
      el('button', { type: 'submit', class: 'primary', id: 'ed-save', dataset: { testid: 'editor-save' } }, 'Save'),
    ),
  );
  showErrors([]);
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    const save = $('ed-save');
    save.disabled = true;
    try {
      const r = repo.read();
      let repositoryId = r.id;
      // Added once: a second Save after a refused job change reuses it instead of adding it again.
      if (r.add && repo.createdId) repositoryId = repo.createdId;
      else if (r.add) {
        save.textContent = r.add.init ? 'Creating the repository…' : 'Checking the repository…';
        try {
          repositoryId = (await api('POST', '/repositories', { ...r.add, test_only: false }, { timeoutMs: 130_000 }))
            .id;
          repo.createdId = repositoryId;
        } catch (e) {
          if (e instanceof ApiError)
            return showErrors(
              e.fields.map((f) => ({ ...f, field: `repo.${f.field}` })),
              e.message,
            );
          throw e;
        }
      }
      const tagList = tags.value
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean);
      const change = {
        jobs: [
          {
            ...(job ? { id: job.id } : {}),
            name: name.value.trim(),
            description: description.value.trim() || null,
            source_paths: lines(paths.value),
            exclude_patterns: lines(excludes.value),
            tags: tagList,
            repository_id: repositoryId,
            enabled: enabled.checked,
            schedules: [...schedules.children].map((row) => row.read()),
          },
        ],
      };
      if (removed.length) change.delete_schedules = [...removed];
      await api('POST', '/config', change);
      $('editor').close();
      ctx.refresh();
    } catch (e) {
      if (e instanceof ApiError) showErrors(e.fields, e.message);
      else showErrors([], String(e.message ?? e));
    } finally {
      save.disabled = false;
      save.textContent = 'Save';
    }
  };
  openDialog($('editor'));
}
