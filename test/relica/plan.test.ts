import { describe, expect, it } from 'vitest';
import { formatPlan } from '../../src/relica/dry-run-table.js';
import { planImport } from '../../src/relica/plan.js';
import { loadSample, sampleJson, thrown } from './fixture.js';

const DEST = 'cb871492-76dc-4683-8ecd-d9a6c84ae798';
const ACCOUNT = '003dbcee-4f0a-4a55-a7bb-a6511b263558';

/** The expected cron list of a sample backup, computed independently of src/relica/schedule.ts. */
function expectedCrons(s: { scheduled: boolean; times_of_day: string[]; days_of_week: number[] }): string[] {
  if (!s.scheduled) return [];
  const dow = s.days_of_week.length === 0 ? '*' : s.days_of_week.join(',');
  return s.times_of_day.map((t) => `${Number(t.slice(3))} ${Number(t.slice(0, 2))} * * ${dow}`);
}

describe('Relica import plan', () => {
  it('maps every backup of every origin of the sample field by field', () => {
    const json = sampleJson();
    for (const origin of json.read_only.origins) {
      const plan = planImport(loadSample(), origin.name);
      const backups = json.read_only.backups.filter((b: { origin_id: string }) => b.origin_id === origin.id);
      expect(plan.device).toMatchObject({ id: origin.id, name: origin.name });
      expect(plan.skippedOtherOrigins).toBe(12 - backups.length);
      expect(plan.jobs.map((j) => j.id)).toEqual(backups.map((b: { id: string }) => b.id));
      plan.jobs.forEach((job, i) => {
        const b = backups[i];
        expect(job).toMatchObject({
          name: b.name,
          originName: origin.name,
          originId: origin.id,
          accountId: ACCOUNT,
          sourcePaths: b.include,
          excludePatterns: b.exclude ?? [],
          tags: [],
        });
        expect(job.schedules.map((s) => s.cron)).toEqual(expectedCrons(b.schedule));
        for (const s of job.schedules) expect(s.catchUp).toBe(b.schedule.flexible);
        expect(job.hooks).toEqual(
          b.hooks.map((h: Record<string, string>) => ({
            command: h.command,
            timing: h.timing,
            onError: h.on_error,
            description: h.description,
          })),
        );
        const done = json.local.last_backups_done[b.id]?.[DEST];
        expect(job.lastRunAt).toBe(done === undefined ? null : new Date(done).toISOString());
        for (const s of job.schedules) expect(s.lastRunAt).toBe(job.lastRunAt);
      });
    }
  });

  it('selects an origin by name (any case) or id, and lists the origins when unknown', () => {
    expect(planImport(loadSample(), 'CLOUD').device.id).toBe('214d5118-bc3a-4927-989a-a90ae144f47a');
    const byId = planImport(loadSample(), '32ED6434-D17E-44BE-A1DE-260C6BEC9452');
    expect(byId.device.name).toBe('device2');
    expect(byId.jobs.map((j) => j.name)).toEqual(['homepc/User3 dokumenty', 'homepc/Fotky', 'homepc/davinci']);
    const err = thrown(() => planImport(loadSample(), 'laptop'));
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toBe(
      'no Relica origin named or with id "laptop"; available: "device1" (f213f03b-c8e1-47a5-8bf5-f7c8dd76217d), ' +
        '"device2" (32ed6434-d17e-44be-a1de-260c6bec9452), "device4" (db6d417d-1927-41a0-bc1b-42fa487a0ad6), "cloud" (214d5118-bc3a-4927-989a-a90ae144f47a)',
    );
    const dup = loadSample((j) => {
      j.read_only.origins[1].name = 'device1';
    });
    expect(thrown(() => planImport(dup, 'device1')).message).toMatch(/ambiguous; pass one id: f213f03b-.*, 32ed6434-/);
  });

  it('C14 keeps Windows paths and non-ASCII names exactly', () => {
    const d4 = planImport(loadSample(), 'device4');
    expect(d4.jobs.map((j) => [j.name, j.sourcePaths])).toEqual([
      ['device4/Dokumenty', ['C:\\Users\\User2\\Documents', 'C:\\Users\\User3\\Documents']],
      ['device4/Fotky', ['D:\\User2 fotky', 'D:\\Photos2']],
      ['device4/ÚČTO', ['C:\\UCTO2020']],
    ]);
    const d1 = planImport(loadSample(), 'device1');
    expect(d1.jobs.find((j) => j.name === 'device1/Zpěvníky')?.sourcePaths).toEqual(['/data/Zpěvníky']);
    expect(d1.jobs.find((j) => j.name === 'device1/test')?.sourcePaths).toEqual(['/home/user/Obrázky']);
    const edited = planImport(
      loadSample((j) => {
        j.read_only.backups[3].include.push('D:\\');
      }),
      'device4',
    );
    expect(edited.jobs[1]?.sourcePaths).toEqual(['D:\\User2 fotky', 'D:\\Photos2', 'D:\\']);
  });

  it('removes duplicate include paths, keeping the first order, with a warning', () => {
    const plan = planImport(
      loadSample((j) => {
        j.read_only.backups[2].include.push('C:\\Users\\User2\\Documents', 'c:\\users\\user2\\documents');
      }),
      'device4',
    );
    expect(plan.jobs[0]?.sourcePaths).toEqual([
      'C:\\Users\\User2\\Documents',
      'C:\\Users\\User3\\Documents',
      'c:\\users\\user2\\documents',
    ]);
    expect(plan.warnings).toContain('device4/Dokumenty: 1 duplicate include path(s) removed');
  });

  it('seeds last run from last_backups_done and knows whose state file it is', () => {
    const cloud = planImport(loadSample(), 'cloud');
    expect(cloud.jobs.map((j) => [j.name, j.lastRunAt, j.schedules.map((s) => s.cron)])).toEqual([
      ['cloud/backups', '2025-12-15T03:01:07.580Z', ['0 3 * * 1,3,5']],
      ['cloud/home', '2025-12-15T01:00:59.596Z', ['0 1 * * 1,4']],
    ]);
    expect(cloud.device.platform).toBe('linux');
    expect(cloud.warnings).toEqual([]);
    const d1 = planImport(loadSample(), 'device1');
    expect(d1.device.platform).toBeNull();
    expect(d1.warnings).toContain(
      'this state file belongs to origin "cloud" and has no last backup times for "device1"; import each computer from its own state file to carry them over',
    );
  });

  it('maps scheduled: false to a job without schedule and hooks to timing/on_error', () => {
    const d1 = planImport(loadSample(), 'device1');
    const test = d1.jobs.find((j) => j.name === 'device1/test');
    expect(test?.schedules).toEqual([]);
    expect(d1.jobs[0]?.hooks).toEqual([
      {
        command: '/usr/bin/endpoint-watcher device1 relica-backup-end dokumenty',
        timing: 'end',
        onError: 'stop',
        description: 'endpoint watcher',
      },
    ]);
    const start = planImport(
      loadSample((j) => {
        j.read_only.backups[0].hooks[0].timing = 'start';
        j.read_only.backups[0].hooks[0].on_error = 'continue';
      }),
      'device1',
    );
    expect(start.jobs[0]?.hooks[0]).toMatchObject({ timing: 'start', onError: 'continue' });
  });

  it('warns when a hook relied on Relica running it without a shell', () => {
    const plan = planImport(
      loadSample((j) => {
        j.read_only.backups[0].hooks[0].command = 'pg_dump --file=$HOME/dump.sql db';
      }),
      'device1',
    );
    expect(plan.warnings).toContain(
      'device1/Dokumenty: hook "pg_dump --file=$HOME/dump.sql db" has characters a shell interprets; ' +
        'Relica ran hooks without a shell, rbackup2 runs them through the system shell: check the command',
    );
    expect(planImport(loadSample(), 'cloud').warnings).toEqual([]);
  });

  it('warns about a Relica backup still in progress', () => {
    expect(
      planImport(loadSample(), 'device4').warnings.some((w) =>
        w.startsWith(
          'device4/Dokumenty: Relica shows a backup to "Cloud" in progress since 2025-12-15T17:31:09.018839Z',
        ),
      ),
    ).toBe(true);
  });

  it('never guesses a repository: configured unless a URL and a password source are given', () => {
    expect(planImport(loadSample(), 'cloud').repository).toEqual({ kind: 'configured', destinationId: DEST });
    expect(thrown(() => planImport(loadSample(), 'cloud', { repositoryUrl: 'sftp:u@h:/r' })).message).toMatch(
      /needs a password source/,
    );
    expect(thrown(() => planImport(loadSample(), 'cloud', { password: { kind: 'file', path: '/p' } })).code).toBe(
      'INVALID_INPUT',
    );
    const plan = planImport(loadSample(), 'cloud', {
      repositoryUrl: ' sftp:backup_user@backup.example.com:/data/backups/r ',
      password: { kind: 'file', path: '/etc/pw' },
    });
    expect(plan.repository).toEqual({
      kind: 'new',
      id: DEST,
      name: 'relica/Cloud',
      url: 'sftp:backup_user@backup.example.com:/data/backups/r',
      password: { kind: 'file', path: '/etc/pw' },
    });
  });

  it('states what it cannot carry over, without secrets', () => {
    const loaded = loadSample((j) => {
      j.read_only.destinations[0].cloud_account.credentials[2].value = 'hunter2-secret';
      j.read_only.peers = [{ id: 'x' }];
    });
    const plan = planImport(loadSample(), 'cloud');
    expect(plan.notCarriedOver[0]).toBe(
      'cloud credentials of Relica destination "Cloud" (cloud, SFTP: HOST=backup.example.com, PORT=29, USER=backup_user, ' +
        'base path /data/backups/; secret PASS not shown): rbackup2 does not use them; make the restic repository reachable for restic yourself (e.g. an SSH key for sftp) and give its URL and password',
    );
    expect(plan.notCarriedOver).toContain(
      'descriptions of 2 hook(s) (e.g. "endpoint watcher"): backup_hooks has no description column',
    );
    expect(plan.notCarriedOver).toContain(
      "8 entries of Relica's recent task history: not imported as runs (the snapshots themselves stay in the repository)",
    );
    const withPeers = planImport(loaded, 'cloud', {
      repositoryUrl: '/r',
      password: { kind: 'value', password: 'prompted-secret' },
    });
    expect(withPeers.notCarriedOver.some((x) => x.startsWith('1 Relica peer(s)'))).toBe(true);
    const text = formatPlan(withPeers) + JSON.stringify(withPeers.notCarriedOver);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('prompted-secret');
    expect(text).toContain('password entered at the prompt');
  });

  it('passes unknown fields on to the report', () => {
    const plan = planImport(
      loadSample((j) => {
        j.read_only.backups[0].compression = 'max';
      }),
      'device1',
    );
    expect(plan.unknownFields).toEqual(['read_only.backups[0].compression']);
    expect(formatPlan(plan)).toContain('  - read_only.backups[0].compression');
  });
});

describe('dry-run table', () => {
  it('shows every job with id, path count, cron schedules, catch-up and last run, then the reports', () => {
    const text = formatPlan(planImport(loadSample(), 'device1'));
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^Relica state file: .*relica-state\.sample\.json$/);
    expect(lines[1]).toBe('device: "device1" (id f213f03b-c8e1-47a5-8bf5-f7c8dd76217d)');
    expect(lines[2]).toMatch(/^repository: the one already configured/);
    expect(lines[4]).toMatch(/^job +id +paths +excludes +schedules \(cron, local time\) +catch-up +last run +hooks$/);
    const row = (name: string) => lines.find((l) => l.startsWith(`${name} `))?.split(/ {2,}/);
    expect(row('device1/Dokumenty')).toEqual([
      'device1/Dokumenty',
      'cb3104d6-5d04-4cd6-9a8e-73c6c4b61fe9',
      '1',
      '0',
      '0 13 * * * | 0 23 * * *',
      'yes',
      'never',
      '1',
    ]);
    expect(row('device1/home')).toEqual([
      'device1/home',
      '8abc492b-cfff-4c78-9202-f85bdcf4714a',
      '1',
      '17',
      '30 22 * * *',
      'yes',
      'never',
      '1',
    ]);
    expect(row('device1/test')).toEqual([
      'device1/test',
      'e34580bc-3f4b-4bca-b713-04a25f352317',
      '1',
      '0',
      '(none: manual)',
      '-',
      'never',
      '0',
    ]);
    expect(row('device1/Zpěvníky')).toEqual([
      'device1/Zpěvníky',
      '5dd8bfb2-57bf-49a0-a4c3-a31b97d956c5',
      '1',
      '0',
      '0 10 * * 1',
      'yes',
      'never',
      '0',
    ]);
    // columns line up even with non-ASCII names (widths count characters)
    expect(lines.indexOf(lines.find((l) => l.startsWith('device1/Zpěvníky')) as string)).toBeGreaterThan(0);
    expect([...(lines.find((l) => l.startsWith('device1/Zpěvníky')) ?? '')].indexOf('5')).toBe(
      [...(lines.find((l) => l.startsWith('device1/home ')) ?? '')].indexOf('8'),
    );
    expect(text).toContain('4 job(s) for this device; 8 backup(s) of other Relica origins left out');
    expect(text).toContain('Not carried over (set these up yourself):');
    expect(text).toContain('Warnings:\n  - this state file belongs to origin "cloud"');
    expect(text).not.toContain('Fields of the state file this importer does not know');
  });
});
