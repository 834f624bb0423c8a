/**
 * The ledger of a fault test: what really happened (snapshots in the restic repository, backups the
 * agent logged as finished) against what the database recorded (the runs table). A run is lost when
 * a snapshot of the job is in no run row, or when fewer rows of a status than finished-logged runs
 * exist; a duplicate is a snapshot id in more than one row. `FaultTable` prints the suite's summary.
 */
import { afterAll, expect } from 'vitest';
import { ProcessGroup, type AgentProcess } from '../helpers/agent-process.js';
import { createTempPgDatabase } from '../helpers/databases.js';
import { Scenario, restic, sql } from './harness.js';

export interface RunRow {
  id: number;
  job_id: string;
  status: string;
  snapshot_id: string | null;
  client_run_id: string | null;
  triggered_by: string;
  error_message: string | null;
  start_time: Date;
}
export interface Snapshot {
  id: string;
  short_id: string;
  time: string;
  tags?: string[];
}

export interface Ledger {
  runs: RunRow[];
  snapshots: Snapshot[];
  /** `backup finished` log lines: status and snapshot id, in order. */
  logged: { jobId: string; status: string; snapshotId: string | null }[];
  lost: number;
  duplicates: number;
  /** Snapshots in no run row (part of `lost`). */
  orphanSnapshots: string[];
  counts: Record<string, number>;
}

/** Every snapshot of the scenario's jobs (`backup:<job id>` tags), read without a lock. */
export async function jobSnapshots(s: Scenario): Promise<Snapshot[]> {
  const all = JSON.parse(await restic(s.repo, s.password, ['snapshots', '--json', '--no-lock'])) as Snapshot[] | null;
  const tags = new Set(s.jobs.map((j) => `backup:${j.id}`));
  return (all ?? []).filter((x) => x.tags?.some((t) => tags.has(t)));
}

/** Lock files in the repository (`restic list locks --no-lock`); [] = no stale lock. */
export async function repoLocks(s: Scenario): Promise<string[]> {
  return (await restic(s.repo, s.password, ['list', 'locks', '--no-lock'])).split('\n').filter((l) => l.trim() !== '');
}

/** Run rows of the scenario's device, oldest first. */
export async function runRows(s: Scenario): Promise<RunRow[]> {
  return sql<RunRow>(
    s.dbUrl,
    'SELECT id, job_id, status, snapshot_id, client_run_id, triggered_by, error_message, start_time FROM runs WHERE device_id = $1 ORDER BY start_time, id',
    [s.deviceId],
  );
}

function tally<T>(xs: T[], key: (x: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[key(x)] = (out[key(x)] ?? 0) + 1;
  return out;
}

/** Build the ledger from the repository, the database and the agents' logs. */
export async function readLedger(
  s: Scenario,
  agents: AgentProcess[],
  opts: { repoGone?: boolean } = {},
): Promise<Ledger> {
  const runs = await runRows(s);
  const snapshots = opts.repoGone ? [] : await jobSnapshots(s);
  const logged = agents
    .flatMap((a) => a.lines)
    .filter((l) => l.json?.msg === 'backup finished')
    .map((l) => ({
      jobId: String(l.json!.jobId),
      status: String(l.json!.status),
      snapshotId: (l.json!.snapshotId as string | null) ?? null,
    }));
  const recordedSnaps = tally(
    runs.filter((r) => r.snapshot_id),
    (r) => r.snapshot_id!,
  );
  const orphanSnapshots = snapshots
    .filter((x) => !recordedSnaps[x.short_id] && !recordedSnaps[x.id])
    .map((x) => x.short_id);
  const duplicates =
    Object.values(recordedSnaps).reduce((n, c) => n + Math.max(0, c - 1), 0) +
    Object.values(
      tally(
        runs.filter((r) => r.client_run_id),
        (r) => r.client_run_id!,
      ),
    ).reduce((n, c) => n + Math.max(0, c - 1), 0);
  // Logged outcomes missing from the table: runs without a snapshot by count per job and status;
  // runs with one by id (a snapshot still in the repository is already an orphan).
  const rowsBy = tally(
    runs.filter((r) => !r.snapshot_id),
    (r) => `${r.job_id}/${r.status}`,
  );
  const loggedBy = tally(
    logged.filter((l) => !l.snapshotId),
    (l) => `${l.jobId}/${l.status}`,
  );
  let missing = 0;
  for (const [k, n] of Object.entries(loggedBy)) missing += Math.max(0, n - (rowsBy[k] ?? 0));
  const orphanSet = new Set(orphanSnapshots);
  missing += logged.filter((l) => l.snapshotId && !recordedSnaps[l.snapshotId] && !orphanSet.has(l.snapshotId)).length;
  const lost = orphanSnapshots.length + missing;
  return { runs, snapshots, logged, lost, duplicates, orphanSnapshots, counts: tally(runs, (r) => r.status) };
}

/**
 * The checks every fault test makes: nothing lost, nothing twice, no run left `running`, each
 * success/partial row's snapshot is in the repository, every snapshot is in exactly one row, and
 * (unless the repository is gone) no lock is left in it.
 */
export async function expectConsistent(s: Scenario, l: Ledger, opts: { repoGone?: boolean } = {}): Promise<void> {
  const dump = JSON.stringify(
    {
      counts: l.counts,
      runs: l.runs.map((r) => [r.status, r.snapshot_id, r.triggered_by, r.error_message?.slice(0, 120)]),
      logged: l.logged,
      orphans: l.orphanSnapshots,
    },
    null,
    1,
  );
  expect(l.lost, dump).toBe(0);
  expect(l.duplicates, dump).toBe(0);
  expect(l.counts.running ?? 0, dump).toBe(0);
  const ids = new Set(l.snapshots.flatMap((x) => [x.short_id, x.id]));
  for (const r of l.runs) {
    if (r.status === 'success' || r.status === 'partial') {
      expect(r.snapshot_id, dump).toBeTruthy();
      if (!opts.repoGone)
        expect(ids.has(r.snapshot_id!), `snapshot ${r.snapshot_id} of run ${r.id} not in the repository\n${dump}`).toBe(
          true,
        );
    }
  }
  expect(l.orphanSnapshots, dump).toEqual([]);
  if (!opts.repoGone) {
    const locks = await repoLocks(s);
    const info = await Promise.all(
      locks.map((id) => restic(s.repo, s.password, ['cat', 'lock', '--no-lock', id]).catch((e: unknown) => String(e))),
    );
    expect(locks, `locks left: ${info.join('\n')}`).toEqual([]);
  }
}

export interface FaultRow {
  fault: string;
  expected: string;
  recorded: number;
  lost: number;
  duplicates: number;
  note?: string;
}

/** The summary table printed after a fault test file (console.log, so CI output shows it). */
export class FaultTable {
  readonly rows: FaultRow[] = [];

  add(fault: string, expected: string, l: Ledger, note?: string): void {
    this.rows.push({
      fault,
      expected,
      recorded: l.runs.length,
      lost: l.lost,
      duplicates: l.duplicates,
      ...(note ? { note } : {}),
    });
  }

  render(title: string): string {
    const head = ['fault', 'runs expected', 'runs recorded', 'runs lost', 'duplicates'];
    const body = this.rows.map((r) => [r.fault, r.expected, String(r.recorded), String(r.lost), String(r.duplicates)]);
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
    const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
    const sep = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
    const notes = this.rows.filter((r) => r.note).map((r) => `  ${r.fault}: ${r.note}`);
    return [`${title}`, line(head), sep, ...body.map(line), ...(notes.length ? ['notes:', ...notes] : [])].join('\n');
  }
}

/** "2 success + 1 interrupted" from status counts. */
export function describeCounts(c: Record<string, number>): string {
  return (
    Object.entries(c)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${n} ${k}`)
      .join(' + ') || 'none'
  );
}

/**
 * The set-up every fault file shares: a process group killed after the file, a results table
 * printed at the end, and `scenario()` giving a fresh database + repository + agent config.
 */
export function faultSuite(title: string): {
  procs: ProcessGroup;
  table: FaultTable;
  cleanups: (() => Promise<unknown> | void)[];
  scenario: () => Promise<Scenario>;
} {
  const procs = new ProcessGroup();
  const table = new FaultTable();
  const cleanups: (() => Promise<unknown> | void)[] = [];
  afterAll(async () => {
    await procs.killAll();
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
    console.log(table.render(title));
  });
  const scenario = async (): Promise<Scenario> => {
    const db = await createTempPgDatabase();
    const s = await Scenario.create(db.url, procs);
    cleanups.push(
      () => db.drop(),
      () => s.cleanup(),
    );
    return s;
  };
  return { procs, table, cleanups, scenario };
}
