/* global process, console, Buffer */
// Throughput and memory of the restic output parser (src/restic/backup-output.ts).
// Run: npm run build && node --expose-gc bench/parser.mjs [lines] [--baseline]
// --baseline generates and drops the same input without parsing it: the memory the bench itself
// costs (subtract it from the RSS figure).
// Feeds a synthetic restic `backup --json` stream (status lines, 1 % error items on stderr, a
// little non-JSON text, a summary) in 65,521-byte chunks that split lines and UTF-8 characters.
// The input is generated lazily, 10,000 lines at a time, and dropped once fed, so the bench's own
// data never piles up; only the time spent inside the parser counts for lines/s.
// Memory, sampled after each block of 10,000 lines:
//  - liveHeap: heapUsed right after a full GC (needs --expose-gc; every 10th block, and at the end)
//    = what the parser really keeps alive. Target: growth < 30 MB.
//  - heapUsed without a forced GC: includes garbage V8 has not collected yet (young generation
//    up to its semi-space size, old-space garbage waiting for the next mark-compact).
//  - RSS: the process's resident memory.
// Exits 1 below 200,000 lines/s, with live heap growth >= 30 MB, or when the summary is lost.
import { BackupOutputParser } from '../dist/restic/backup-output.js';

const baseline = process.argv.includes('--baseline');
const total = Number(process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 1_000_000);
const gc = typeof globalThis.gc === 'function' ? globalThis.gc : null;
const status = (i) =>
  `{"message_type":"status","seconds_elapsed":${i},"seconds_remaining":9223372036854775808,"percent_done":${(i / total).toFixed(6)},"total_files":100000,"files_done":${i % 100000},"total_bytes":90000000000,"bytes_done":${i * 1000},"current_files":["/srv/Fotomateriály/Rok 2024/IMG_${i}.jpg"]}\n`;
const error = (i) =>
  `{"message_type":"error","error":{"Op":"open","Path":"/srv/žluťoučký/${i}","Err":13},"during":"archival","item":"/srv/žluťoučký/${i}"}\n`;
const text = (i) =>
  `[0:${String(i % 60).padStart(2, '0')}] ${((i / total) * 100).toFixed(2)}%  ${i} / ${total} packs\n`;
const summary =
  '{"message_type":"summary","files_new":1,"files_changed":0,"files_unmodified":99999,"dirs_new":0,"dirs_changed":1,"dirs_unmodified":9,"data_blobs":1,"tree_blobs":2,"data_added":1234,"total_files_processed":100000,"total_bytes_processed":90000000000,"total_duration":3600.5,"snapshot_id":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}\n';

const CHUNK = 65_521;
const BLOCK = 10_000;
/** One block of input as stdout/stderr Buffers in CHUNK-sized pieces (a piece may split a line or a character). */
function block(b) {
  const out = [];
  const err = [];
  for (let i = b * BLOCK; i < Math.min(total, (b + 1) * BLOCK); i++) {
    if (i % 100 === 0) err.push(error(i));
    else if (i % 1000 === 1) out.push(text(i));
    else out.push(status(i));
  }
  const split = (buf) => {
    const c = [];
    for (let i = 0; i < buf.length; i += CHUNK) c.push(buf.subarray(i, i + CHUNK));
    return c;
  };
  return { out: split(Buffer.from(out.join(''), 'utf8')), err: split(Buffer.from(err.join(''), 'utf8')) };
}

const mb = (n) => Number((n / 1048576).toFixed(1));
gc?.();
const base = process.memoryUsage();
const peak = { heapUsed: 0, liveHeap: 0, rss: 0 };
let progress = 0;
let parserNs = 0n;
const parser = new BackupOutputParser({
  onProgress: () => {
    progress++;
  },
});
const timed = (fn) => {
  const t = process.hrtime.bigint();
  fn();
  parserNs += process.hrtime.bigint() - t;
};
const blocks = Math.ceil(total / BLOCK);
for (let b = 0; b < blocks; b++) {
  const { out, err } = block(b);
  if (!baseline)
    timed(() => {
      for (const c of out) parser.pushStdout(c);
      for (const c of err) parser.pushStderr(c);
    });
  const m = process.memoryUsage();
  peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed - base.heapUsed);
  peak.rss = Math.max(peak.rss, m.rss - base.rss);
  if (gc && (b % 10 === 9 || b === blocks - 1)) {
    gc();
    peak.liveHeap = Math.max(peak.liveHeap, process.memoryUsage().heapUsed - base.heapUsed);
  }
}
timed(() => {
  parser.pushStdout(summary);
  parser.end();
});
const r = parser.result();
gc?.();
const end = process.memoryUsage();
const seconds = Number(parserNs) / 1e9;
const linesPerSecond = Math.round((total + 1) / seconds);
const liveGrowth = gc ? peak.liveHeap : null;
console.log(
  JSON.stringify(
    {
      mode: baseline ? 'baseline (input generated, not parsed)' : 'parse',
      lines: total + 1,
      parserSeconds: Number(seconds.toFixed(3)),
      linesPerSecond,
      peakLiveHeapGrowthMB: liveGrowth === null ? 'run with --expose-gc' : mb(liveGrowth),
      retainedHeapAtEndMB: gc ? Number(((end.heapUsed - base.heapUsed) / 1048576).toFixed(2)) : null,
      peakHeapUsedGrowthMB_inclGarbage: mb(peak.heapUsed),
      peakRssGrowthMB: mb(peak.rss),
      progressEvents: progress,
      errorsKept: r.errors.length,
      errorCount: r.errorCount,
      tailLines: r.textTail.length,
      summaryFound: r.summary !== null,
      gcExposed: gc !== null,
    },
    null,
    1,
  ),
);
if ((!baseline && linesPerSecond < 200_000) || (liveGrowth ?? 0) >= 30 * 1048576 || !r.summary) process.exitCode = 1;
