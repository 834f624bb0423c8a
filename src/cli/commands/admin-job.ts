/** `rbackup2 job add|list|remove`: manage `backup_jobs` (and a first schedule) without SQL. */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { jobValueProblems } from '../../config/input-check.js';
import type { Queryable } from '../../db/index.js';
import { AppError } from '../../errors.js';
import { formatTable } from '../output.js';
import {
  collect,
  deviceFor,
  loadAdminConfig,
  positiveInt,
  withDatabase,
  type DbApi,
  type GlobalOptions,
} from '../context.js';
import { describeScheduleShort, scheduleFromView } from './schedule-text.js';
import { agentRequest, directOrViaAgent } from '../agent-client.js';
import type { ConfigView } from '../../api/agent-port.js';

interface JobAddOptions {
  path: string[];
  exclude?: string[];
  tag?: string[];
  resticArg?: string[];
  repo?: string;
  device?: string;
  description?: string;
  interval?: number;
  cron?: string;
  timezone?: string;
  catchUp: boolean;
}

async function repositoryId(q: DbApi, db: Queryable, ref: string | undefined): Promise<string | null> {
  if (!ref) return null;
  const repo = await q.getRepository(db, ref);
  if (!repo) throw new AppError('NOT_FOUND', `repository "${ref}" not found (see rbackup2 repo list)`);
  return repo.id;
}

/** Register the `job` command group on `program`. */
export function registerJobCommands(program: Command): void {
  const job = program.command('job').description('manage backup jobs');
  const globals = (): GlobalOptions => program.opts<GlobalOptions>();

  job
    .command('add <name>')
    .description('add a backup job, optionally with a schedule')
    .requiredOption('--path <path>', 'source path to back up (repeat for several)', collect)
    .option('--exclude <pattern>', 'restic exclude pattern (repeatable)', collect)
    .option('--tag <tag>', 'extra snapshot tag (repeatable)', collect)
    .option('--restic-arg <arg>', 'extra restic argument, one per option (repeatable)', collect)
    .option('--repo <name-or-id>', 'repository (default: the repository_* settings)')
    .option('--device <id>', 'device (default: device.id of the config)')
    .option('--description <text>', 'description')
    .option('--interval <seconds>', 'add an interval schedule', positiveInt('--interval'))
    .option('--cron <expression>', 'add a cron schedule (5 fields, or 6 with seconds)')
    .option('--timezone <zone>', "IANA time zone of the cron schedule (default: the device's)")
    .option('--no-catch-up', 'do not run once after a missed due time')
    .action(async (name: string, o: JobAddOptions) => {
      if (o.interval && o.cron) throw new AppError('INVALID_INPUT', 'job add: give --interval or --cron, not both');
      if (o.cron) {
        const { validateCron } = await import('../../scheduler/next-run.js');
        const problem = validateCron(o.cron, o.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone);
        if (problem) throw new AppError('INVALID_INPUT', `--cron "${o.cron}": ${problem}`);
      }
      const problems = jobValueProblems({ sourcePaths: o.path, excludePatterns: o.exclude, resticArgs: o.resticArg });
      if (problems.length > 0) throw new AppError('INVALID_INPUT', `job add ${name}: ${problems.join('; ')}`);
      const local = await loadAdminConfig(globals());
      const deviceId = deviceFor(local, o.device, 'job add');
      for (const p of o.path) {
        if (!existsSync(p))
          console.error(
            `warning: --path ${p} does not exist on this machine (fine if it is a path on device ${deviceId})`,
          );
      }
      const created = await withDatabase(local, (db, q) =>
        db.transaction(async (tx) => {
          if (!o.device) await q.upsertDevice(tx, { id: deviceId, name: local.device.name });
          else if (!(await q.getDevice(tx, deviceId))) {
            throw new AppError(
              'NOT_FOUND',
              `device "${deviceId}" not found (see rbackup2 device list; add it with rbackup2 device add ${deviceId})`,
            );
          }
          const j = await q.addJob(tx, {
            deviceId,
            name,
            description: o.description ?? null,
            sourcePaths: o.path,
            excludePatterns: o.exclude ?? [],
            tags: o.tag ?? [],
            resticArgs: o.resticArg ?? [],
            repositoryId: await repositoryId(q, tx, o.repo),
          });
          if (o.interval || o.cron) {
            await q.addSchedule(tx, {
              jobId: j.id,
              type: o.cron ? 'cron' : 'interval',
              cronExpression: o.cron ?? null,
              intervalSeconds: o.interval ?? null,
              timezone: o.timezone ?? null,
              catchUp: o.catchUp,
            });
          }
          const settings = await q.getEffectiveSettings(tx, deviceId);
          return { job: j, noRepository: !j.repositoryId && !settings.repository_url };
        }),
      );
      console.log(`job ${created.job.name} added: ${created.job.id}`);
      if (created.noRepository) {
        console.error(
          'note: this job has no repository yet: give --repo NAME (see `rbackup2 repo list`), or set the repository_url and repository_password settings (`rbackup2 setting set`)',
        );
      }
    });

  job
    .command('list')
    .description('list jobs with their schedules')
    .option('--device <id>', 'device (default: device.id of the config)')
    .option('--all-devices', 'jobs of every device')
    .action(async (o: { device?: string; allDevices?: boolean }) => {
      const local = await loadAdminConfig(globals());
      const { parseRetention, describeRetention } = await import('../../maintenance/retention-policy.js');
      // The stored policy as `job set-retention` echoes it; a value edited by SQL that the agent
      // cannot use is named as such rather than hidden.
      const retention = (stored: unknown): string => {
        const r = parseRetention(stored);
        return r.ok ? describeRetention(r.policy) : `unusable (${r.problem})`;
      };
      // No device in the config and none asked for: an admin's view, every device.
      const deviceId = o.allDevices ? null : (o.device ?? local.device.id);
      const rows = await directOrViaAgent(
        local,
        () =>
          withDatabase(local, async (db, q) => {
            const jobs = await q.listJobs(db, deviceId === null ? {} : { deviceId });
            const schedules = await q.listSchedules(db);
            return jobs.map((j) => ({
              id: j.id,
              device: j.deviceId,
              name: j.name,
              enabled: j.enabled,
              paths: j.sourcePaths,
              retention: retention(j.retention),
              schedules:
                schedules
                  .filter((s) => s.jobId === j.id)
                  .map(describeScheduleShort)
                  .join('; ') || 'none',
            }));
          }),
        async () => {
          const view = await agentRequest<ConfigView>(local, '/config');
          return view.jobs.map((j) => ({
            id: String(j.id),
            device: view.device.id,
            name: String(j.name),
            enabled: j.enabled === true,
            paths: j.source_paths as string[],
            retention: retention(j.retention),
            schedules:
              ((j.schedules ?? []) as Record<string, unknown>[])
                .map((s) => describeScheduleShort(scheduleFromView(j, s)))
                .join('; ') || 'none',
          }));
        },
      );
      console.log(
        formatTable(rows, [
          { key: 'id', header: 'ID' },
          { key: 'device', header: 'DEVICE' },
          { key: 'name', header: 'NAME' },
          { key: 'enabled', header: 'ENABLED' },
          { key: 'schedules', header: 'SCHEDULES' },
          { key: 'retention', header: 'RETENTION' },
          { key: 'paths', header: 'PATHS' },
        ]),
      );
      if (deviceId !== null)
        console.error(`(jobs of device ${deviceId} only: --all-devices lists every device's, --device ID another's)`);
    });

  job
    .command('remove <name-or-id>')
    .description('remove a job with its schedules and hooks (run history is kept)')
    .option('--device <id>', 'device of a job given by name (default: device.id of the config)')
    .action(async (ref: string, o: { device?: string }) => {
      const local = await loadAdminConfig(globals());
      const j = await withDatabase(local, async (db, q) => {
        const found = await q.resolveJob(db, ref, o.device ?? local.device.id ?? undefined);
        await q.removeJob(db, found.id);
        return found;
      });
      console.log(`job ${j.name} (${j.id}) removed`);
    });

  job
    .command('set-retention <name-or-id>')
    .description("set a job's retention policy (restic keep options; forget runs after each backup), or --none")
    .option('--keep-last <n>', 'keep the n newest snapshots')
    .option('--keep-hourly <n>', 'keep the newest of each of the last n hours')
    .option('--keep-daily <n>', 'keep the newest of each of the last n days')
    .option('--keep-weekly <n>', 'keep the newest of each of the last n weeks')
    .option('--keep-monthly <n>', 'keep the newest of each of the last n months')
    .option('--keep-yearly <n>', 'keep the newest of each of the last n years')
    .option('--keep-within <duration>', 'keep every snapshot within this time of the newest (e.g. 30d, 1y6m)')
    .option('--none', 'no policy: keep everything')
    .option('--device <id>', 'device of a job given by name (default: device.id of the config)')
    .action(async (ref: string, o: Record<string, string | boolean | undefined>) => {
      const { parseRetention, describeRetention } = await import('../../maintenance/retention-policy.js');
      const value: Record<string, unknown> = {};
      for (const k of ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly']) {
        const v = o[`keep${k[0]?.toUpperCase()}${k.slice(1)}`];
        if (typeof v !== 'string') continue;
        if (!/^\d+$/.test(v))
          throw new AppError('INVALID_INPUT', `--keep-${k} must be a whole number >= 0, got "${v}"`);
        value[`keep_${k}`] = Number(v);
      }
      if (typeof o.keepWithin === 'string') value.keep_within = o.keepWithin;
      if (o.none === true && Object.keys(value).length > 0)
        throw new AppError('INVALID_INPUT', 'set-retention: --none cannot go with --keep-* options');
      if (o.none !== true && Object.keys(value).length === 0)
        throw new AppError('INVALID_INPUT', 'set-retention: give --keep-* options or --none');
      const checked = parseRetention(o.none === true ? null : value);
      // The policy's words (keep_within, "use null") are the API's; here the options are named.
      if (!checked.ok)
        throw new AppError(
          'INVALID_INPUT',
          `retention: ${checked.problem
            .replace(/^retention: /, '')
            .replace(/\bkeep_(\w+|\*)/g, '--keep-$1')
            .replace('use null', 'use --none')}`,
        );
      const local = await loadAdminConfig(globals());
      const device = typeof o.device === 'string' ? o.device : (local.device.id ?? undefined);
      const j = await withDatabase(local, async (db, q) => {
        const found = await q.resolveJob(db, ref, device);
        await q.setJobRetention(db, found.id, checked.policy);
        return found;
      });
      console.log(`job ${j.name} (${j.id}): retention ${describeRetention(checked.policy)}`);
    });
}
