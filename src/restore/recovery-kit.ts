/**
 * The recovery kit (issue 17 "When the computer or the database is gone"): one plain-text
 * document with every repository the jobs use (URL, password or where it comes from), the jobs'
 * names, ids, devices, folders and tags, and the plain-restic commands that restore a file
 * without rbackup2 and without the database. Repository passwords live only in the database (and,
 * embedded, on the same disk as the data), so this is the copy to keep elsewhere. Pure.
 */
import type { JobConfig, RepositoryConfig } from '../config/device-config.js';

export interface KitDevice {
  id: string;
  name: string;
  jobs: JobConfig[];
}

/** A value as one POSIX shell word ('...' with ' escaped). */
export function shellQuote(v: string): string {
  return `'${v.replace(/'/g, `'\\''`)}'`;
}

function passwordLines(r: RepositoryConfig): string[] {
  if (r.password) return [`export RESTIC_PASSWORD=${shellQuote(r.password)}`];
  if (r.passwordFile)
    return [`export RESTIC_PASSWORD_FILE=${shellQuote(r.passwordFile)}   # the password is in this file`];
  if (r.passwordCommand)
    return [`export RESTIC_PASSWORD_COMMAND=${shellQuote(r.passwordCommand)}   # this command prints the password`];
  return ['# no password is configured for this repository'];
}

/** The document for `devices` at `now` (ISO 8601). */
export function renderRecoveryKit(devices: readonly KitDevice[], now: string): string {
  const byRepo = new Map<string, { repo: RepositoryConfig; jobs: { device: KitDevice; job: JobConfig }[] }>();
  const noRepo: { device: KitDevice; job: JobConfig }[] = [];
  for (const d of devices)
    for (const job of d.jobs) {
      if (!job.repository) {
        noRepo.push({ device: d, job });
        continue;
      }
      const key = job.repository.url;
      const e = byRepo.get(key) ?? { repo: job.repository, jobs: [] };
      e.jobs.push({ device: d, job });
      byRepo.set(key, e);
    }
  const out: string[] = [
    '# rbackup2 recovery kit',
    '',
    `Written ${now}. KEEP THIS DOCUMENT SAFE AND AWAY FROM THE COMPUTERS IT DESCRIBES: it holds the`,
    'repository passwords. With it alone (no rbackup2, no database) plain restic (https://restic.net)',
    "can list and restore every backup below. Each job's snapshots carry the tag backup:<job id>.",
    '',
  ];
  let n = 0;
  for (const { repo, jobs } of byRepo.values()) {
    n++;
    out.push(`## Repository ${n}: ${repo.name}`, '', `URL: ${repo.url}`);
    if (repo.password) out.push(`Password: ${repo.password}`);
    else if (repo.passwordFile) out.push(`Password: in the file ${repo.passwordFile}`);
    else if (repo.passwordCommand) out.push(`Password: printed by the command ${repo.passwordCommand}`);
    const envKeys = Object.keys(repo.env);
    if (envKeys.length)
      out.push(`Extra environment (cloud credentials): ${envKeys.map((k) => `${k}=${repo.env[k] ?? ''}`).join(' ')}`);
    out.push('', 'Jobs in it:', '');
    for (const { device, job } of jobs) {
      out.push(
        `- ${job.name} (device ${device.name} [${device.id}])`,
        `  job id / tag: backup:${job.id}`,
        `  folders: ${job.sourcePaths.join(', ')}`,
        ...(job.tags.length ? [`  tags: ${job.tags.join(', ')}`] : []),
      );
    }
    const first = jobs[0]?.job;
    out.push(
      '',
      'Restore with plain restic (Linux/macOS shell; on Windows use "set NAME=value" in cmd):',
      '',
      '```sh',
      `export RESTIC_REPOSITORY=${shellQuote(repo.url)}`,
      ...passwordLines(repo),
      ...envKeys.map((k) => `export ${k}=${shellQuote(repo.env[k] ?? '')}`),
      ...(first
        ? [
            `restic snapshots --tag ${shellQuote(`backup:${first.id}`)}             # the job's snapshots, any computer`,
            `restic ls latest --tag ${shellQuote(`backup:${first.id}`)}             # its files`,
            `restic restore latest --tag ${shellQuote(`backup:${first.id}`)} --target /tmp/restored --include '/path/of/the/file'`,
            `restic dump latest --tag ${shellQuote(`backup:${first.id}`)} '/path/of/the/file' > file   # one file to stdout`,
          ]
        : []),
      '```',
      '',
    );
  }
  if (noRepo.length) {
    out.push('## Jobs without a repository', '');
    for (const { device, job } of noRepo) out.push(`- ${job.name} (device ${device.id}, id ${job.id})`);
    out.push('');
  }
  if (byRepo.size === 0) out.push('No job has a repository yet.', '');
  return out.join('\n');
}
