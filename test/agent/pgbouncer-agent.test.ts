/**
 * Issue 22: the agent behind a real PgBouncer (Debian's package, default settings plus pool_mode,
 * on a free loopback port) in front of a private PostgreSQL server this file stops and starts.
 * In each mode the agent, through PgBouncer only: starts on an empty database, migrates and
 * registers; picks up a change made by plain SQL (transaction mode: by polling, within its sync
 * interval; session mode: by NOTIFY, at once); backs up with real restic; survives PostgreSQL
 * going away behind PgBouncer and writes its journalled runs once it is back.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../src/app.js';
import { pgbouncerAvailable, startPgBouncer, type PgBouncer } from '../helpers/pgbouncer.js';
import { privatePgAvailable, startPrivatePg, type PrivatePg } from '../helpers/private-pg.js';
import {
  captureLog,
  localConfig,
  makeWorkspace,
  PASSWORD,
  sleep,
  waitFor,
  type CapturedLog,
  type Workspace,
} from '../sync/harness.js';

const modes = ['transaction', 'session'] as const;

describe.runIf(privatePgAvailable() && pgbouncerAvailable())(
  'the agent behind PgBouncer (real PgBouncer, private PostgreSQL, real restic)',
  () => {
    let server: PrivatePg;
    let ws: Workspace;
    const agents: Agent[] = [];
    const bouncers: PgBouncer[] = [];

    const sql = async <T extends pg.QueryResultRow>(db: string, text: string, params: unknown[] = []) => {
      const c = new pg.Client({ connectionString: server.url(db) });
      await c.connect();
      try {
        return (await c.query<T>(text, params)).rows;
      } finally {
        await c.end();
      }
    };

    beforeAll(async () => {
      server = await startPrivatePg();
      for (const m of modes) await sql('postgres', `CREATE DATABASE rb_${m}`);
      ws = makeWorkspace(true);
    }, 180_000);

    afterAll(async () => {
      for (const a of agents) await a.stop('test done').catch(() => undefined);
      for (const b of bouncers) await b.destroy();
      await server?.destroy();
      ws?.cleanup();
    }, 60_000);

    for (const mode of modes) {
      it(`${mode} mode: starts, migrates, registers, picks up an SQL change ${mode === 'session' ? 'by NOTIFY' : 'within its sync interval'}, backs up, survives an outage and replays its journal`, async () => {
        const dbName = `rb_${mode}`;
        const device = `bouncer-${mode}`;
        const bouncer = await startPgBouncer({ poolMode: mode, serverPort: server.port });
        bouncers.push(bouncer);
        const local = localConfig(ws.dir, device, bouncer.url(dbName));
        const start = async (log: CapturedLog) => {
          const a = await startAgent({ local, logger: log.logger, http: false });
          agents.push(a);
          return a;
        };

        // 1. An empty database: the agent migrates (transaction-scoped advisory lock) and registers.
        const first = await start(captureLog());
        await first.stop('migrated');
        const migrations = await sql<{ n: string }>(dbName, 'SELECT count(*) AS n FROM schema_migrations');
        expect(Number(migrations[0]?.n)).toBeGreaterThanOrEqual(5);
        expect(await sql(dbName, 'SELECT id FROM devices WHERE id = $1', [device])).toHaveLength(1);

        // 2. The admin configures it by plain SQL (directly on PostgreSQL); the agent starts again.
        const syncSeconds = mode === 'transaction' ? 4 : 120;
        await sql(dbName, "INSERT INTO settings (device_id, key, value) VALUES ($1, 'sync_interval_seconds', $2)", [
          device,
          String(syncSeconds),
        ]);
        const repo = await sql<{ id: string }>(
          dbName,
          'INSERT INTO repositories (name, url, password) VALUES ($1, $2, $3) RETURNING id',
          [`repo-${mode}`, ws.repoDir, PASSWORD],
        );
        const job = await sql<{ id: string }>(
          dbName,
          "INSERT INTO backup_jobs (device_id, name, source_paths, repository_id) VALUES ($1, 'Home', $2, $3) RETURNING id",
          [device, [ws.sourceDir], repo[0]?.id],
        );
        const jobId = job[0]?.id as string;
        await sql(
          dbName,
          "INSERT INTO schedules (job_id, schedule_type, interval_seconds) VALUES ($1, 'interval', 5)",
          [jobId],
        );
        const log = captureLog();
        const agent = await start(log);
        const statuses: string[] = [];
        agent.service.events.on('run.finished', (e) => statuses.push(e.status));
        const st = await agent.service.status();
        expect(st.database.connected).toBe(true);
        if (mode === 'transaction') {
          await waitFor(
            'auto: polling announced',
            async () => (await agent.service.status()).database.pollingReason !== null,
            15_000,
          );
          expect((await agent.service.status()).database.listening).toBe(false);
          expect(log.find('NOTIFY is not delivered')).toHaveLength(1);
        } else {
          expect(st.database).toMatchObject({ listening: true, pollingReason: null });
        }

        // 3. A change by plain SQL reaches the agent: within the sync interval (+10 %) by polling, or
        //    at once by NOTIFY (the sync interval is 120 s there).
        const runsInDb = async () =>
          Number(
            (
              await sql<{ n: string }>(
                dbName,
                "SELECT count(*) AS n FROM runs WHERE device_id = $1 AND status = 'success'",
                [device],
              )
            )[0]?.n,
          );
        await waitFor('a first recorded backup', async () => (await runsInDb()) >= 1, 40_000);
        const changedAt = Date.now();
        await sql(dbName, 'UPDATE backup_jobs SET source_paths = $1 WHERE id = $2', [
          [ws.sourceDir, `${ws.sourceDir}/.`],
          jobId,
        ]);
        await waitFor(
          'the SQL change on the agent',
          async () => (await agent.service.status()).jobs[0]?.sourcePaths.length === 2,
          20_000,
        );
        const took = Date.now() - changedAt;
        expect(took).toBeLessThan(mode === 'transaction' ? syncSeconds * 1100 : 3000);
        await sql(dbName, 'UPDATE backup_jobs SET source_paths = $1 WHERE id = $2', [[ws.sourceDir], jobId]);

        // 4. PostgreSQL goes away behind PgBouncer: backups go on, journalled; then it comes back.
        const before = await runsInDb();
        await server.stop('fast');
        const during = statuses.length;
        // noticed at the next check-in: within one tick (60 s: the heartbeat interval) plus a loaded machine's slack
        await waitFor(
          'the agent notices the outage',
          async () => !(await agent.service.status()).database.connected,
          100_000,
        );
        await waitFor(
          'backups during the outage',
          () => statuses.slice(during).filter((s) => s === 'success').length >= 2,
          60_000,
        );
        const pending = (await agent.service.status()).database.pendingJournalEntries;
        expect(pending).toBeGreaterThanOrEqual(1);
        await server.start();
        await waitFor(
          'reconnected through PgBouncer',
          async () => (await agent.service.status()).database.connected,
          90_000,
        );
        await waitFor('journalled runs in the database', async () => (await runsInDb()) >= before + 2, 90_000);
        expect(log.find('database reachable again').length).toBeGreaterThanOrEqual(1);
        // No refused startup parameter anywhere in the agent's log.
        expect(log.lines.filter((l) => /startup parameter/.test(JSON.stringify(l)))).toEqual([]);
        await sleep(100);
      }, 300_000);
    }
  },
);
