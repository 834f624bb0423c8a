/**
 * The dashboard's page: HTML, script and styles served from memory (no build step, no inline
 * script: the Content-Security-Policy allows only 'self'). The script signs in with the UI
 * password when the API answers 401, renders a page of devices (50 per page) with their jobs,
 * marks stale, failing and silent, and reloads the data on each server-sent `changed` event.
 * Below, the notification channels: the local UI's panel (src/ui/static/channels-panel.js, served
 * as /ui/channels-panel.js), loaded once signed in, with a device field (empty = every device).
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rbackup2 fleet</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/dashboard.css"><script src="/dashboard.js" defer></script></head>
<body>
<header><h1>rbackup2 fleet</h1><span id="summary"></span><span id="live" class="muted"></span></header>
<form id="login" hidden><label>Password <input type="password" id="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button><span id="login-error" class="bad"></span></form>
<main id="main" hidden>
<section><h2>Devices</h2>
<div class="pager"><input id="search" placeholder="filter by name"><button id="prev">‹</button><span id="pageinfo"></span><button id="next">›</button></div>
<table id="devices"><thead><tr><th>Device</th><th>Platform</th><th>Last seen</th><th>Agent</th><th>restic</th><th>Jobs</th></tr></thead><tbody></tbody></table>
</section>
<section><h2>Recent failures</h2><table id="failures"><thead><tr><th>Time</th><th>Device</th><th>Job</th><th>Error</th></tr></thead><tbody></tbody></table></section>
<section><h2>Repositories</h2><table id="repos"><thead><tr><th>Name</th><th>Jobs</th><th>Size</th><th>Last check</th></tr></thead><tbody></tbody></table></section>
<div id="channels-root"></div>
</main></body></html>`;

export const DASHBOARD_CSS = `body{font:14px system-ui,sans-serif;margin:0 1.5em;color:#222}
header{display:flex;gap:1em;align-items:baseline}h1{font-size:1.3em}
table{border-collapse:collapse;width:100%;margin-bottom:1em}th,td{text-align:left;padding:.25em .5em;border-bottom:1px solid #ddd;vertical-align:top}
.bad{color:#b00020;font-weight:600}.warn{color:#a15c00;font-weight:600}.ok{color:#1b7f3b}.muted{color:#777}
.job{display:block}.pager{margin:.5em 0;display:flex;gap:.5em;align-items:center}
#channel-form,#channel-form .kind-fields,#channel-hc-fields{display:grid;gap:.5em;max-width:40em}#channel-form .kind-fields[hidden]{display:none}
.field{display:grid;gap:.15em}.field-error{color:#b00020}.meta,.hint{color:#555}.mono{font-family:ui-monospace,monospace;overflow-wrap:anywhere}`;

export const DASHBOARD_JS = `'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  let page = 1, perPage = 50, search = '', total = 0, loading = null;
  const el = (tag, text, cls) => { const e = document.createElement(tag); if (text != null) e.textContent = text; if (cls) e.className = cls; return e; };
  const ago = (iso) => { if (!iso) return 'never'; const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
    return s < 120 ? s + ' s ago' : s < 7200 ? Math.round(s / 60) + ' min ago' : s < 172800 ? Math.round(s / 3600) + ' h ago' : Math.round(s / 86400) + ' days ago'; };
  const bytes = (n) => { const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']; let i = 0; while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; } return (i ? n.toFixed(1) : String(n)) + ' ' + u[i]; };
  async function api(path) {
    const r = await fetch(path, { credentials: 'same-origin' });
    if (r.status === 401) { showLogin(); throw new Error('login'); }
    if (!r.ok) throw new Error('HTTP ' + r.status);
    return r.json();
  }
  function showLogin() { $('login').hidden = false; $('main').hidden = true; }
  // JSON calls of the channel panel: the session cookie signs them, Content-Type and the browser's
  // own Origin pass the server's CSRF check; an error carries the status and the server's message.
  async function japi(method, path, body) {
    const init = { method, credentials: 'same-origin', headers: { accept: 'application/json' } };
    if (method !== 'GET') { init.headers['content-type'] = 'application/json'; init.body = JSON.stringify(body == null ? {} : body); }
    const r = await fetch(path, init);
    const j = await r.json().catch(() => null);
    if (r.status === 401) showLogin();
    if (!r.ok) { const e = new Error((j && j.error && j.error.message) || 'HTTP ' + r.status); e.status = r.status; throw e; }
    return j;
  }
  let channels = null;
  function mountChannels() {
    if (channels) return channels.then((p) => p.load()).catch(() => {});
    channels = import('/ui/channels-panel.js').then((m) => m.mountChannelsPanel($('channels-root'), { api: japi, devices: true }));
    return channels.then((p) => p.load()).catch((e) => { $('channels-root').textContent = 'Notification channels cannot be shown: ' + e.message; });
  }
  $('login').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const r = await fetch('/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: $('password').value }) });
    if (!r.ok) { $('login-error').textContent = 'wrong password'; return; }
    $('login').hidden = true; load().then(mountChannels); live();
  });
  function render(d) {
    total = d.totalDevices;
    $('main').hidden = false;
    const tb = $('devices').tBodies[0]; tb.replaceChildren();
    let stale = 0, failing = 0, silent = 0;
    for (const dev of d.devices) {
      const tr = el('tr'); tr.dataset.device = dev.id;
      const name = el('td'); name.append(el('strong', dev.name)); if (dev.silent) { name.append(' ', el('span', 'silent', 'bad')); silent++; }
      tr.append(name, el('td', dev.platform || ''), el('td', ago(dev.lastSeen), dev.silent ? 'bad' : ''), el('td', dev.agentVersion || ''), el('td', dev.resticVersion || ''));
      const jobs = el('td');
      for (const j of dev.jobs) {
        const line = el('span', null, 'job'); line.dataset.job = j.id;
        line.append(el('span', j.name + ': '));
        line.append(el('span', j.lastRunStatus || 'no runs', j.lastRunStatus === 'success' ? 'ok' : j.lastRunStatus === 'failed' ? 'bad' : 'warn'));
        line.append(el('span', ' · last success ' + ago(j.lastSuccess) + (j.nextRunAt ? ' · next ' + new Date(j.nextRunAt).toLocaleString() : ''), 'muted'));
        if (j.failing) { line.append(' ', el('span', 'failing', 'bad')); failing++; }
        if (j.stale) { line.append(' ', el('span', 'stale', 'warn')); stale++; }
        jobs.append(line);
      }
      tr.append(jobs); tb.append(tr);
    }
    $('summary').textContent = total + ' devices · this page: ' + failing + ' failing, ' + stale + ' stale, ' + silent + ' silent';
    $('pageinfo').textContent = 'page ' + page + ' of ' + Math.max(1, Math.ceil(total / perPage));
    const fb = $('failures').tBodies[0]; fb.replaceChildren();
    for (const f of d.failures) { const tr = el('tr'); tr.append(el('td', f.startTime ? new Date(f.startTime).toLocaleString() : ''), el('td', f.deviceId), el('td', f.jobName || ''), el('td', f.error || '')); fb.append(tr); }
    const rb = $('repos').tBodies[0]; rb.replaceChildren();
    for (const r of d.repositories) {
      const tr = el('tr'); tr.dataset.repo = r.id;
      const size = r.sizeBytes == null ? el('td', '—', 'muted') : el('td', bytes(r.sizeBytes));
      size.title = r.sizeBytes == null ? 'size unknown until a check or stats run records it' : 'recorded ' + new Date(r.sizeAt).toLocaleString();
      const c = r.lastCheck;
      const check = c ? el('td') : el('td', 'never', 'muted');
      if (c) check.append(el('span', c.status, c.status === 'success' ? 'ok' : c.status === 'running' ? 'warn' : 'bad'), el('span', ' · ' + ago(c.startTime), 'muted'));
      check.title = c ? new Date(c.startTime).toLocaleString() : 'no check run recorded';
      tr.append(el('td', r.name), el('td', String(r.jobs)), size, check); rb.append(tr);
    }
    document.body.dataset.loadedAt = d.generatedAt;
  }
  function load() {
    loading = api('/api/fleet?page=' + page + '&per_page=' + perPage + '&q=' + encodeURIComponent(search)).then(render).catch(() => {}).finally(() => { loading = null; });
    return loading;
  }
  function live() {
    const es = new EventSource('/events');
    es.addEventListener('changed', () => { $('live').textContent = 'live · updated ' + new Date().toLocaleTimeString(); if (!loading) load(); });
    es.onerror = () => { $('live').textContent = 'live updates reconnecting…'; };
  }
  $('prev').addEventListener('click', () => { if (page > 1) { page--; load(); } });
  $('next').addEventListener('click', () => { if (page * perPage < total) { page++; load(); } });
  $('search').addEventListener('change', () => { search = $('search').value; page = 1; load(); });
  api('/api/fleet?page=1&per_page=' + perPage).then((d) => { render(d); live(); mountChannels(); }).catch(() => {});
})();
`;
