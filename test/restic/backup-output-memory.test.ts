// C15: the parser's bounded tails must not keep the big decoded chunks their lines came from.
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { BoundedTail, detachString } from '../../src/restic/bounded-tail.js';
import { BackupOutputParser } from '../../src/restic/backup-output.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function liveHeap(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** A ~256 KiB chunk of status lines with one plain text line (kept in the tail) in it. */
function chunk(i: number): Buffer {
  const status = '{"message_type":"status","percent_done":0.5,"current_files":["/srv/žluťoučký kůň.jpg"]}\n';
  return Buffer.from(`${status.repeat(2600)}plain text line number ${i} from restic\n${status.repeat(200)}`, 'utf8');
}

describe('parser memory', () => {
  it('C15 300 text lines from 300 chunks of 256 KiB keep well under 10 MB alive', () => {
    const before = liveHeap();
    const parser = new BackupOutputParser({ maxTailLines: 200 });
    for (let i = 0; i < 150; i++) {
      parser.pushStdout(chunk(i));
      parser.pushStderr(chunk(i + 1000));
    }
    parser.end();
    const grown = liveHeap() - before;
    const r = parser.result();
    expect(r.textTail.length).toBe(200);
    expect(r.stderrTail.length).toBe(100);
    expect(r.textTail.at(-1)).toBe('stderr: plain text line number 1149 from restic');
    expect(r.lastProgress?.currentFiles).toEqual(['/srv/žluťoučký kůň.jpg']);
    // Each chunk decodes to ~560 KB (two-byte string); keeping slices of them would hold > 100 MB.
    expect(grown).toBeLessThan(10 * 1024 * 1024);
  });

  it('C15 detachString copies the text exactly, lone surrogates and empty string included', () => {
    const big = `${'x'.repeat(100_000)}a line with ž and \ud83d alone${'y'.repeat(100)}`;
    const line = big.slice(100_000, 100_000 + 30);
    expect(detachString(line)).toBe(line);
    expect(detachString('')).toBe('');
    const tail = new BoundedTail(2, 5);
    tail.push('abcdefgh');
    tail.push('ab');
    expect(tail.lines()).toEqual(['abcde…', 'ab']);
  });
});
