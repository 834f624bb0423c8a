/**
 * Issue 18 points 2, 4, 5 on the real agent (startAgent, in process) with real restic 0.14, on
 * PostgreSQL and on the embedded PGlite: a backup of a job with `keep_last: 1` is followed by a
 * forget of that job (its snapshots only); prune and check run on their schedules (cron every 10
 * s) with `check_read_data_subset`; GET /repositories shows the size (restic stats after prune),
 * snapshot count and last forget/prune/check; the metrics carry backup_repository_size_bytes and the
 * operations' last success; a check of a damaged repository (its index deleted) is a failed run
 * with restic's errors and a run.finished event of operation check, status failed.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../src/app.js';
import { parseLocalConfig } from '../../src/config/local-config.js';
import {
  addJob,
  addRepository,
  addSchedule,
  migrate,
  openDatabase,
  setSetting,
  upsertDevice,
} from '../../src/db/index.js';
import { createTempPgDatabase } from '../helpers/databases.js';
import { waitFor } from '../helpers/wait.js';

const PASSWORD = 'maintenance pw';
const TOKEN = 'maintenance-test-token-0123456789';

describe.each(['postgres', 'pglite'] as const)('maintenance on the real agent (%s)', (kind) => {
  let tmp = '';
  let repoDir = '';
  let agent: Agent;
  let dropDb: (() => Promise<void>) | null = null;
  let job = '';
  let other = '';
  const finished: { operation: string; status: string; errorMessage: string | null }[] = [];
  const restic = (args: string[]) =>
    execFileSync('restic', args, {
      env: {
        PATH: process.env.PATH,
        RESTIC_REPOSITORY: repoDir,
        RESTIC_PASSWORD: PASSWORD,
        RESTIC_CACHE_DIR: path.join(tmp, 'tc'),
      },
      encoding: 'utf8',
    });
  const count = (j: string) =>
    (JSON.parse(restic(['snapshots', '--json', '--no-lock', '--tag', `backup:${j}`])) as unknown[] | null)?.length ?? 0;
  const runs = async () =>
    (
      await agent.db.query<{
        operation: string;
        status: string;
        metadata: Record<string, unknown>;
        error_message: string | null;
      }>('SELECT operation, status, metadata, error_message FROM runs ORDER BY id')
    ).rows;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), `rbackup2-maint-${kind}-`));
    repoDir = path.join(tmp, 'repo');
    restic(['init']);
    const src = path.join(tmp, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'a.txt'), 'a'.repeat(50_000));
    let dbSection = '';
    if (kind === 'postgres') {
      const pgdb = await createTempPgDatabase();
      dropDb = pgdb.drop;
      dbSection = `database:\n  url: "${pgdb.url}"\n`;
    }
    const yaml = `device:\n  id: maint-dev\n${dbSection}client:\n  http_bind: "127.0.0.1:0"\n  api_token: "${TOKEN}"\n  data_dir: "${path.join(tmp, 'data')}"\n  log_file: "${path.join(tmp, 'data', 'agent.log')}"\n  shutdown_timeout_seconds: 5\n`;
    const local = parseLocalConfig(yaml, path.join(tmp, 'config.yaml'), {});
    const seed = await openDatabase({ database: local.database, dataDir: local.dataDir });
    try {
      await migrate(seed);
      await upsertDevice(seed, { id: 'maint-dev' });
      const repo = await addRepository(seed, { name: 'disk', url: repoDir, password: PASSWORD });
      job = (await addJob(seed, { deviceId: 'maint-dev', name: 'docs', sourcePaths: [src], repositoryId: repo.id })).id;
      other = (await addJob(seed, { deviceId: 'maint-dev', name: 'other', sourcePaths: [src], repositoryId: repo.id }))
        .id;
      await seed.query(`UPDATE backup_jobs SET retention = '{"keep_last": 1}' WHERE id = $1`, [job]);
      for (const [k, v] of Object.entries({
        prune_schedule: '*/10 * * * * *',
        check_schedule: '5,25,45 * * * * *',
        check_read_data_subset: '50%',
      }))
        await setSetting(seed, { deviceId: null, key: k, value: v });
      await addSchedule(seed, { jobId: job, type: 'interval', intervalSeconds: 3 });
    } finally {
      await seed.close();
    }
    // Two snapshots of the other job: a forget of `docs` must never touch them.
    restic(['backup', '-q', '--tag', `backup:${other}`, src]);
    restic(['backup', '-q', '--tag', `backup:${other}`, src]);
    agent = await startAgent({ local, logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'warn' }) });
    agent.service.events.on('run.finished', (e) =>
      finished.push({ operation: e.operation, status: e.status, errorMessage: e.errorMessage }),
    );
  }, 180_000);

  afterAll(async () => {
    await agent?.stop('test done');
    await dropDb?.();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  it('forget after each backup, prune and check on schedule, the repository view and metrics', async () => {
    await waitFor(
      'backups, forgets, a prune and a check',
      async () => {
        const r = await runs();
        const ok = (op: string) => r.filter((x) => x.operation === op && x.status === 'success').length;
        return ok('backup') >= 2 && ok('forget') >= 2 && ok('prune') >= 1 && ok('check') >= 1 ? r : null;
      },
      90_000,
    );
    const r = await runs();
    expect(r.filter((x) => x.status === 'failed')).toEqual([]);
    const check = r.find((x) => x.operation === 'check' && x.status === 'success');
    expect(check?.metadata).toMatchObject({ read_data_subset: '50%', error_count: 0 });
    // At most one snapshot of docs (the forget after the last backup may still be queued: <= 2).
    expect(count(job)).toBeLessThanOrEqual(2);
    expect(count(other)).toBe(2);
    const api = await fetch(`${agent.url ?? ''}/repositories`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(api.status).toBe(200);
    const repos = (
      (await api.json()) as { repositories: import('../../src/maintenance/repository-view.js').RepositoryView[] }
    ).repositories;
    expect(repos).toHaveLength(1);
    const v = repos[0]!;
    expect(v).toMatchObject({ name: 'disk', error: null, prune_schedule: '*/10 * * * * *' });
    expect(v.restic_repository_id).toMatch(/^[0-9a-f]{64}$/);
    expect(v.size_bytes).toBeGreaterThan(0);
    expect(v.snapshot_count).toBeGreaterThanOrEqual(3);
    for (const op of ['forget', 'prune', 'check']) expect(v.last[op]?.last_success_at, op).toBeTruthy();
    const res = await fetchMetrics(agent);
    expect(res).toMatch(new RegExp(`backup_repository_size_bytes\\{[^}]*repository="disk"[^}]*\\} [1-9]`));
    expect(res).toMatch(/rbackup2_operation_last_success_timestamp\{[^}]*operation="prune"/);
  }, 120_000);

  it('a check of a damaged repository is a failed run with restic errors and a check failure event', async () => {
    // The index is gone: restic check reports the trees it cannot find (quickly; a missing pack
    // file would make restic 0.14 retry reading it for minutes).
    const index = path.join(repoDir, 'index');
    expect(fs.readdirSync(index).length).toBeGreaterThan(0);
    for (const f of fs.readdirSync(index)) fs.rmSync(path.join(index, f));
    await db(agent).query('DELETE FROM schedules WHERE job_id = $1', [job]);
    const failed = await waitFor(
      'a failed check',
      async () => finished.find((e) => e.operation === 'check' && e.status === 'failed') ?? null,
      60_000,
    );
    expect(failed.errorMessage).toMatch(/restic check found errors in repository "disk"/);
    const row = (await runs()).reverse().find((x) => x.operation === 'check' && x.status === 'failed');
    expect((row?.metadata.error_count as number) > 0).toBe(true);
  }, 90_000);
});

function db(agent: Agent) {
  return agent.db;
}

async function fetchMetrics(agent: Agent): Promise<string> {
  const res = await fetch(`${agent.url ?? ''}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return res.text();
}
