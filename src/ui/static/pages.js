// The pages of the UI, in tab order. A page is one module exporting
//   { id, title, mount(root, ctx), update(ctx), show?(ctx, params) }
// mount builds its DOM once inside `root` (a <section>); update re-renders from ctx.status after
// every refresh; show runs when its tab is opened (params from the #hash, e.g. #history/<job id>).
// Adding a page (restore, retention, oversight) is one new module and one line here.
import overview from './page-overview.js';
import history from './page-history.js';
import settings from './page-settings.js';
import restore from './page-restore.js';
import retention from './page-retention.js';
import notifications from './page-notifications.js';

export const PAGES = [overview, history, restore, retention, settings, notifications];
