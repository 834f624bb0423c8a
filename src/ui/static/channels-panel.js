// Notification channels panel (issue 19 point 1): the list (configs come redacted: secrets show as
// "(set)"), "Send test", "Remove", and a form to add a channel of every kind: webhook, ntfy,
// email (SMTP) and healthchecks (a ping URL per job). One module for both places channels are
// managed in a browser: the local UI's Notifications page (page-notifications.js) and the fleet
// dashboard (src/dashboard/page.ts loads it as /ui/channels-panel.js). Both talk to the same
// routes (src/api/routes-notifications.ts); the form only collects fields, the server checks them
// as `rbackup2 notify add` does (src/notify/channel-admin.ts) and its 400 names the bad field.
import { $, el, fill } from './dom.js';

/** The form's kinds, with the label of the select. */
const KINDS = [
  ['webhook', 'Webhook (JSON POST)'],
  ['ntfy', 'ntfy topic'],
  ['email', 'Email (SMTP)'],
  ['healthchecks', 'healthchecks.io pings'],
];

function configText(config) {
  return Object.entries(config)
    .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(', ');
}

const value = (id) => $(id)?.value.trim() ?? '';

/**
 * The channel config of the form's fields for `kind` (the shapes of src/notify/channel-config.ts).
 * Nothing is checked here beyond leaving out empty optional fields: a port that is not a number
 * is sent as typed, so the server's answer names config.port.
 */
function readConfig(kind, jobs) {
  if (kind === 'webhook' || kind === 'ntfy') {
    const config = { url: value('channel-url') };
    const secret = $('channel-secret').value;
    if (secret) config[kind === 'ntfy' ? 'token' : 'secret'] = secret;
    return config;
  }
  if (kind === 'email') {
    const config = {
      host: value('channel-smtp-host'),
      from: value('channel-email-from'),
      to: value('channel-email-to')
        .split(/[\s,;]+/)
        .filter(Boolean),
    };
    const port = value('channel-smtp-port');
    if (port) config.port = /^\d+$/.test(port) ? Number(port) : port;
    const security = $('channel-smtp-security').value;
    if (security === 'tls') config.secure = true;
    if (security === 'plain') config.allow_plaintext = true;
    const user = value('channel-smtp-user');
    if (user) {
      config.user = user;
      config.password = $('channel-smtp-password').value;
    }
    return config;
  }
  const urls = {};
  if (jobs) {
    for (const j of jobs) {
      const u = value(`channel-hc-${j.id}`);
      if (u) urls[j.id] = u;
    }
  } else {
    for (const line of $('channel-hc-urls').value.split('\n')) {
      const [job, url] = line.trim().split(/\s+/);
      if (job) urls[job] = url ?? '';
    }
  }
  return { urls };
}

/**
 * Builds the panel inside `root`. Options: `api(method, path, body)` (resolves the JSON answer;
 * rejects with an Error carrying `status` and the server's message), `jobs()` (this agent's jobs
 * [{id, name}] for one healthchecks URL field each; absent = a "JOB_ID URL" per line text box),
 * `devices` (true: a device field, empty = every device), `onError(e)` for errors other than a
 * refused add. Returns { load(), hide(text) }: load lists the channels (rejects as api does).
 */
export function mountChannelsPanel(root, { api, jobs = null, devices = false, onError = () => {} }) {
  const field = (id, label, attrs = {}) =>
    el('label', { class: 'field' }, label, el('input', { id, name: id, dataset: { testid: id }, ...attrs }));
  const group = (kinds, ...children) =>
    el('div', { class: 'kind-fields', dataset: { kinds: kinds.join(' ') } }, ...children);
  const hcBox = el('div', { id: 'channel-hc-fields' });
  root.append(
    el(
      'section',
      { class: 'panel', 'aria-labelledby': 'notif-h' },
      el('h2', { id: 'notif-h' }, 'Notification channels'),
      el('p', { id: 'notif-message', role: 'status', dataset: { testid: 'notif-message' } }),
      el(
        'div',
        { class: 'table-wrap', id: 'notif-table' },
        el(
          'table',
          { class: 'history channels', dataset: { testid: 'channels' } },
          el(
            'thead',
            {},
            el(
              'tr',
              {},
              ...['Name', 'Kind', ...(devices ? ['Device'] : []), 'Events', 'Settings', ''].map((h) =>
                el('th', { scope: 'col' }, h),
              ),
            ),
          ),
          el('tbody', { id: 'channel-rows' }),
        ),
      ),
      el(
        'form',
        { id: 'channel-form', dataset: { testid: 'channel-form' } },
        el('h3', {}, 'Add a channel'),
        field('channel-name', 'Name', { required: true, maxlength: 100 }),
        el(
          'label',
          { class: 'field' },
          'Kind',
          el(
            'select',
            { id: 'channel-kind', dataset: { testid: 'channel-kind' } },
            ...KINDS.map(([v, label]) => el('option', { value: v }, label)),
          ),
        ),
        devices
          ? field('channel-device', 'Device id (empty: every device)', { maxlength: 255, autocomplete: 'off' })
          : null,
        group(
          ['webhook', 'ntfy'],
          field('channel-url', 'URL', { type: 'url', required: true }),
          field('channel-secret', 'Secret (webhook HMAC secret or ntfy token, optional)', {
            type: 'password',
            autocomplete: 'off',
          }),
        ),
        group(
          ['email'],
          field('channel-smtp-host', 'SMTP server', { required: true, autocomplete: 'off' }),
          field('channel-smtp-port', 'Port (default 587, or 465 with TLS)', { inputmode: 'numeric' }),
          el(
            'label',
            { class: 'field' },
            'Security',
            el(
              'select',
              { id: 'channel-smtp-security', dataset: { testid: 'channel-smtp-security' } },
              el('option', { value: 'starttls' }, 'STARTTLS (required)'),
              el('option', { value: 'tls' }, 'TLS from the start (port 465)'),
              el('option', { value: 'plain' }, 'None: a test server on this machine only'),
            ),
          ),
          field('channel-smtp-user', 'User (optional)', { autocomplete: 'off' }),
          field('channel-smtp-password', 'Password', { type: 'password', autocomplete: 'off' }),
          field('channel-email-from', 'From', { required: true }),
          field('channel-email-to', 'To (addresses separated by commas)', { required: true }),
        ),
        group(['healthchecks'], hcBox),
        el('button', { type: 'submit', dataset: { testid: 'channel-add' } }, 'Add channel'),
      ),
    ),
  );

  const say = (text, isError = false) => {
    const m = $('notif-message');
    m.textContent = text;
    m.className = isError ? 'field-error' : 'meta';
  };

  function renderHealthchecks() {
    const list = jobs?.();
    if (!list)
      return fill(
        hcBox,
        el(
          'label',
          { class: 'field' },
          'Ping URLs, one line per job: JOB_ID URL (start, success and fail pings)',
          el('textarea', { id: 'channel-hc-urls', rows: 3, dataset: { testid: 'channel-hc-urls' } }),
        ),
      );
    fill(
      hcBox,
      el('p', { class: 'hint' }, 'A ping URL per job (start, success and fail pings); leave a job empty to skip it.'),
      ...list.map((j) => field(`channel-hc-${j.id}`, `${j.name}: ping URL`, { type: 'url' })),
    );
  }

  // Only the chosen kind's fields are shown; the others are disabled, so their `required` does not block.
  function showKind() {
    const kind = $('channel-kind').value;
    if (kind === 'healthchecks') renderHealthchecks();
    for (const g of root.querySelectorAll('.kind-fields')) {
      const on = g.dataset.kinds.split(' ').includes(kind);
      g.hidden = !on;
      for (const c of g.querySelectorAll('input, select, textarea')) c.disabled = !on;
    }
  }

  async function load() {
    const { channels } = await api('GET', '/notifications/channels');
    $('notif-table').hidden = false;
    $('channel-form').hidden = false;
    fill(
      $('channel-rows'),
      ...(channels.length
        ? channels.map((c) =>
            el(
              'tr',
              { dataset: { testid: 'channel-row' } },
              el('td', {}, c.name, c.enabled ? '' : ' (off)'),
              el('td', {}, c.kind),
              devices ? el('td', {}, c.deviceId ?? 'every device') : null,
              el('td', {}, c.events.join(', ')),
              el('td', { class: 'mono' }, configText(c.config)),
              el(
                'td',
                {},
                el(
                  'button',
                  { type: 'button', dataset: { testid: 'channel-test' }, onclick: () => test(c) },
                  'Send test',
                ),
                ' ',
                el(
                  'button',
                  { type: 'button', dataset: { testid: 'channel-remove' }, onclick: () => remove(c) },
                  'Remove',
                ),
              ),
            ),
          )
        : [
            el(
              'tr',
              {},
              el('td', { colspan: devices ? 6 : 5 }, 'No channel yet: failures are only shown here and in the log.'),
            ),
          ]),
    );
  }

  async function add() {
    const kind = $('channel-kind').value;
    const body = { name: value('channel-name'), kind, config: readConfig(kind, jobs?.() ?? null) };
    if (devices && value('channel-device')) body.deviceId = value('channel-device');
    try {
      const r = await api('POST', '/notifications/channels', body);
      $('channel-form').reset();
      showKind();
      say(`Channel ${r.channel.name} added.`);
      await load();
    } catch (e) {
      say(e.message, true);
    }
  }

  async function test(c) {
    say(`Sending a test through ${c.name}…`);
    try {
      const r = await api('POST', `/notifications/channels/${encodeURIComponent(c.id)}/test`, {});
      say(r.ok ? `Test sent through ${c.name}.` : `The test through ${c.name} failed: ${r.error}`, !r.ok);
    } catch (e) {
      say(e.message, true);
    }
  }

  async function remove(c) {
    if (!window.confirm(`Remove the channel ${c.name}?`)) return;
    try {
      await api('POST', `/notifications/channels/${encodeURIComponent(c.id)}/remove`, {});
      say(`Channel ${c.name} removed.`);
      await load();
    } catch (e) {
      if (e.status === 404) await load().catch(onError);
      say(e.message, true);
    }
  }

  $('channel-kind').addEventListener('change', showKind);
  $('channel-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    void add();
  });
  showKind();
  return {
    load,
    /** Hides list and form and says `text` (a local agent on PostgreSQL: where channels are managed). */
    hide(text) {
      $('notif-table').hidden = true;
      $('channel-form').hidden = true;
      say(text);
    },
  };
}
