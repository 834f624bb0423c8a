/** `rbackup2 schedule add|list|remove`: manage `schedules` rows of a job without SQL. */
import type { Command } from 'commander';
import { AppError } from '../../errors.js';
import { formatTable } from '../output.js';
import { loadAdminConfig, positiveInt, withDatabase, type GlobalOptions } from '../context.js';

const localZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone;

/** Register the `schedule` command group on `program`. */
export function registerScheduleCommands(program: Command): void {
  const schedule = program.command('schedule').description('manage schedules of backup jobs');
  const globals = (): GlobalOptions => program.opts<GlobalOptions>();

  schedule
    .command('add <job>')
    .description('add a cron or interval schedule to a job (name or id)')
    .option('--cron <expression>', 'cron expression (5 fields, or 6 with seconds)')
    .option('--interval <seconds>', 'run every N seconds', positiveInt('--interval'))
    .option('--timezone <zone>', "IANA time zone of a cron schedule (default: the device's)")
    .option('--no-catch-up', 'do not run once after a missed due time')
    .option('--device <id>', 'device of a job given by name (default: device.id of the config)')
    .action(
      async (
        jobRef: string,
        o: { cron?: string; interval?: number; timezone?: string; catchUp: boolean; device?: string },
      ) => {
        if (!!o.cron === !!o.interval)
          throw new AppError('INVALID_INPUT', 'schedule add: give exactly one of --cron, --interval');
        const zone = o.timezone ?? localZone();
        const { validateCron, nextRunTimes } = await import('../../scheduler/next-run.js');
        if (o.cron) {
          const problem = validateCron(o.cron, zone);
          if (problem) throw new AppError('INVALID_INPUT', `--cron "${o.cron}": ${problem}`);
        }
        const local = await loadAdminConfig(globals());
        const s = await withDatabase(local, async (db, q) => {
          const job = await q.resolveJob(db, jobRef, o.device ?? local.device.id ?? undefined);
          return q.addSchedule(db, {
            jobId: job.id,
            type: o.cron ? 'cron' : 'interval',
            cronExpression: o.cron ?? null,
            intervalSeconds: o.interval ?? null,
            timezone: o.timezone ?? null,
            catchUp: o.catchUp,
          });
        });
        const next = nextRunTimes(s, new Date(), 3, { localZone: localZone() }).map((d) => d.toISOString());
        console.log(`schedule #${s.id} added; next runs: ${next.join(', ')}`);
      },
    );

  schedule
    .command('list [job]')
    .description('list schedules (of one job, or all) with their next run')
    .option('--device <id>', 'device of a job given by name (default: device.id of the config)')
    .action(async (jobRef: string | undefined, o: { device?: string }) => {
      const local = await loadAdminConfig(globals());
      const rows = await withDatabase(local, async (db, q) => {
        const jobId = jobRef
          ? (await q.resolveJob(db, jobRef, o.device ?? local.device.id ?? undefined)).id
          : undefined;
        return q.listSchedules(db, jobId);
      });
      console.log(
        formatTable(
          rows.map((s) => ({
            id: s.id,
            job: s.jobId,
            type: s.type,
            when: s.type === 'cron' ? s.cronExpression : `${s.intervalSeconds} s`,
            timezone: s.timezone ?? 'local',
            catchUp: s.catchUp,
            enabled: s.enabled,
            lastRun: s.lastRunAt,
            nextRun: s.nextRunAt,
          })),
          [
            { key: 'id', header: 'ID' },
            { key: 'job', header: 'JOB' },
            { key: 'type', header: 'TYPE' },
            { key: 'when', header: 'WHEN' },
            { key: 'timezone', header: 'ZONE' },
            { key: 'catchUp', header: 'CATCH-UP' },
            { key: 'enabled', header: 'ENABLED' },
            { key: 'lastRun', header: 'LAST RUN' },
            { key: 'nextRun', header: 'NEXT RUN' },
          ],
        ),
      );
    });

  schedule
    .command('remove <id>')
    .description('remove a schedule by its id')
    .action(async (id: string) => {
      const n = Number(id);
      if (!Number.isInteger(n)) throw new AppError('INVALID_INPUT', `schedule id must be a number, got "${id}"`);
      const removed = await withDatabase(await loadAdminConfig(globals()), (db, q) => q.removeSchedule(db, n));
      if (!removed) throw new AppError('NOT_FOUND', `schedule #${id} not found`);
      console.log(`schedule #${id} removed`);
    });
}
