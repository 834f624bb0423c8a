// Notifications page (issue 19 point 1): this agent's notification channels, on the embedded
// database, through the channels panel shared with the fleet dashboard (channels-panel.js): list,
// "Send test", remove, and a form for every kind (webhook, ntfy, email, healthchecks with a ping
// URL per job of this agent). On PostgreSQL the agent answers 409: channels are managed with
// rbackup2 notify or the dashboard; the page shows that sentence instead of the list.
import { api } from './api.js';
import { mountChannelsPanel } from './channels-panel.js';

/** What the agent's 409 says on PostgreSQL (src/notify/local-channels.ts). */
const FLEET_SENTENCE =
  'notification channels are not managed from the local UI when the agent uses PostgreSQL (its device role cannot read them): channels are managed with rbackup2 notify or the dashboard in a fleet';

export default {
  id: 'notifications',
  title: 'Notifications',
  mount(root) {
    this.panel = mountChannelsPanel(root, {
      api,
      jobs: () => (this.ctx?.status?.jobs ?? []).map((j) => ({ id: j.id, name: j.name })),
      onError: (e) => this.ctx?.showError?.(e),
    });
  },
  update(ctx) {
    this.ctx = ctx;
  },
  async show(ctx) {
    this.ctx = ctx;
    if (ctx?.status?.database?.kind === 'postgres') {
      // A fleet agent's device role cannot read channels: say where they are managed, ask nothing.
      this.panel.hide(FLEET_SENTENCE);
      return;
    }
    try {
      await this.panel.load();
    } catch (e) {
      if (e.status === 409) this.panel.hide(e.message);
      else ctx?.showError?.(e);
    }
  },
};
