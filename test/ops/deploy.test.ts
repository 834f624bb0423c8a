/**
 * The service files in deploy/ agree with the agent: the example configs load with the real
 * parser, systemd accepts the unit (systemd-analyze verify), the unit has the hardening and stop
 * settings doc/deployment.md promises (C24: KillMode=mixed so the agent SIGINTs restic first), and
 * the service managers wait longer than the agent's shutdown timeout plus restic's 30 s grace.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLocalConfig } from '../../src/config/local-config.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const read = (p: string) => fs.readFileSync(path.join(repoRoot, p), 'utf8');
/** restic's grace after SIGINT before SIGKILL (src/backup/run-backup.ts cancelGraceSeconds default). */
const RESTIC_GRACE_SECONDS = 30;

/** `Key=value` lines of a unit (a key given twice keeps every value). */
function unitEntries(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!]);
  }
  return out;
}

describe('deploy/ service files', () => {
  const unit = unitEntries(read('deploy/rbackup2.service'));
  const one = (k: string) => unit.get(k)?.[0];

  it('C24 the systemd unit runs as rbackup2, hardened, stopping the agent first and long enough', () => {
    expect([one('User'), one('Group')]).toEqual(['rbackup2', 'rbackup2']);
    expect(one('KillMode')).toBe('mixed');
    expect(one('KillSignal')).toBe('SIGTERM');
    expect(one('Restart')).toBe('on-failure');
    expect(one('ProtectSystem')).toBe('strict');
    expect(one('PrivateTmp')).toBe('yes');
    expect(one('NoNewPrivileges')).toBe('yes');
    const env = Object.fromEntries((unit.get('Environment') ?? []).map((e) => e.split('=', 2) as [string, string]));
    const cfg = parseLocalConfig(read('deploy/config.yaml'), '/etc/rbackup2/config.yaml', env);
    const rw = (one('ReadWritePaths') ?? '').split(/\s+/);
    expect(rw).toContain(cfg.dataDir);
    expect(rw).toContain(path.dirname(cfg.logFile));
    expect(rw).toContain(env.XDG_CACHE_HOME);
    const timeoutStop = Number(one('TimeoutStopSec'));
    expect(timeoutStop).toBeGreaterThan(cfg.client.shutdown_timeout_seconds + RESTIC_GRACE_SECONDS);
    expect(cfg.device.id).toMatch(/CHANGE-ME/);
    expect(cfg.database?.user).toBe('backup_client');
  });

  it('systemd-analyze verify accepts the unit (every key known)', (ctx) => {
    let analyze = '';
    try {
      analyze = execFileSync('sh', ['-c', 'command -v systemd-analyze']).toString().trim();
    } catch {
      ctx.skip();
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-unit-'));
    try {
      // The binary is not installed here: point ExecStart at a program that exists.
      const text = read('deploy/rbackup2.service').replace(/^ExecStart=\S+/m, 'ExecStart=/usr/bin/true');
      fs.writeFileSync(path.join(dir, 'rbackup2.service'), text);
      const r = spawnSync(analyze, ['verify', path.join(dir, 'rbackup2.service')], { encoding: 'utf8' });
      const out = `${r.stdout}${r.stderr}`; // unknown keys are reported on stderr with exit code 0
      expect(r.status, out).toBe(0);
      expect(out).not.toMatch(/Unknown|Failed|Invalid|ignoring/i);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the Windows config loads, lives under C:\\ProgramData\\rbackup2, and WinSW waits longer than the agent', () => {
    const cfg = parseLocalConfig(read('deploy/windows/config.yaml'), 'C:\\ProgramData\\rbackup2\\config.yaml', {});
    expect(cfg.client.data_dir).toBe('C:\\ProgramData\\rbackup2\\data');
    const xml = read('deploy/windows/rbackup2-service.xml');
    expect(xml).toContain('--config "C:\\ProgramData\\rbackup2\\config.yaml" run');
    const stop = Number(/<stoptimeout>(\d+) sec<\/stoptimeout>/.exec(xml)?.[1]);
    expect(stop).toBeGreaterThan(cfg.client.shutdown_timeout_seconds + RESTIC_GRACE_SECONDS);
  });

  it('both Windows service XMLs stop gracefully through the CLI, with the same node.exe, main.js and config they run with', () => {
    const tag = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1] ?? '';
    for (const [file, stopCommand] of [
      ['deploy/windows/rbackup2-service.xml', 'service stop-agent'],
      ['deploy/windows/rbackup2-dashboard-service.xml', 'service stop-dashboard'],
    ] as const) {
      const xml = read(file);
      const args = tag(xml, 'arguments');
      const mainAndConfig = /("[^"]*main\.js" --config "[^"]*")/.exec(args)?.[1];
      expect(mainAndConfig, file).toBeTruthy();
      expect(tag(xml, 'stopexecutable'), file).toBe(tag(xml, 'executable'));
      expect(tag(xml, 'stoparguments'), file).toBe(`${mainAndConfig} ${stopCommand}`);
      expect(Number(/<stoptimeout>(\d+) sec<\/stoptimeout>/.exec(xml)?.[1]), file).toBeGreaterThan(0);
    }
  });
});
