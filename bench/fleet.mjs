#!/usr/bin/env node
/* global process, console, setTimeout, clearTimeout, URL */
// Fleet load on PostgreSQL from config sync: many simulated agents, each one sync loop that runs
// the agent's own getConfigVersion (dist/db) every --interval seconds, spread over --procs worker
// processes (each worker: one pg pool of --pool connections shared by its loops, as behind a
// pooler, and, with NOTIFY, ONE LISTEN connection that wakes all its loops). Prints, per phase:
//   unchanged  - every loop only checks the change marker (the agent's steady state)
//   reload     - every loop does the full config load each time (what a check would cost without the marker)
//   connect    - unchanged checks, each on a NEW connection (the agent at 300 s: its pool drops idle
//                connections after 30 s); backend pids are short-lived, so only the all-postgres CPU counts
//   propagate  - one change that concerns every device (a global setting, version '*'): time until
//                every loop has seen it AND done its full load, without and with NOTIFY
// the database's transactions/s (pg_stat_database.xact_commit delta of the bench database) and the
// CPU seconds of its backends (/proc/<pid>/stat utime+stime of the pids in pg_stat_activity for
// that database; CLK_TCK 100), plus the CPU of all `postgres` processes on the machine (noisy:
// other users of the server count too).
//
//   npm run build && node bench/fleet.mjs [--agents 500] [--procs 4] [--interval 2] [--window 20] [--pool 8]
//                                         [--pg-url postgres://postgres@127.0.0.1:5432/postgres]
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.resolve(here, '../dist/db/index.js');
const TICKS = 100;

function args(argv) {
  const o = { agents: 500, procs: 4, interval: 2, window: 20, pool: 8, pgUrl: 'postgres://postgres@127.0.0.1:5432/postgres', worker: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (k === 'worker') o.worker = true;
    else o[k] = k === 'pgUrl' ? argv[++i] : Number(argv[++i]);
  }
  return o;
}

// ---------------------------------------------------------------- worker: a slice of the fleet
async function worker() {
  const { openPostgres, getConfigVersion, loadDeviceConfigVersioned, CONFIG_CHANNEL } = await import(dist);
  const { url, devices, interval, mode, listen, pool } = JSON.parse(process.env.FLEET_JOB);
  const db = await openPostgres({ connectionString: url, poolMax: pool, connectAttempts: 1 });
  const loops = devices.map((id) => ({ id, version: null, timer: null, busy: false }));
  let stopped = false;
  const check = async (loop) => {
    if (loop.busy || stopped) return;
    loop.busy = true;
    try {
      if (mode === 'connect') {
        // the real agent at the default 300 s: its pool closed the idle connection (30 s), so each check connects anew
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        try { loop.version = (await getConfigVersion({ query: (q, p) => c.query(q, p) }, loop.id)); } finally { await c.end(); }
      } else if (mode === 'reload') {
        loop.version = (await loadDeviceConfigVersioned(db, loop.id, new Date(), { localZone: 'UTC' })).version;
      } else {
        const v = await getConfigVersion(db, loop.id);
        if (loop.version !== null && v !== loop.version) {
          await loadDeviceConfigVersioned(db, loop.id, new Date(), { localZone: 'UTC' });
          process.send({ seen: loop.id, at: Date.now() });
        }
        loop.version = v;
      }
    } catch (err) {
      process.send({ error: String(err?.message ?? err) });
    } finally {
      loop.busy = false;
    }
  };
  const schedule = (loop, ms) => {
    loop.timer = setTimeout(() => { void check(loop).finally(() => { if (!stopped) schedule(loop, interval * 1000); }); }, ms);
  };
  for (const loop of loops) await check(loop); // initial versions (the agent's loadInitial)
  for (const loop of loops) schedule(loop, Math.random() * interval * 1000); // spread like a real fleet
  if (listen) {
    await db.listen(CONFIG_CHANNEL, (payload) => {
      for (const loop of loops) if (payload === '*' || payload === loop.id) void check(loop);
    });
  }
  process.send({ ready: true });
  process.on('message', async (m) => {
    if (m !== 'stop') return;
    stopped = true;
    for (const loop of loops) clearTimeout(loop.timer);
    await db.close();
    process.exit(0);
  });
}

// ---------------------------------------------------------------- coordinator
function cpuOf(pid) {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // utime + stime (fields 14, 15 of proc(5)) + cutime + cstime (16, 17: exited children, i.e. the
    // postmaster's short-lived backends once reaped)
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICKS;
  } catch {
    return 0;
  }
}
function allPostgresCpu() {
  let s = 0;
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/comm`, 'utf8').trim() === 'postgres') s += cpuOf(d);
    } catch { /* gone */ }
  }
  return s;
}

async function main() {
  const o = args(process.argv.slice(2));
  if (o.worker) return worker();
  const { openPostgres, migrate } = await import(dist);
  const name = `rbackup2_fleet_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: o.pgUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const u = new URL(o.pgUrl);
  u.pathname = `/${name}`;
  u.searchParams.set('sslmode', 'disable');
  const url = u.toString();
  const mon = new pg.Client({ connectionString: url });
  try {
    const db = await openPostgres({ connectionString: url, connectAttempts: 1 });
    await migrate(db);
    await db.query(`INSERT INTO repositories (name, url, password) VALUES ('fleet', '/srv/restic', 'x')`);
    await db.query(`INSERT INTO devices (id, name) SELECT 'fleet-' || g, 'Fleet ' || g FROM generate_series(1, ${o.agents}) g`);
    await db.query(`INSERT INTO backup_jobs (device_id, name, source_paths, repository_id) SELECT id, 'Home', ARRAY['/home'], (SELECT id FROM repositories) FROM devices`);
    await db.query(`INSERT INTO schedules (job_id, schedule_type, cron_expression) SELECT id, 'cron', '0 3 * * *' FROM backup_jobs`);
    await db.close();
    await mon.connect();
    const ids = Array.from({ length: o.agents }, (_, i) => `fleet-${i + 1}`);
    console.log(`fleet bench: ${o.agents} sync loops in ${o.procs} processes, check every ${o.interval} s, pool ${o.pool}/process, window ${o.window} s, database ${name}`);

    const phase = async (label, mode, listen, propagate) => {
      const seen = new Map();
      let errors = 0;
      const kids = [];
      for (let p = 0; p < o.procs; p++) {
        const devices = ids.filter((_, i) => i % o.procs === p);
        const kid = fork(fileURLToPath(import.meta.url), ['--worker'], { env: { ...process.env, FLEET_JOB: JSON.stringify({ url, devices, interval: o.interval, mode, listen, pool: o.pool }) } });
        kid.on('message', (m) => { if (m.seen) seen.set(m.seen, m.at); if (m.error) errors++; });
        kids.push(new Promise((resolve) => kid.on('message', (m) => m.ready && resolve(kid))));
      }
      const workers = await Promise.all(kids);
      await new Promise((r) => setTimeout(r, 2000 + o.interval * 1000)); // warm up
      const pids = (await mon.query('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name])).rows.map((r) => r.pid);
      const x0 = Number((await mon.query('SELECT xact_commit FROM pg_stat_database WHERE datname = $1', [name])).rows[0].xact_commit);
      const c0 = pids.reduce((s, p) => s + cpuOf(p), 0);
      const a0 = allPostgresCpu();
      const t0 = Date.now();
      await new Promise((r) => setTimeout(r, o.window * 1000));
      const secs = (Date.now() - t0) / 1000;
      const x1 = Number((await mon.query('SELECT xact_commit FROM pg_stat_database WHERE datname = $1', [name])).rows[0].xact_commit);
      const out = {
        phase: label, tps: Math.round((x1 - x0 - 2) / secs), checksPerSecondExpected: Math.round(o.agents / o.interval),
        backendCpuPercent: +((100 * (pids.reduce((s, p) => s + cpuOf(p), 0) - c0)) / secs).toFixed(1),
        allPostgresCpuPercent: +((100 * (allPostgresCpu() - a0)) / secs).toFixed(1), backends: pids.length,
      };
      if (propagate) {
        const at = Date.now();
        await mon.query(`INSERT INTO settings (device_id, key, value) VALUES (NULL, 'bench_marker', $1)
          ON CONFLICT (key) WHERE device_id IS NULL DO UPDATE SET value = EXCLUDED.value`, [String(at)]);
        const limit = Date.now() + Math.max(30_000, 3 * o.interval * 1000);
        while (seen.size < o.agents && Date.now() < limit) await new Promise((r) => setTimeout(r, 20));
        const times = [...seen.values()].map((t) => t - at).sort((a, b) => a - b);
        Object.assign(out, { reached: `${seen.size}/${o.agents}`, medianMs: times[Math.floor(times.length / 2)] ?? null, allMs: seen.size === o.agents ? times[times.length - 1] : null });
      }
      out.errors = errors;
      for (const w of workers) w.send('stop');
      await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode !== null ? r() : w.on('exit', r)))));
      console.log(JSON.stringify(out));
      return out;
    };

    await phase('unchanged (no NOTIFY) + propagate', 'unchanged', false, true);
    await phase('unchanged (NOTIFY) + propagate', 'unchanged', true, true);
    await phase('reload every check', 'reload', false, false);
    await phase('unchanged, new connection per check', 'connect', false, false);
  } finally {
    await mon.end().catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
