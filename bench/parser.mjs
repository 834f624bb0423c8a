/* global process, console, Buffer */
// Throughput and memory of the restic output parser (src/backup/output-parser.ts).
// Run: npm run build && node --expose-gc bench/parser.mjs [lines]
// Feeds a synthetic restic `backup --json` stream (status lines, 1 % error items on stderr, a
// little non-JSON text, a summary) in 64 KiB chunks that split lines and UTF-8 characters, then
// prints lines/s and heap growth. Targets: >= 200,000 lines/s, heap growth < 30 MB.
import { BackupOutputParser } from '../dist/backup/output-parser.js';

const total = Number(process.argv[2] ?? 1_000_000);
const status = (i) => `{"message_type":"status","seconds_elapsed":${i},"seconds_remaining":9223372036854775808,"percent_done":${(i / total).toFixed(6)},"total_files":100000,"files_done":${i % 100000},"total_bytes":90000000000,"bytes_done":${i * 1000},"current_files":["/srv/Fotomateriály/Rok 2024/IMG_${i}.jpg"]}\n`;
const error = (i) => `{"message_type":"error","error":{"Op":"open","Path":"/srv/žluťoučký/${i}","Err":13},"during":"archival","item":"/srv/žluťoučký/${i}"}\n`;

function chunks(lines) {
  const buf = Buffer.from(lines.join(''), 'utf8');
  const out = [];
  for (let i = 0; i < buf.length; i += 65_521) out.push(buf.subarray(i, i + 65_521));
  return out;
}

// Pre-build the input in blocks so generation does not count.
const BLOCK = 10_000;
const blocks = [];
for (let b = 0; b < total / BLOCK; b++) {
  const out = [];
  const err = [];
  for (let i = b * BLOCK; i < (b + 1) * BLOCK; i++) {
    if (i % 100 === 0) err.push(error(i));
    else if (i % 1000 === 1) out.push(`[0:${String(i % 60).padStart(2, '0')}] ${(i / total * 100).toFixed(2)}%  ${i} / ${total} packs\n`);
    else out.push(status(i));
  }
  blocks.push({ out: chunks(out), err: chunks(err) });
}
const summary = '{"message_type":"summary","files_new":1,"files_changed":0,"files_unmodified":99999,"dirs_new":0,"dirs_changed":1,"dirs_unmodified":9,"data_blobs":1,"tree_blobs":2,"data_added":1234,"total_files_processed":100000,"total_bytes_processed":90000000000,"total_duration":3600.5,"snapshot_id":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}\n';

globalThis.gc?.();
const heapBefore = process.memoryUsage().heapUsed;
let peak = heapBefore;
let progress = 0;
const parser = new BackupOutputParser({ onProgress: () => { progress++; } });
const t0 = process.hrtime.bigint();
for (const block of blocks) {
  for (const c of block.out) parser.pushStdout(c);
  for (const c of block.err) parser.pushStderr(c);
  const h = process.memoryUsage().heapUsed;
  if (h > peak) peak = h;
}
parser.pushStdout(summary);
parser.end();
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const r = parser.result();
globalThis.gc?.();
const retained = process.memoryUsage().heapUsed - heapBefore;
const linesPerSecond = Math.round((total + 1) / seconds);
console.log(JSON.stringify({
  lines: total + 1, seconds: Number(seconds.toFixed(3)), linesPerSecond,
  peakHeapGrowthMB: Number(((peak - heapBefore) / 1048576).toFixed(1)),
  retainedHeapMB: Number((retained / 1048576).toFixed(2)),
  progressEvents: progress, errorsKept: r.errors.length, errorCount: r.errorCount, tailLines: r.textTail.length,
  summaryFound: r.summary !== null, gcExposed: typeof globalThis.gc === 'function',
}, null, 1));
if (linesPerSecond < 200_000 || retained > 30 * 1048576 || !r.summary) process.exitCode = 1;
