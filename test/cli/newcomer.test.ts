/**
 * Issue 13 point 4, the newcomer's and the fleet admin's path, on the real binary (`node
 * dist/main.js`, bundled as it ships) and the real PostgreSQL server: `rbackup2 help`, admin
 * commands from a config without `device`, `job add` warnings and errors that name what is
 * missing, `job list` saying whose jobs it shows.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessGroup } from '../helpers/agent-process.js';
import { createTempPgDatabase } from '../helpers/databases.js';

const procs = new ProcessGroup();
let tmp = '';
let adminConfig = '';
let deviceConfig = '';
let drop: () => Promise<void> = async () => {};

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-newcomer-'));
  const db = await createTempPgDatabase();
  drop = db.drop;
  // An admin's config: the database only, no device section (deploy/admin-config.example.yaml).
  adminConfig = path.join(tmp, 'admin.yaml');
  fs.writeFileSync(
    adminConfig,
    `database:\n  url: ${JSON.stringify(db.url)}\n  ssl_mode: disable\nclient:\n  data_dir: ${JSON.stringify(path.join(tmp, 'admin-data'))}\n`,
  );
  deviceConfig = path.join(tmp, 'device.yaml');
  fs.writeFileSync(
    deviceConfig,
    `device:\n  id: laptop-1\ndatabase:\n  url: ${JSON.stringify(db.url)}\n  ssl_mode: disable\nclient:\n  data_dir: ${JSON.stringify(path.join(tmp, 'device-data'))}\n`,
  );
}, 120_000);

afterAll(async () => {
  await procs.killAll();
  await drop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('rbackup2 help', () => {
  it('`help` prints the same as --help, exit 0; `help job` the job commands', async () => {
    const help = await procs.runCli(['help']);
    const flag = await procs.runCli(['--help']);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toBe(flag.stdout);
    expect(help.stdout).toMatch(/Usage: rbackup2/);
    const job = await procs.runCli(['help', 'job']);
    expect(job.code, job.stderr).toBe(0);
    expect(job.stdout).toMatch(/Usage: rbackup2 job/);
    expect(job.stdout).toMatch(/add \[options\] <name>/);
  });
});

describe('admin commands from a config without device.id', () => {
  const admin = (...args: string[]) => procs.runCli(['--config', adminConfig, ...args], { timeoutMs: 60_000 });

  it('migrate, device add, repo add, job add --device, schedule add, setting set --global work; job list shows every device', async () => {
    expect((await admin('migrate')).code).toBe(0);
    expect((await admin('device', 'add', 'laptop-2', '--name', 'Laptop 2')).code).toBe(0);
    const repo = await admin(
      'repo',
      'add',
      'nas',
      '--url',
      path.join(tmp, 'repo'),
      '--password-file',
      path.join(tmp, 'pw'),
    );
    expect(repo.code, repo.stderr).toBe(0);
    const add = await admin('job', 'add', 'photos', '--device', 'laptop-2', '--repo', 'nas', '--path', tmp);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stderr).not.toMatch(/warning/);
    const sched = await admin('schedule', 'add', 'photos', '--cron', '0 3 * * *');
    expect(sched.code, sched.stderr).toBe(0);
    expect((await admin('setting', 'set', 'max_concurrent_backups', '2', '--global')).code).toBe(0);
    const list = await admin('job', 'list');
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/laptop-2\s+photos/);
    expect(list.stderr).toBe(''); // no device in the config: every device, no "one device" note
  }, 240_000);

  it('a command that needs a device says to give --device, naming the config file', async () => {
    const r = await admin('job', 'add', 'docs', '--path', tmp);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`rbackup2: job add: give --device ID (the config ${adminConfig} has no device.id)`);
    const s = await admin('setting', 'list');
    expect(s.code).toBe(1);
    expect(s.stderr).toMatch(/setting list: give --device ID/);
  }, 120_000);
});

describe('job add and job list name what is missing', () => {
  const dev = (...args: string[]) => procs.runCli(['--config', deviceConfig, ...args], { timeoutMs: 60_000 });

  it('job add --path that does not exist here: a warning naming path and device, the job is added', async () => {
    const missing = path.join(tmp, 'not-here', 'Pictures');
    const r = await dev('job', 'add', 'pictures', '--path', missing, '--path', tmp);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/job pictures added/);
    expect(r.stderr).toContain(
      `warning: --path ${missing} does not exist on this machine (fine if it is a path on device laptop-1)`,
    );
    expect(r.stderr).not.toContain(`--path ${tmp} `);
  }, 120_000);

  it('job add names a device that does not exist, and a repository that does not exist', async () => {
    const noDevice = await dev('job', 'add', 'x', '--path', tmp, '--device', 'no-such-device');
    expect(noDevice.code).toBe(1);
    expect(noDevice.stderr).toMatch(/^rbackup2: device "no-such-device" not found \(see rbackup2 device list/);
    const noRepo = await dev('job', 'add', 'y', '--path', tmp, '--repo', 'no-such-repo');
    expect(noRepo.code).toBe(1);
    expect(noRepo.stderr).toMatch(/^rbackup2: repository "no-such-repo" not found/);
  }, 120_000);

  it('job list with a device in the config says it shows that device only and how to see all', async () => {
    const r = await dev('job', 'list');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/laptop-1\s+pictures/);
    expect(r.stdout).not.toMatch(/laptop-2/);
    expect(r.stderr.trim()).toBe(
      "(jobs of device laptop-1 only: --all-devices lists every device's, --device ID another's)",
    );
    const all = await dev('job', 'list', '--all-devices');
    expect(all.stdout).toMatch(/laptop-2\s+photos/);
    expect(all.stderr).toBe('');
  }, 120_000);
});
