// Restore page (issue 17): per job its snapshots (date, host, data added, files), a folder browser
// with breadcrumbs, files and folders to select, "Restore to…" (the default target shown, the
// original location only after a confirmation) and "Download" (a file as itself, a folder as a
// zip), and the live progress and result of a restore (run.progress / run.finished over SSE).
import { api } from './api.js';
import { $, el, fill, formatBytes, formatTime, openDialog, show } from './dom.js';

const state = { jobId: '', snapshot: null, folder: null, selected: new Set(), runId: null };

const dl = (jobId, sid, p) =>
  `/jobs/${encodeURIComponent(jobId)}/snapshots/${encodeURIComponent(sid)}/download?path=${encodeURIComponent(p)}`;

function jobOptions(ctx) {
  const jobs = ctx.status?.jobs ?? [];
  return jobs.map((j) => el('option', { value: j.id, selected: j.id === state.jobId }, j.name));
}

async function loadSnapshots(ctx) {
  fill($('restore-snapshots'), el('tr', {}, el('td', { colspan: 5 }, 'Loading snapshots…')));
  $('restore-browser').hidden = true;
  if (!state.jobId) return;
  try {
    const r = await api('GET', `/jobs/${state.jobId}/snapshots`, undefined, { timeoutMs: 120_000 });
    fill(
      $('restore-snapshots'),
      ...(r.snapshots.length === 0
        ? [el('tr', {}, el('td', { colspan: 5 }, 'No snapshots yet.'))]
        : r.snapshots.map((s) =>
            el(
              'tr',
              { dataset: { testid: `snapshot-${s.short_id}` } },
              el('td', {}, formatTime(s.time)),
              el('td', {}, s.hostname),
              el('td', { class: 'num' }, formatBytes(s.stats?.data_added_bytes)),
              el('td', { class: 'num' }, show(s.stats?.total_files_processed)),
              el(
                'td',
                {},
                el(
                  'button',
                  {
                    type: 'button',
                    dataset: { testid: `browse-${s.short_id}` },
                    onclick: () => browse(ctx, s, s.start_path),
                  },
                  'Browse',
                ),
              ),
            ),
          )),
    );
  } catch (e) {
    fill($('restore-snapshots'));
    ctx.showError(e);
  }
}

async function browse(ctx, snapshot, path) {
  state.snapshot = snapshot;
  state.selected.clear();
  try {
    const f = await api(
      'GET',
      `/jobs/${state.jobId}/snapshots/${snapshot.id}/ls?path=${encodeURIComponent(path)}`,
      undefined,
      { timeoutMs: 120_000 },
    );
    state.folder = f;
    renderFolder(ctx);
  } catch (e) {
    ctx.showError(e);
  }
}

function renderFolder(ctx) {
  const f = state.folder;
  const s = state.snapshot;
  $('restore-browser').hidden = false;
  $('restore-snap-title').textContent = `Snapshot ${s.short_id} of ${formatTime(s.time)} (${s.hostname})`;
  fill(
    $('restore-crumbs'),
    ...f.breadcrumbs.map((b, i) =>
      el(
        'button',
        {
          type: 'button',
          class: 'crumb',
          dataset: { testid: `crumb-${i}` },
          'aria-current': i === f.breadcrumbs.length - 1 ? 'page' : false,
          onclick: () => browse(ctx, s, b.path),
        },
        b.name,
      ),
    ),
  );
  $('restore-where').textContent = f.display_path;
  fill(
    $('restore-entries'),
    ...f.entries.map((e) =>
      el(
        'tr',
        { dataset: { testid: `entry-${e.name}` } },
        el(
          'td',
          {},
          el('input', {
            type: 'checkbox',
            'aria-label': `Select ${e.name}`,
            dataset: { testid: `select-${e.name}` },
            disabled: !e.exact_name,
            title: e.exact_name ? '' : 'This name is not valid UTF-8: restore or download its folder',
            onchange: (ev) => {
              if (ev.target.checked) state.selected.add(e.path);
              else state.selected.delete(e.path);
              renderActions();
            },
          }),
        ),
        el(
          'td',
          { class: 'name' },
          e.type === 'dir' && e.exact_name
            ? el(
                'button',
                {
                  type: 'button',
                  class: 'link',
                  dataset: { testid: `open-${e.name}` },
                  onclick: () => browse(ctx, s, e.path),
                },
                `📁 ${e.name}`,
              )
            : el('span', {}, e.exact_name ? e.name : `${e.name} (name not valid UTF-8)`),
        ),
        el('td', { class: 'num' }, e.type === 'dir' ? '' : formatBytes(e.size)),
        el('td', {}, formatTime(e.mtime)),
        el(
          'td',
          {},
          e.exact_name
            ? el(
                'a',
                { href: dl(state.jobId, s.id, e.path), download: '', dataset: { testid: `download-${e.name}` } },
                'Download',
              )
            : '',
        ),
      ),
    ),
  );
  renderActions();
}

function renderActions() {
  const n = state.selected.size;
  $('restore-count').textContent = n === 0 ? 'Nothing selected' : `${n} selected`;
  $('restore-open').disabled = n === 0;
  const one = n === 1 ? [...state.selected][0] : null;
  const a = $('restore-download');
  a.hidden = !one;
  if (one) a.href = dl(state.jobId, state.snapshot.id, one);
}

function openRestoreDialog() {
  const f = state.folder;
  $('restore-default').textContent = f.default_target;
  $('restore-original-row').hidden = f.original_target === null;
  $('restore-original').textContent = f.original_target === null ? '' : `${f.display_path} (where the files were)`;
  $('restore-choice-default').checked = true;
  $('restore-other').value = '';
  $('restore-overwrite').checked = false;
  $('restore-error').textContent = '';
  openDialog($('restore-dialog'));
  $('restore-form').onsubmit = async (ev) => {
    ev.preventDefault();
    const choice = new window.FormData($('restore-form')).get('where');
    let target = null;
    if (choice === 'original') {
      if (
        !window.confirm(
          `Restore into the original location ${f.display_path}? Existing files are only replaced if "overwrite" is ticked.`,
        )
      )
        return;
      target = f.original_target;
    } else if (choice === 'other') target = $('restore-other').value.trim();
    try {
      const r = await api(
        'POST',
        '/restores',
        {
          job_id: state.jobId,
          snapshot_id: state.snapshot.id,
          paths: [...state.selected],
          target,
          overwrite: $('restore-overwrite').checked,
        },
        { timeoutMs: 300_000 },
      );
      $('restore-dialog').close();
      state.runId = r.run_id;
      showProgress({ state: 'running', target: r.target, files: r.files, total: r.total_bytes, done: 0 });
    } catch (e) {
      $('restore-error').textContent = e.message ?? String(e);
    }
  };
}

function showProgress(p) {
  const box = $('restore-progress');
  box.hidden = false;
  box.dataset.state = p.state;
  const pct = p.total > 0 ? Math.min(100, Math.round((100 * p.done) / p.total)) : p.state === 'success' ? 100 : 0;
  fill(
    box,
    el('strong', {}, p.state === 'running' ? 'Restoring…' : p.state === 'success' ? 'Restored' : `Restore ${p.state}`),
    el('progress', { max: 100, value: pct, 'aria-label': 'Restore progress' }),
    el(
      'span',
      { dataset: { testid: 'restore-progress-text' } },
      ` ${formatBytes(p.done)} of ${formatBytes(p.total)} · ${p.files} file(s) → `,
    ),
    el('code', { dataset: { testid: 'restore-target' } }, p.target),
    p.error ? el('p', { class: 'field-error' }, p.error) : null,
    p.state === 'running' && state.runId
      ? el(
          'button',
          { type: 'button', onclick: () => api('POST', `/runs/${state.runId}/cancel`, {}).catch(() => {}) },
          'Cancel',
        )
      : null,
  );
  state.last = p;
}

/**
 * On an embedded agent the repository passwords are only on this disk: remind the owner to save
 * the recovery kit (`rbackup2 recovery-kit`) until they confirm (POST /recovery-kit/reminder).
 */
async function recoveryKitNotice(ctx) {
  let r;
  try {
    r = await api('GET', '/recovery-kit/reminder');
  } catch {
    return;
  }
  $('kit-notice')?.remove();
  if (!r.remind) return;
  const notice = el(
    'p',
    { id: 'kit-notice', class: 'banner', role: 'note', dataset: { testid: 'kit-notice' } },
    'Your backups can only be opened with the repository password, which is stored on this computer only. ',
    'Run ',
    el('code', {}, 'rbackup2 recovery-kit'),
    ' and keep the document it writes (print it or put it in a password manager) so you can restore even if this computer dies. ',
    el(
      'button',
      {
        type: 'button',
        dataset: { testid: 'kit-saved' },
        onclick: async () => {
          try {
            await api('POST', '/recovery-kit/reminder', { saved: true });
            notice.remove();
          } catch (e) {
            ctx.showError(e);
          }
        },
      },
      'I have saved it',
    ),
  );
  document.querySelector('main')?.prepend(notice);
}

export default {
  id: 'restore',
  title: 'Restore',
  mount(root, ctx) {
    root.append(
      el(
        'section',
        { class: 'panel', 'aria-labelledby': 'restore-h' },
        el('h2', { id: 'restore-h' }, 'Get files back'),
        el('label', { for: 'restore-job' }, 'Job '),
        el('select', {
          id: 'restore-job',
          dataset: { testid: 'restore-job' },
          onchange: (ev) => {
            state.jobId = ev.target.value;
            loadSnapshots(ctx);
          },
        }),
        el(
          'div',
          { class: 'table-wrap' },
          el(
            'table',
            { class: 'history', dataset: { testid: 'snapshots' } },
            el(
              'thead',
              {},
              el('tr', {}, ...['Date', 'Host', 'Data added', 'Files', ''].map((h) => el('th', { scope: 'col' }, h))),
            ),
            el('tbody', { id: 'restore-snapshots' }),
          ),
        ),
        el('div', {
          id: 'restore-progress',
          class: 'restore-progress',
          role: 'status',
          dataset: { testid: 'restore-progress' },
          hidden: true,
        }),
      ),
      el(
        'section',
        { class: 'panel', id: 'restore-browser', hidden: true, 'aria-labelledby': 'restore-snap-title' },
        el('h2', { id: 'restore-snap-title' }, ''),
        el('nav', { id: 'restore-crumbs', class: 'crumbs', 'aria-label': 'Folder', dataset: { testid: 'crumbs' } }),
        el('p', { class: 'meta mono', id: 'restore-where', dataset: { testid: 'restore-where' } }),
        el(
          'div',
          { class: 'restore-actions' },
          el('span', { id: 'restore-count' }, ''),
          el(
            'button',
            {
              type: 'button',
              class: 'primary',
              id: 'restore-open',
              dataset: { testid: 'restore-open' },
              onclick: () => openRestoreDialog(),
            },
            'Restore to…',
          ),
          el(
            'a',
            {
              id: 'restore-download',
              class: 'button',
              download: '',
              hidden: true,
              dataset: { testid: 'restore-download' },
            },
            'Download',
          ),
        ),
        el(
          'div',
          { class: 'table-wrap' },
          el(
            'table',
            { class: 'history files' },
            el(
              'thead',
              {},
              el('tr', {}, ...['', 'Name', 'Size', 'Modified', ''].map((h) => el('th', { scope: 'col' }, h))),
            ),
            el('tbody', { id: 'restore-entries' }),
          ),
        ),
      ),
      el(
        'dialog',
        { id: 'restore-dialog', dataset: { testid: 'restore-dialog' }, 'aria-labelledby': 'restore-dialog-h' },
        el(
          'form',
          { id: 'restore-form' },
          el('h2', { id: 'restore-dialog-h' }, 'Restore to…'),
          el(
            'label',
            {},
            el('input', {
              type: 'radio',
              name: 'where',
              value: 'default',
              id: 'restore-choice-default',
              checked: true,
            }),
            ' A new folder: ',
            el('code', { id: 'restore-default', dataset: { testid: 'restore-default' } }),
          ),
          el(
            'p',
            { id: 'restore-original-row' },
            el(
              'label',
              {},
              el('input', {
                type: 'radio',
                name: 'where',
                value: 'original',
                dataset: { testid: 'restore-choice-original' },
              }),
              ' The original location: ',
              el('span', { id: 'restore-original' }),
            ),
          ),
          el(
            'label',
            {},
            el('input', { type: 'radio', name: 'where', value: 'other' }),
            " Another folder (one of the job's folders or one the admin allowed): ",
          ),
          el('input', {
            type: 'text',
            id: 'restore-other',
            class: 'mono',
            placeholder: '/path/to/folder',
            'aria-label': 'Target folder',
          }),
          el(
            'p',
            {},
            el(
              'label',
              {},
              el('input', { type: 'checkbox', id: 'restore-overwrite' }),
              ' Overwrite files that exist there',
            ),
          ),
          el('p', { id: 'restore-error', class: 'field-error', role: 'alert', dataset: { testid: 'restore-error' } }),
          el(
            'div',
            { class: 'actions' },
            el('button', { type: 'button', 'data-close': '' }, 'Cancel'),
            el('button', { type: 'submit', class: 'primary', dataset: { testid: 'restore-confirm' } }, 'Restore'),
          ),
        ),
      ),
    );
    window.addEventListener('rbackup2:run', (ev) => {
      const d = ev.detail;
      if (d.operation !== 'restore' || !state.last || (state.runId && d.runId !== state.runId)) return;
      if (d.type === 'run.progress') showProgress({ ...state.last, state: 'running', done: d.progress.bytesDone ?? 0 });
      if (d.type === 'run.finished')
        showProgress({
          ...state.last,
          state: d.status,
          done: d.status === 'success' ? state.last.total : state.last.done,
          error: d.errorMessage,
        });
    });
  },
  update(ctx) {
    const sel = $('restore-job');
    const before = sel.value;
    fill(sel, ...jobOptions(ctx));
    if (!state.jobId && ctx.status?.jobs.length) state.jobId = ctx.status.jobs[0].id;
    sel.value = state.jobId || before;
  },
  show(ctx, params) {
    if (!state.kitChecked) {
      state.kitChecked = true; // once per page load, when the owner comes to get files back
      void recoveryKitNotice(ctx);
    }
    if (params) state.jobId = params;
    this.update(ctx);
    return loadSnapshots(ctx);
  },
};
