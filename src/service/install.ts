/**
 * `rbackup2 service install|uninstall` for the packaged agent (release/rbackup2-*-win-x64.zip or
 * -linux-x64.tar.gz). Windows: copies the package's service/winsw.exe to
 * service/rbackup2-service.exe, writes rbackup2-service.xml beside it (service-files.ts) and runs
 * WinSW's `install` (uninstall: `stop`, then `uninstall`). Linux: writes
 * /etc/systemd/system/rbackup2.service and runs `systemctl daemon-reload` and `enable --now`
 * (uninstall: `disable --now`, remove the unit). Every child command is bounded (WinSW's stop by
 * the agent's own shutdown timeout plus a minute). `dryRun` writes the files and prints the
 * commands without running them.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../errors.js';
import { systemdUnit, winswXml, type ServicePaths } from './service-files.js';

export interface ServiceOptions {
  /** Absolute config file the service runs with. */
  config: string;
  /** app/dist/main.js (process.argv[1] of this CLI). */
  main: string;
  node: string;
  platform: NodeJS.Platform;
  dryRun: boolean;
  /** client.shutdown_timeout_seconds: bounds how long an uninstall waits for the stop. */
  shutdownTimeoutSeconds: number;
  print: (line: string) => void;
  /** Linux: where the unit goes (default /etc/systemd/system). */
  systemdDir?: string;
}

/** The package's top folder: app/dist/main.js -> three levels up. */
function packageDir(main: string): string {
  return path.resolve(path.dirname(main), '..', '..');
}

function runStep(o: ServiceOptions, cmd: string, args: string[], timeoutMs: number): void {
  o.print(`${o.dryRun ? 'would run' : 'running'}: ${[cmd, ...args].join(' ')}`);
  if (o.dryRun) return;
  try {
    execFileSync(cmd, args, { stdio: 'inherit', timeout: timeoutMs, windowsHide: true });
  } catch (err) {
    throw new AppError(
      'INVALID_INPUT',
      `${cmd} ${args.join(' ')} failed (${(err as Error).message.split('\n')[0]}); run it as an administrator`,
      { cause: err },
    );
  }
}

function paths(o: ServiceOptions): ServicePaths {
  const configDir = path.dirname(o.config);
  return { node: o.node, main: o.main, config: o.config, workDir: configDir, logDir: path.join(configDir, 'logs') };
}

function winswPaths(o: ServiceOptions): { exe: string; xml: string; source: string } {
  const dir = path.join(packageDir(o.main), 'service');
  return {
    source: path.join(dir, 'winsw.exe'),
    exe: path.join(dir, 'rbackup2-service.exe'),
    xml: path.join(dir, 'rbackup2-service.xml'),
  };
}

/** Install the service (see the module doc). Throws INVALID_INPUT naming the missing file or failed command. */
export function installService(o: ServiceOptions): void {
  if (!fs.existsSync(o.config))
    throw new AppError('CONFIG_NOT_FOUND', `${o.config}: the service's config file does not exist`);
  if (o.platform === 'win32') {
    const w = winswPaths(o);
    if (!fs.existsSync(w.source))
      throw new AppError(
        'INVALID_INPUT',
        `${w.source} is missing: "service install" works from the Windows package (rbackup2-<version>-win-x64.zip)`,
      );
    fs.copyFileSync(w.source, w.exe);
    const cfg = `${w.source}.config`;
    if (fs.existsSync(cfg)) fs.copyFileSync(cfg, `${w.exe}.config`);
    fs.writeFileSync(w.xml, winswXml(paths(o)));
    fs.mkdirSync(paths(o).logDir, { recursive: true });
    o.print(`wrote ${w.xml}`);
    runStep(o, w.exe, ['install'], 60_000);
    runStep(o, w.exe, ['start'], 60_000);
    return;
  }
  if (o.platform !== 'linux')
    throw new AppError('INVALID_INPUT', `service install: not supported on ${o.platform} (Windows and Linux only)`);
  const unit = path.join(o.systemdDir ?? '/etc/systemd/system', 'rbackup2.service');
  fs.writeFileSync(unit, systemdUnit(paths(o)), { mode: 0o644 });
  o.print(`wrote ${unit}`);
  runStep(o, 'systemctl', ['daemon-reload'], 60_000);
  runStep(o, 'systemctl', ['enable', '--now', 'rbackup2'], 60_000);
}

/** Stop and remove the service (see the module doc). */
export function uninstallService(o: ServiceOptions): void {
  const stopMs = (o.shutdownTimeoutSeconds + 60) * 1000;
  if (o.platform === 'win32') {
    const w = winswPaths(o);
    if (!fs.existsSync(w.exe))
      throw new AppError('NOT_FOUND', `${w.exe} does not exist: the service is not installed from this package`);
    runStep(o, w.exe, ['stop'], stopMs);
    runStep(o, w.exe, ['uninstall'], 60_000);
    if (!o.dryRun) for (const f of [w.xml, `${w.exe}.config`, w.exe]) fs.rmSync(f, { force: true });
    return;
  }
  if (o.platform !== 'linux')
    throw new AppError('INVALID_INPUT', `service uninstall: not supported on ${o.platform} (Windows and Linux only)`);
  const unit = path.join(o.systemdDir ?? '/etc/systemd/system', 'rbackup2.service');
  runStep(o, 'systemctl', ['disable', '--now', 'rbackup2'], stopMs);
  if (!o.dryRun) fs.rmSync(unit, { force: true });
  runStep(o, 'systemctl', ['daemon-reload'], 60_000);
}
