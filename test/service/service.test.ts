/**
 * `rbackup2 service install|uninstall|stop-agent` (issue 20): the service files, the stop channel,
 * and the real agent stopped by `service stop-agent` as by a service manager. Windows itself (the
 * named pipe, WinSW's XML under Wine, node.exe) is shown by scripts/windows-smoke.sh; here the same
 * code runs on Linux (Unix socket, systemd unit written to a temp folder with --dry-run).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listenForStop, requestStop, stopChannelPath } from '../../src/service/stop-channel.js';
import { systemdUnit, winswXml } from '../../src/service/service-files.js';
import { installService, uninstallService } from '../../src/service/install.js';
import { freePort, ProcessGroup, waitFor, writeAgentConfig } from '../helpers/agent-process.js';
import { createTempPgDatabase } from '../helpers/databases.js';

const group = new ProcessGroup();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rb2-service-'));
afterAll(async () => {
  await group.killAll();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const winPaths = {
  node: 'C:\\Program Files\\rbackup2\\node.exe',
  main: 'C:\\Program Files\\rbackup2\\app\\dist\\main.js',
  config: 'C:\\ProgramData\\R&D <backup>\\config.yaml',
  workDir: 'C:\\ProgramData\\R&D <backup>',
  logDir: 'C:\\ProgramData\\R&D <backup>\\logs',
};

describe('service files', () => {
  it('WinSW XML: the agent runs with the config, the stop runs "service stop-agent", paths quoted and escaped', () => {
    const x = winswXml(winPaths);
    expect(x).toContain('<executable>C:\\Program Files\\rbackup2\\node.exe</executable>');
    expect(x).toContain(
      '<arguments>--max-semi-space-size=2 "C:\\Program Files\\rbackup2\\app\\dist\\main.js" --config "C:\\ProgramData\\R&amp;D &lt;backup&gt;\\config.yaml" run</arguments>',
    );
    expect(x).toContain('<stopexecutable>C:\\Program Files\\rbackup2\\node.exe</stopexecutable>');
    expect(x).toMatch(
      /<stoparguments>[^<]*--config "C:\\ProgramData\\R&amp;D &lt;backup&gt;\\config.yaml" service stop-agent<\/stoparguments>/,
    );
    expect(x).not.toMatch(/R&D|<backup>/);
    // WinSW waits longer than the agent's own graceful stop (default shutdown_timeout_seconds 120 + grace).
    expect(Number(/<stoptimeout>(\d+) sec<\/stoptimeout>/.exec(x)?.[1])).toBeGreaterThan(120 + 30);
  });

  it('systemd unit: ExecStart quotes a path with spaces', () => {
    const u = systemdUnit({
      node: '/opt/rb 2/bin/node',
      main: '/opt/rb 2/app/dist/main.js',
      config: '/etc/rbackup2/config.yaml',
      workDir: '/etc/rbackup2',
      logDir: '/x',
    });
    expect(u).toContain(
      'ExecStart="/opt/rb 2/bin/node" --max-semi-space-size=2 "/opt/rb 2/app/dist/main.js" --config /etc/rbackup2/config.yaml run',
    );
    expect(u).toContain('KillMode=mixed');
  });

  it('install --dry-run on Linux writes the unit and runs nothing; uninstall removes it', () => {
    const cfg = path.join(tmp, 'dry.yaml');
    fs.writeFileSync(cfg, 'device: {id: x}\n');
    const lines: string[] = [];
    const o = {
      config: cfg,
      main: '/opt/rb/app/dist/main.js',
      node: '/opt/rb/bin/node',
      platform: 'linux' as const,
      dryRun: true,
      shutdownTimeoutSeconds: 5,
      print: (l: string) => lines.push(l),
      systemdDir: tmp,
    };
    installService(o);
    expect(fs.readFileSync(path.join(tmp, 'rbackup2.service'), 'utf8')).toContain(`--config ${cfg} run`);
    expect(lines).toContain('would run: systemctl enable --now rbackup2');
    uninstallService(o);
    expect(fs.existsSync(path.join(tmp, 'rbackup2.service'))).toBe(true); // dry run: nothing removed
    expect(lines).toContain('would run: systemctl disable --now rbackup2');
  });

  it('install on Windows outside the package names the missing winsw.exe', () => {
    const cfg = path.join(tmp, 'dry.yaml');
    fs.writeFileSync(cfg, 'device: {id: x}\n');
    expect(() =>
      installService({
        config: cfg,
        main: path.join(tmp, 'app/dist/main.js'),
        node: 'node.exe',
        platform: 'win32',
        dryRun: true,
        shutdownTimeoutSeconds: 5,
        print: () => undefined,
      }),
    ).toThrow(/winsw\.exe is missing/);
  });
});

describe('stop channel', () => {
  it('the Windows address is a named pipe per data folder (case-insensitive, like Windows paths)', () => {
    const a = stopChannelPath('C:\\ProgramData\\rbackup2\\data', 'win32');
    expect(a).toMatch(/^\\\\\.\\pipe\\rbackup2-stop-[0-9a-f]{16}$/);
    expect(stopChannelPath('c:\\programdata\\RBACKUP2\\data', 'win32')).toBe(a);
    expect(stopChannelPath('D:\\rb\\data', 'win32')).not.toBe(a);
  });

  it('a wrong token is refused and stops nothing; the right one stops once; nothing listening is a clear error', async () => {
    const address = stopChannelPath(fs.mkdtempSync(path.join(tmp, 'ch-')), 'linux');
    const stops: string[] = [];
    const close = await listenForStop(address, 'right-token-0123456789', (r) => stops.push(r));
    expect((fs.statSync(address).mode & 0o777).toString(8)).toBe('600');
    await expect(requestStop(address, 'wrong-token-0123456789')).rejects.toThrow(/refused the stop request/);
    expect(stops).toEqual([]);
    await requestStop(address, 'right-token-0123456789');
    expect(stops).toEqual(['service stop']);
    await close();
    await expect(requestStop(address, 'right-token-0123456789')).rejects.toThrow(/does not answer.*is it running/);
  });
});

describe('the real agent', () => {
  it('service stop-agent stops a running agent gracefully (exit 0, logged as the service stop)', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'agent-'));
    const port = await freePort();
    const cfg = writeAgentConfig({ dir, deviceId: 'svc-stop', port, apiToken: null, shutdownTimeoutSeconds: 5 });
    const agent = await group.startAgentReady(cfg, port);
    const r = await group.runCli(['--config', cfg, 'service', 'stop-agent'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('the agent is stopping');
    expect(r.code).toBe(0);
    const exit = await agent.exited;
    expect(exit.code).toBe(0);
    expect(agent.lines.some((l) => l.json?.msg === 'stopping' && l.json.reason === 'service stop')).toBe(true);
    const again = await group.runCli(['--config', cfg, 'service', 'stop-agent'], { cwd: dir });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/does not answer.*is it running/);
  }, 120_000);
});

describe('the real agent stopped before its stop channel listens', () => {
  it('a SIGTERM right after the API listens, the stop channel slow to listen: exit 0 at once, not by the 3 s stray-handle guard', async () => {
    // The stop channel starts listening on its own just after the API. In CI under load a SIGTERM
    // came first: the agent stopped, then the channel listened and its socket kept the process
    // alive until run-cli's 3 s guard exited it. A preload injected with NODE_OPTIONS (a fault
    // injection; the agent's code is unchanged) makes that moment certain: it sends the agent
    // SIGTERM on the next turn of its event loop after "web UI and API listening" is logged, and
    // holds the stop channel's listen for 300 ms, as a loaded machine does.
    const preload = path.join(tmp, 'sigterm-when-listening.cjs');
    fs.writeFileSync(
      preload,
      `const fs = require('node:fs');
const net = require('node:net');
const write = fs.writeSync;
let sent = false;
fs.writeSync = function (fd, data, ...rest) {
  const n = write.call(this, fd, data, ...rest);
  if (!sent && fd === 2 && String(data).includes('web UI and API listening')) {
    sent = true;
    setImmediate(() => process.kill(process.pid, 'SIGTERM'));
  }
  return n;
};
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'string' && args[0].endsWith('stop.sock')) {
    setTimeout(() => listen.apply(this, args), 300);
    return this;
  }
  return listen.apply(this, args);
};
`,
    );
    const dir = fs.mkdtempSync(path.join(tmp, 'early-'));
    const port = await freePort();
    const cfg = writeAgentConfig({ dir, deviceId: 'svc-early', port, apiToken: null });
    const agent = group.startAgent(cfg, ['run'], { env: { NODE_OPTIONS: `--require ${preload}` } });
    const exit = await agent.exited;
    const exitedAt = Date.now();
    const stopped = agent.lines.find((l) => l.json?.msg === 'stopped');
    expect(exit.code, agent.stderr.slice(-2000)).toBe(0);
    expect(agent.lines.some((l) => l.json?.msg === 'stopping' && l.json.reason === 'SIGTERM')).toBe(true);
    // From the agent's own "stopped" line (its clock is this machine's) to the process's exit: the
    // held listen (300 ms) plus closing, far below the guard's 3 s.
    expect(exitedAt - Number(stopped?.json?.time), 'ms from "stopped" to exit').toBeLessThan(2000);
  }, 120_000);
});

describe('the real dashboard [postgres]', () => {
  it("service stop-dashboard stops a running `rbackup2 dashboard` gracefully; its address is not the agent's", async () => {
    expect(stopChannelPath('/d', 'linux', 'dashboard')).toBe('/d/dashboard-stop.sock');
    expect(stopChannelPath('C:\\D', 'win32', 'dashboard')).toMatch(
      /^\\\\\.\\pipe\\rbackup2-dashboard-stop-[0-9a-f]{16}$/,
    );
    expect(stopChannelPath('C:\\D', 'win32', 'dashboard')).not.toBe(stopChannelPath('C:\\D', 'win32'));
    const pgdb = await createTempPgDatabase();
    try {
      const dir = fs.mkdtempSync(path.join(tmp, 'dashboard-'));
      const cfg = path.join(dir, 'admin.yaml');
      fs.writeFileSync(
        cfg,
        `database:\n  url: ${JSON.stringify(pgdb.url)}\n  ssl_mode: disable\nclient:\n  data_dir: ./data\n  log_file: ./data/dashboard.log\n`,
      );
      const port = await freePort();
      const dash = group.startAgent(cfg, ['dashboard', '--bind', `127.0.0.1:${port}`]);
      await dash.waitForLog('rbackup2 dashboard started', 60_000);
      await waitFor(
        'the dashboard stop channel',
        () => fs.existsSync(path.join(dir, 'data', 'dashboard-stop.sock')),
        10_000,
      );
      const t0 = Date.now();
      const r = await group.runCli(['--config', cfg, 'service', 'stop-dashboard'], { cwd: dir });
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('the dashboard is stopping');
      expect(r.code).toBe(0);
      const exit = await dash.exited;
      expect(exit.code).toBe(0);
      expect(Date.now() - t0).toBeLessThan(15_000);
      expect(dash.lines.some((l) => l.json?.msg === 'dashboard stopping' && l.json.reason === 'service stop')).toBe(
        true,
      );
      expect(dash.lines.some((l) => l.json?.msg === 'dashboard stopped')).toBe(true);
      const again = await group.runCli(['--config', cfg, 'service', 'stop-dashboard'], { cwd: dir });
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/the dashboard does not answer.*is it running/);
    } finally {
      await pgdb.drop();
    }
  }, 120_000);
});
