// Settings page: the device's effective settings (GET /config, secrets redacted) and any stored
// value the agent cannot use (GET /status settingProblems: e.g. a value edited by SQL). Changing
// them is `rbackup2 setting set` or POST /config; both refuse unknown keys and bad values.
import { api } from './api.js';
import { $, el, show, fill } from './dom.js';

export default {
  id: 'settings',
  title: 'Settings',
  mount(root) {
    root.append(
      el(
        'section',
        { class: 'panel', 'aria-labelledby': 'settings-h' },
        el('h2', { id: 'settings-h' }, 'Settings of this device'),
        el('div', { id: 'setting-problems', role: 'alert', dataset: { testid: 'setting-problems' } }),
        el(
          'p',
          { class: 'meta' },
          'Change these with "rbackup2 setting set KEY VALUE" on this device (or --global for all devices).',
        ),
        el(
          'div',
          { class: 'table-wrap' },
          el(
            'table',
            { class: 'history', dataset: { testid: 'settings' } },
            el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Setting'), el('th', { scope: 'col' }, 'Value'))),
            el('tbody', { id: 'settings-rows' }),
          ),
        ),
      ),
    );
  },
  update(ctx) {
    const problems = ctx.status?.settingProblems ?? [];
    fill(
      $('setting-problems'),
      ...(problems.length
        ? [
            el('strong', {}, 'Settings the agent cannot use:'),
            el('ul', {}, ...problems.map((p) => el('li', { class: 'field-error' }, p))),
          ]
        : []),
    );
    if (ctx.page === 'settings') this.show(ctx);
  },
  async show(ctx) {
    try {
      const config = await api('GET', '/config');
      fill(
        $('settings-rows'),
        ...Object.entries(config.settings)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, v]) => el('tr', {}, el('td', { class: 'mono' }, k), el('td', { class: 'mono' }, show(v)))),
      );
    } catch (e) {
      ctx.showError(e);
    }
  },
};
