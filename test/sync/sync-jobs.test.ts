/**
 * Issue 6: a job inserted, rescheduled, disabled and deleted by plain SQL is scheduled,
 * rescheduled and dropped by the running agent's scheduler (seen through AgentService.status()).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../src/app.js';
import type { AgentStatus } from '../../src/api/agent-port.js';
import { createTempPgDatabase } from '../helpers/databases.js';
import { captureLog, localConfig, makeWorkspace, seedFor, waitFor, type Workspace } from './harness.js';

const DEVICE = 'sync-jobs';
type JobStatus = AgentStatus['jobs'][number];

for (const kind of ['postgres', 'pglite'] as const) {
  describe(`jobs changed by SQL reach the scheduler [${kind}]`, () => {
    let ws: Workspace;
    let agent: Agent;
    let drop: (() => Promise<void>) | null = null;

    const job = async (name: string): Promise<JobStatus | undefined> =>
      (await agent.service.status()).jobs.find((j) => j.name === name);
    const nextRunOf = async (name: string) => (await job(name))?.nextRunAt ?? null;

    beforeAll(async () => {
      ws = makeWorkspace();
      let url: string | null = null;
      if (kind === 'postgres') {
        const tmp = await createTempPgDatabase();
        drop = tmp.drop;
        url = tmp.url;
      }
      const local = localConfig(ws.dir, DEVICE, url);
      await seedFor(local, { device: DEVICE, repoDir: ws.repoDir, sourceDir: ws.sourceDir });
      agent = await startAgent({ local, logger: captureLog().logger, http: false });
    }, 120_000);

    afterAll(async () => {
      await agent?.stop('test done');
      await drop?.();
      ws?.cleanup();
    });

    it('insert -> scheduled; new cron -> rescheduled; disabled -> no next run; deleted -> gone', async () => {
      const db = agent.db; // SQL as an admin would type it (PGlite: one process, so through the agent's instance)
      await db.query(
        `WITH j AS (
          INSERT INTO backup_jobs (device_id, name, source_paths, repository_id)
          SELECT $1, 'Added by SQL', ARRAY[$2], id FROM repositories LIMIT 1 RETURNING id)
        INSERT INTO schedules (job_id, schedule_type, cron_expression, timezone) SELECT id, 'cron', '0 4 1 1 *', 'UTC' FROM j`,
        [DEVICE, ws.sourceDir],
      );
      const first = await waitFor('new job scheduled', () => nextRunOf('Added by SQL'), 5000);
      expect(new Date(first).getUTCHours()).toBe(4);
      expect(new Date(first).getUTCDate()).toBe(1);

      await db.query(
        `UPDATE schedules SET cron_expression = '30 5 2 2 *' WHERE job_id = (SELECT id FROM backup_jobs WHERE name = 'Added by SQL')`,
      );
      const second = await waitFor(
        'rescheduled',
        async () => {
          const n = await nextRunOf('Added by SQL');
          return n !== first ? n : null;
        },
        5000,
      );
      expect([
        new Date(second).getUTCMonth(),
        new Date(second).getUTCDate(),
        new Date(second).getUTCHours(),
        new Date(second).getUTCMinutes(),
      ]).toEqual([1, 2, 5, 30]);

      await db.query(`UPDATE backup_jobs SET enabled = false WHERE name = 'Added by SQL'`);
      const disabled = await waitFor(
        'disabled',
        async () => {
          const j = await job('Added by SQL');
          return j && !j.enabled ? j : null;
        },
        5000,
      );
      expect(disabled.nextRunAt).toBeNull();

      await db.query(`UPDATE backup_jobs SET enabled = true WHERE name = 'Added by SQL'`);
      expect(await waitFor('enabled again', () => nextRunOf('Added by SQL'), 5000)).toBe(second);

      await db.query(`DELETE FROM backup_jobs WHERE name = 'Added by SQL'`);
      await waitFor('deleted', async () => (await job('Added by SQL')) === undefined, 5000);
      // the seeded job was never touched
      expect((await agent.service.status()).jobs.map((j) => j.name)).toEqual([`Job of ${DEVICE}`]);
    }, 60_000);
  });
}
