/**
 * `rbackup2 recovery-kit [--device D] [--output FILE]` (issue 17): write the recovery kit
 * (src/restore/recovery-kit.ts) of this device's jobs (or, with an admin config without device.id,
 * of every device) to FILE (owner-only, 0600; default `rbackup2-recovery-kit-<date>.md` in the
 * current folder), or to stdout with `--output -`.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { AppError } from '../../errors.js';
import { loadAdminConfig, withDatabase, type GlobalOptions } from '../context.js';

/** Register `recovery-kit` on `program`. */
export function registerRecoveryKitCommand(program: Command): void {
  program
    .command('recovery-kit')
    .description('write every repository URL and password with the plain-restic commands to restore without rbackup2')
    .option('--device <device>', "only this device (default: the config's device, or every device for an admin config)")
    .option('--output <file>', 'where to write it ("-" = stdout)')
    .action(async (o: { device?: string; output?: string }) => {
      const local = await loadAdminConfig(program.opts<GlobalOptions>());
      const { renderRecoveryKit } = await import('../../restore/recovery-kit.js');
      const now = new Date();
      const text = await withDatabase(local, async (db, q) => {
        const only = o.device ?? local.device.id;
        const devices = only ? [await q.getDevice(db, only)] : await q.listDevices(db);
        const kit = [];
        for (const d of devices) {
          if (!d) throw new AppError('NOT_FOUND', `device "${only}" not found`);
          const config = await q.loadDeviceConfig(db, d.id, now);
          kit.push({ id: d.id, name: d.name ?? d.id, jobs: config.jobs });
        }
        return renderRecoveryKit(kit, now.toISOString());
      });
      if (o.output === '-') {
        process.stdout.write(text);
        return;
      }
      const file = path.resolve(o.output ?? `rbackup2-recovery-kit-${now.toISOString().slice(0, 10)}.md`);
      fs.writeFileSync(file, text, { mode: 0o600 });
      fs.chmodSync(file, 0o600);
      console.log(
        `recovery kit written to ${file} (it holds the repository passwords: keep it safe, away from these computers)`,
      );
    });
}
