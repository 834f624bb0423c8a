#!/usr/bin/env node
/* global process, console, setTimeout, setInterval, clearInterval */
// Fleet load on PostgreSQL: many simulated agents, each the agent's OWN config sync (dist's
// ConfigSync with its check-in heartbeat, listen auto, reload spread) over its OWN connection pool
// (dist's openPostgres: a real client connection per agent), spread over --procs worker processes,
// against a private PostgreSQL server the bench starts (initdb in a temp folder).
//
//   bouncer  --agents agents through ONE PgBouncer in transaction mode (PgBouncer's defaults:
//            default_pool_size 20; max_client_conn raised for the bench only), at the default
//            intervals (heartbeat 60 s, sync 300 s: one check-in every 60 s), in real time: agents
//            start spread over one tick so their phases are uniform as in a real fleet. Prints
//            transactions/s, CPU of the PostgreSQL backends and of PgBouncer over --window s, the
//            server connections (max seen), then one global change (a global setting) and when
//            each agent applied it (propagation; the reload spread included).
//   notify   --notify-agents agents DIRECTLY on PostgreSQL with NOTIFY (listen auto proves
//            delivery): one global change, time until every agent applied it.
// CPU = utime+stime from /proc/<pid>/stat (CLK_TCK 100) of the database's backends (pids in
// pg_stat_activity), resp. of the pgbouncer process, in % of one core. "load" = /proc/loadavg at
// the start and end of the window: the machine is shared, the figures are conservative.
//
//   npm run build && node bench/fleet.mjs [--agents 10000] [--procs 4] [--window 60]
//                                         [--notify-agents 500] [--phases bouncer,notify] [--start-over 180]
// (--start-over: seconds over which the PgBouncer phase's agents start; a multiple of the 60 s tick
// keeps their check-ins uniform, as in a fleet whose machines did not all boot in the same minute)
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startPgBouncer, startPrivatePg } from './servers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = (p) => path.resolve(here, '../dist', p);
const TICKS = 100;
const DB = 'fleet';

function args(argv) {
  const o = {
    agents: 10000,
    procs: 4,
    window: 60,
    notifyAgents: 500,
    phases: 'bouncer,notify',
    startOver: 180,
    worker: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (k === 'worker') o.worker = true;
    else o[k] = k === 'phases' ? argv[++i] : Number(argv[++i]);
  }
  return o;
}

// ---------------------------------------------------------------- worker: a slice of the fleet
async function worker() {
  const { openPostgres } = await import(dist('db/index.js'));
  const { ConfigSync } = await import(dist('sync/config-sync.js'));
  const { systemClock } = await import(dist('clock.js'));
  const { url, devices, spreadMs, dataRoot } = JSON.parse(process.env.FLEET_JOB);
  const counts = { warn: 0, error: 0, lastWarn: '', kinds: {} };
  const note = (o, m) => {
    const k = `${m ?? o} ${o?.err ?? ''}`.replace(/fleet-\d+/g, 'fleet-N').slice(0, 160);
    counts.kinds[k] = (counts.kinds[k] ?? 0) + 1;
    counts.lastWarn = k;
  };
  const logger = {
    debug() {},
    info() {},
    trace() {},
    warn(o, m) {
      counts.warn++;
      note(o, m);
    },
    error(o, m) {
      counts.error++;
      note(o, m);
    },
  };
  let markFrom = Infinity;
  const agents = [];
  const startOne = async (id) => {
    const db = await openPostgres({ connectionString: url, connectAttempts: 8, sslMode: 'disable' });
    const dataDir = path.join(dataRoot, id);
    fs.mkdirSync(dataDir, { recursive: true });
    const sync = new ConfigSync({
      db,
      deviceId: id,
      dataDir,
      clock: systemClock,
      logger,
      localZone: 'UTC',
      listen: 'auto',
      heartbeat: { hostname: 'bench', metadata: { agent_version: 'bench' } },
      onChange: () => {
        // with the reload spread this agent waited (the last one drawn), to tell the spread from the rest
        if (Date.now() >= markFrom)
          process.send({ seen: id, at: Date.now(), spread: sync.reloadDelaysMs[sync.reloadDelaysMs.length - 1] ?? 0 });
      },
    });
    await sync.loadInitial();
    await sync.start();
    agents.push({ db, sync });
  };
  // Start spread over `spreadMs`, so the check-ins of the fleet are spread like a real one's.
  const t0 = Date.now();
  await Promise.all(
    devices.map(
      (id, i) =>
        new Promise((resolve) =>
          setTimeout(
            () =>
              startOne(id).then(resolve, (err) => {
                counts.error++;
                counts.lastWarn = String(err?.message ?? err);
                resolve();
              }),
            (i / devices.length) * spreadMs,
          ),
        ),
    ),
  );
  process.send({ ready: true, started: agents.length, ms: Date.now() - t0 });
  process.on('message', async (m) => {
    if (m.mark) {
      markFrom = m.mark;
      return;
    }
    if (m === 'checks') {
      process.send({ checks: agents.reduce((s, a) => s + a.sync.checks, 0) });
      return;
    }
    if (m === 'stats') {
      process.send({
        stats: {
          ...counts,
          listening: agents.filter((a) => a.sync.status().listening).length,
          polling: agents.filter((a) => a.sync.status().pollingReason).length,
          delays: agents.flatMap((a) => a.sync.reloadDelaysMs),
        },
      });
      return;
    }
    if (m !== 'stop') return;
    await Promise.all(
      agents.map(async (a) => {
        await a.sync.stop();
        await a.db.close();
      }),
    );
    process.exit(0);
  });
}

// ---------------------------------------------------------------- coordinator
function cpuOf(pid) {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / TICKS; // utime + stime (proc(5) fields 14, 15)
  } catch {
    return 0;
  }
}
const loadavg = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function runPhase(o, { label, url, adminUrl, db: DB, mon, agents, bouncerPid, spreadMs, window, settleMs }) {
  const ids = Array.from({ length: agents }, (_, i) => `fleet-${i + 1}`);
  const dataRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-fleet-'));
  const seen = new Map();
  const spreads = new Map();
  const kids = [];
  const stats = [];
  const checkReplies = [];
  const checkIns = async () => {
    checkReplies.length = 0;
    for (const w of workers) w.kid.send('checks');
    while (checkReplies.length < workers.length) await sleep(20);
    return checkReplies.reduce((s, n) => s + n, 0);
  };
  const procs = Math.min(o.procs, agents);
  for (let p = 0; p < procs; p++) {
    const devices = ids.filter((_, i) => i % procs === p);
    const kid = fork(fileURLToPath(import.meta.url), ['--worker'], {
      env: { ...process.env, FLEET_JOB: JSON.stringify({ url, devices, spreadMs, dataRoot }) },
    });
    kid.on('message', (m) => {
      if (m.seen && !seen.has(m.seen)) {
        seen.set(m.seen, m.at);
        spreads.set(m.seen, m.spread ?? 0);
      }
      if (m.stats) stats.push(m.stats);
      if (m.checks !== undefined) checkReplies.push(m.checks);
    });
    kids.push(
      new Promise((resolve) => kid.on('message', (m) => m.ready && resolve({ kid, started: m.started, ms: m.ms }))),
    );
  }
  const workers = await Promise.all(kids);
  const started = workers.reduce((s, w) => s + w.started, 0);
  await sleep(settleMs); // the last starters finish their first load and listen probe; reconnects settle

  const q = async (text, params) => (await mon.query(text, params)).rows;
  const backendPids = async () =>
    (await q('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [DB])).map(
      (r) => r.pid,
    );
  const xacts = async () =>
    Number((await q('SELECT xact_commit FROM pg_stat_database WHERE datname = $1', [DB]))[0].xact_commit);
  let maxConns = 0;
  const sampler = setInterval(() => {
    void backendPids().then(
      (p) => {
        maxConns = Math.max(maxConns, p.length);
      },
      () => undefined,
    );
  }, 1000);
  const load0 = loadavg();
  const pids0 = await backendPids();
  const cpu0 = new Map(pids0.map((p) => [p, cpuOf(p)]));
  const b0 = bouncerPid ? cpuOf(bouncerPid) : 0;
  const statements = (await q("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")).length > 0;
  if (statements) await q('SELECT pg_stat_statements_reset()');
  const c0 = await checkIns();
  const x0 = await xacts();
  const t0 = Date.now();
  await sleep(window * 1000);
  const secs = (Date.now() - t0) / 1000;
  const x1 = await xacts();
  const c1 = await checkIns();
  const pids1 = await backendPids();
  // backends that ended in the window lose their CPU from the sum: counted as 0 (they are few: the pool is stable)
  const backendCpu = pids1.reduce((s, p) => s + cpuOf(p) - (cpu0.get(p) ?? 0), 0);
  const out = {
    phase: label,
    agents: started,
    windowSeconds: Math.round(secs),
    tps: Math.round((x1 - x0) / secs),
    agentCheckInsPerSecond: Math.round((c1 - c0) / secs),
    backendCpuPercentOfOneCore: +((100 * backendCpu) / secs).toFixed(1),
    ...(bouncerPid ? { pgbouncerCpuPercentOfOneCore: +((100 * (cpuOf(bouncerPid) - b0)) / secs).toFixed(1) } : {}),
    serverConnections: pids1.length,
    serverConnectionsMax: maxConns,
    loadavg: `${load0} -> ${loadavg()}`,
  };
  if (statements) {
    out.topStatements = (
      await q(
        `SELECT calls, round(total_exec_time) AS ms, left(regexp_replace(query, '\\s+', ' ', 'g'), 90) AS query
      FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1 ORDER BY calls DESC LIMIT 6`,
        [DB],
      )
    ).map((r) => `${r.calls}x ${r.ms} ms: ${r.query}`);
  }

  // One global change (all agents reload): when did each apply it?
  const at = Date.now();
  for (const w of workers) w.kid.send({ mark: at });
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(
    "UPDATE settings SET value = (value::int + 1)::text WHERE device_id IS NULL AND key = 'run_retention_days'",
  );
  await admin.end();
  const limit = at + 150_000; // two ticks and a half: anything later is reported as not reached
  while (seen.size < started && Date.now() < limit) await sleep(50);
  clearInterval(sampler);
  const times = [...seen.values()].map((t) => t - at).sort((a, b) => a - b);
  const pct = (f) => (times.length ? times[Math.min(times.length - 1, Math.floor(f * times.length))] : null);
  // a reload herd shows as many full loads in the same second: the busiest second of the propagation
  const perSecond = new Map();
  for (const t of times) perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
  Object.assign(out, {
    reached: `${seen.size}/${started}`,
    propagationMs: { median: pct(0.5), p99: pct(0.99), all: seen.size === started ? times[times.length - 1] : null },
    // propagation less the reload spread the agent drew: NOTIFY delivery, check-in and reload
    outsideSpreadMs: (() => {
      const rest = [...seen.entries()].map(([id, t]) => t - at - (spreads.get(id) ?? 0)).sort((a, b) => a - b);
      const q = (f) => (rest.length ? rest[Math.min(rest.length - 1, Math.floor(f * rest.length))] : null);
      return { median: q(0.5), p99: q(0.99), max: rest.length ? rest[rest.length - 1] : null };
    })(),
    busiestSecondReloads: Math.max(0, ...perSecond.values()),
    serverConnectionsMaxAll: maxConns,
  });
  for (const w of workers) w.kid.send('stats');
  await sleep(1000);
  const delays = stats.flatMap((s) => s.delays);
  Object.assign(out, {
    listening: stats.reduce((s, x) => s + x.listening, 0),
    polling: stats.reduce((s, x) => s + x.polling, 0),
    reloadSpreadMs: delays.length ? { n: delays.length, max: Math.max(...delays) } : null,
    agentWarnings: stats.reduce((s, x) => s + x.warn, 0),
    agentErrors: stats.reduce((s, x) => s + x.error, 0),
  });
  const kinds = {};
  for (const s of stats) for (const [k, v] of Object.entries(s.kinds)) kinds[k] = (kinds[k] ?? 0) + v;
  out.agentLogWarnings = Object.fromEntries(
    Object.entries(kinds)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5),
  );
  for (const w of workers) w.kid.send('stop');
  await Promise.all(workers.map((w) => new Promise((r) => (w.kid.exitCode !== null ? r() : w.kid.on('exit', r)))));
  fs.rmSync(dataRoot, { recursive: true, force: true });
  console.log(JSON.stringify(out));
  return out;
}

async function main() {
  const o = args(process.argv.slice(2));
  if (o.worker) return worker();
  const { openPostgres, migrate } = await import(dist('db/index.js'));
  const phases = o.phases.split(',');
  // 2 connections per agent (pool + LISTEN) and room for a pool's burst at start (a second pool
  // connection while the first serves a statement): the bench measures delivery, not this limit.
  const need = Math.max(o.notifyAgents * 3 + 50, 100);
  // pg_stat_statements (postgresql-contrib, part of Debian's postgresql-15): which statements the fleet runs
  const server = await startPrivatePg({
    max_connections: need,
    shared_buffers: '128MB',
    shared_preload_libraries: 'pg_stat_statements',
  });
  let bouncer = null;
  try {
    const monitor = new pg.Client({ connectionString: server.url() });
    await monitor.connect();
    await monitor.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    const seedDb = async (name, n) => {
      const admin = new pg.Client({ connectionString: server.url() });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      await admin.end();
      const db = await openPostgres({ connectionString: server.url(name), connectAttempts: 1 });
      await migrate(db);
      await db.query(`INSERT INTO repositories (name, url, password) VALUES ('fleet', '/srv/restic', 'x')`);
      // registered as the agent's upsertDevice would have (so the first heartbeat changes nothing)
      await db.query(
        `INSERT INTO devices (id, name, hostname, metadata) SELECT 'fleet-' || g, 'Fleet ' || g, 'bench', '{"agent_version":"bench"}' FROM generate_series(1, ${n}) g`,
      );
      await db.query(
        `INSERT INTO backup_jobs (device_id, name, source_paths, repository_id) SELECT id, 'Home', ARRAY['/home'], (SELECT id FROM repositories) FROM devices`,
      );
      await db.query(
        `INSERT INTO schedules (job_id, schedule_type, cron_expression) SELECT id, 'cron', '0 3 * * *' FROM backup_jobs`,
      );
      await db.query('ANALYZE');
      await db.close();
      return server.url(name);
    };
    console.log(
      `fleet bench: ${os.cpus().length} cores, load ${loadavg()}, PostgreSQL ${(await monitor.query('SHOW server_version')).rows[0].server_version} (private, max_connections ${need}), ${o.procs} worker processes`,
    );
    if (phases.includes('bouncer')) {
      await seedDb(DB, o.agents);
      bouncer = await startPgBouncer({
        serverPort: server.port,
        poolMode: 'transaction',
        settings: { max_client_conn: o.agents * 2 + 100 },
      });
      await runPhase(o, {
        label: 'PgBouncer transaction mode, default intervals (check-in every 60 s)',
        url: bouncer.url(DB),
        adminUrl: server.url(DB),
        db: DB,
        mon: monitor,
        agents: o.agents,
        bouncerPid: bouncer.pid,
        spreadMs: o.startOver * 1000,
        window: o.window,
        settleMs: 5000,
      });
      await bouncer.stop();
      bouncer = null;
    }
    if (phases.includes('notify')) {
      const url = await seedDb(`${DB}_notify`, o.notifyAgents);
      await runPhase(o, {
        label: 'direct with NOTIFY',
        url,
        adminUrl: url,
        db: `${DB}_notify`,
        mon: monitor,
        agents: o.notifyAgents,
        bouncerPid: null,
        spreadMs: 60_000,
        window: Math.min(o.window, 20),
        settleMs: 30_000,
      });
    }
    await monitor.end();
  } finally {
    await bouncer?.stop();
    server.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
