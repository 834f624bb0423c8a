/**
 * C07, the early window: a cancel that arrives before restic's first output is held until that
 * output (restic has written its lock by then), at most 5 s, so restic 0.14 is never interrupted
 * while it writes its lock file (which leaves an empty lock that `restic unlock` never removes).
 * restic here is a STAND-IN (a shell script, named so): it answers `version`, `list` and `cat`
 * like restic 0.14 and for `backup` stays silent for a while, then prints one status line; it
 * records when it printed and when SIGINT reached it, which a real restic cannot be made to show
 * on demand. test/backup/run-backup.e2e.test.ts shows the same with real restic.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup } from '../../src/backup/run-backup.js';
import { parseResticVersion } from '../../src/restic/version.js';
import { makeJob, makeRepo, tempDir } from './helpers.js';

let tmp: { dir: string; cleanup: () => void };

/**
 * A stand-in restic whose `backup` is silent for `silentSeconds`, then prints a status line. The
 * moment is recorded just before the line is printed: recorded after it, a SIGINT sent on the
 * line could end the script first (seen once on a loaded machine).
 */
function standIn(name: string, silentSeconds: number | null): { path: string; record: string } {
  const record = path.join(tmp.dir, `${name}.log`);
  const file = path.join(tmp.dir, `${name}.sh`);
  const speak =
    silentSeconds === null
      ? ''
      : `sleep ${silentSeconds}
echo "output $(date +%s%N)" >> "${record}"
echo '{"message_type":"status","percent_done":0,"total_files":1,"files_done":0,"total_bytes":1,"bytes_done":0}'`;
  fs.writeFileSync(
    file,
    `#!/bin/sh
# A STAND-IN for restic (test/backup/cancel-before-output.test.ts), not restic.
case "$1" in
  version) echo "restic 0.14.0 compiled with go1.19.8 on linux/amd64"; exit 0 ;;
  list) exit 0 ;;
  cat) echo '{"version":2,"id":"${'d'.repeat(64)}","chunker_polynomial":"25b468838dcb75"}'; exit 0 ;;
esac
trap 'echo "sigint $(date +%s%N)" >> "${record}"; exit 130' INT
echo "start $(date +%s%N)" >> "${record}"
${speak}
sleep 60 &
wait
`,
    { mode: 0o755 },
  );
  return { path: file, record };
}

/** The stand-in's record: event name -> ms since epoch. */
function events(record: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of fs.readFileSync(record, 'utf8').trim().split('\n')) {
    const [name, ns] = line.split(' ');
    if (name && ns) out[name] = Number(BigInt(ns) / 1_000_000n);
  }
  return out;
}

async function runAbortedAtStart(restic: string): Promise<{ status: string; abortedAt: number }> {
  const dataDir = path.join(tmp.dir, `data-${path.basename(restic)}`);
  fs.mkdirSync(dataDir, { recursive: true });
  const src = path.join(tmp.dir, 'src');
  fs.mkdirSync(src, { recursive: true });
  const controller = new AbortController();
  const started = runBackup({
    job: makeJob({ sourcePaths: [src], repository: makeRepo({ url: path.join(tmp.dir, 'repo'), password: 'x' }) }),
    restic: { path: restic, version: parseResticVersion('restic 0.14.0 compiled with go1.19.8 on linux/amd64')! },
    dataDir,
    signal: controller.signal,
    cancelGraceSeconds: 5,
  });
  const recordFile = restic.replace(/\.sh$/, '.log');
  // Abort as soon as the stand-in's backup has started (restic would be opening the repository).
  const t0 = Date.now();
  while (!fs.existsSync(recordFile) && Date.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 10));
  const abortedAt = Date.now();
  controller.abort();
  const result = await started;
  return { status: result.status, abortedAt };
}

beforeAll(() => {
  tmp = tempDir('rb2-cancel-before-output-');
  fs.mkdirSync(path.join(tmp.dir, 'src'), { recursive: true });
  fs.writeFileSync(path.join(tmp.dir, 'src', 'a.txt'), 'a\n');
});
afterAll(() => tmp.cleanup());

describe('C07 a cancel before restic has said anything [stand-in restic]', () => {
  it('waits for restic first output, then interrupts it', async () => {
    const s = standIn('speaks-after-1s', 1);
    const { status } = await runAbortedAtStart(s.path);
    expect(status).toBe('cancelled');
    const e = events(s.record);
    expect(e.output, 'the stand-in printed its status line').toBeGreaterThan(0);
    expect(e.sigint, 'SIGINT reached it').toBeGreaterThan(0);
    // Held until the output (not sent at once, ~1 s earlier), and sent right after it.
    expect(e.sigint!).toBeGreaterThanOrEqual(e.output!);
    expect(e.sigint! - e.output!).toBeLessThan(1500);
  }, 30_000);

  it('interrupts a restic that stays silent after 5 s at most', async () => {
    const s = standIn('never-speaks', null);
    const { status, abortedAt } = await runAbortedAtStart(s.path);
    expect(status).toBe('cancelled');
    const e = events(s.record);
    expect(e.output).toBeUndefined();
    expect(e.sigint! - abortedAt).toBeGreaterThanOrEqual(4500);
    expect(e.sigint! - abortedAt).toBeLessThan(8000);
  }, 30_000);
});
