import { describe, expect, it } from 'vitest';
import { BackupOutputParser, safeNumber, type ProgressEvent } from '../../src/restic/backup-output.js';
import { LineSplitter } from '../../src/restic/line-splitter.js';
import { stripAnsi } from '../../src/restic/bounded-tail.js';
import { fixture, parseAll } from '../backup/helpers.js';

const SUMMARY =
  '{"message_type":"summary","files_new":2,"files_changed":1,"files_unmodified":3,"dirs_new":4,"dirs_changed":0,"dirs_unmodified":5,"data_blobs":2,"tree_blobs":4,"data_added":202084,"total_files_processed":6,"total_bytes_processed":200006,"total_duration":0.2,"snapshot_id":"c38d3b43"}';

describe('line splitter', () => {
  it('C01 reassembles lines and multi-byte characters split at every byte position', () => {
    const text =
      '{"message_type":"status","current_files":["/srv/Fotomateriály/Rok 2024/žluťoučký kůň 🐎.jpg"]}\nplain ěščř line\n';
    const bytes = Buffer.from(text, 'utf8');
    for (let i = 0; i <= bytes.length; i++) {
      for (const j of [i, Math.min(bytes.length, i + 1), Math.min(bytes.length, i + 3)]) {
        const lines: string[] = [];
        const s = new LineSplitter((l) => lines.push(l));
        s.push(bytes.subarray(0, i));
        s.push(bytes.subarray(i, j));
        s.push(bytes.subarray(j));
        s.end();
        expect(lines).toEqual(text.split('\n').slice(0, 2));
      }
    }
  });

  it('C15 cuts an over-long line and counts it, keeping the next line intact', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l), 100);
    s.push('x'.repeat(60));
    s.push('y'.repeat(1_000_000));
    s.push('\nnext\r\n');
    s.push('z'.repeat(500) + '\nlast');
    s.end();
    expect(lines.map((l) => l.length)).toEqual([100, 4, 100, 4]);
    expect(lines[1]).toBe('next');
    expect(s.truncatedLines).toBe(2);
  });
});

describe('output parser', () => {
  it('C01 takes statistics from the summary even when status lines follow it or it comes twice', () => {
    const status = '{"message_type":"status","percent_done":0.5,"total_files":10,"files_done":5}';
    const second = SUMMARY.replace('"files_new":2', '"files_new":7');
    const p = parseAll([status, SUMMARY, status, second, status, ''].join('\n'));
    expect(p.summary?.filesNew).toBe(7);
    expect(p.summaryCount).toBe(2);
    expect(p.summary?.snapshotId).toBe('c38d3b43');
    expect(p.statusLines).toBe(3);
  });

  it('C01 finds the summary when every chunk is one byte', () => {
    const parser = new BackupOutputParser();
    const bytes = Buffer.from(`{"message_type":"status","percent_done":0}\n${SUMMARY}`);
    for (let i = 0; i < bytes.length; i++) parser.pushStdout(bytes.subarray(i, i + 1));
    parser.end();
    expect(parser.result().summary?.totalBytesProcessed).toBe(200006);
  });

  it('C02 keeps non-JSON stdout lines as text and still parses the rest', () => {
    const out = [
      'reading repository password from stdin',
      'debug log enabled',
      '[0:00] 100.00%  7 / 7 packs',
      '[1,2]',
      '{"message_type":"future_thing","x":1}',
      '{broken json',
      SUMMARY,
    ].join('\n');
    const p = parseAll(out);
    expect(p.summary?.filesNew).toBe(2);
    expect(p.textTail).toEqual([
      'reading repository password from stdin',
      'debug log enabled',
      '[0:00] 100.00%  7 / 7 packs',
      '[1,2]',
      '{"message_type":"future_thing","x":1}',
      '{broken json',
    ]);
  });

  it('C03 accepts summaries without snapshot_id, with 8 hex and with 64 hex ids', () => {
    const noId = parseAll(SUMMARY.replace(',"snapshot_id":"c38d3b43"', ''));
    expect(noId.summary).not.toBeNull();
    expect(noId.summary?.snapshotId).toBeNull();
    expect(parseAll(SUMMARY).summary?.snapshotId).toBe('c38d3b43');
    const long = 'a5d8eb00d2db903ed96bf03bf8c7e3c32c4b8776e3874d3830a3c298a55797a8';
    expect(parseAll(SUMMARY.replace('c38d3b43', long)).summary?.snapshotId).toBe(long);
  });

  it('C05 drops seconds_remaining = 2^63 (fixture 25) and strips ESC[2K from stderr', () => {
    const f = fixture('25-backup-stdin-sigint');
    const events: ProgressEvent[] = [];
    const parser = new BackupOutputParser({ onProgress: (e) => events.push(e) });
    parser.pushStdout(f.stdout);
    parser.pushStderr(f.stderr);
    parser.end();
    const r = parser.result();
    expect(events).toHaveLength(3);
    expect(events[1]?.secondsRemaining).toBeNull();
    expect(events[1]?.secondsElapsed).toBe(1);
    expect(events[1]?.currentFiles).toEqual(['/held.txt']);
    expect(r.stderrTail).toEqual(['signal interrupt received, cleaning up']);
    expect(safeNumber(9223372036854775808)).toBeNull();
    expect(safeNumber(Number.MAX_SAFE_INTEGER)).toBe(Number.MAX_SAFE_INTEGER);
    expect(safeNumber(0.25)).toBe(0.25);
  });

  it('C04 decodes the three error item shapes of fixture 16 and 0.17+', () => {
    const f = fixture('16-backup-json-unreadable-as-nobody');
    const newer =
      '{"message_type":"error","error":{"message":"open /srv/x/secret: permission denied"},"during":"archival","item":"/srv/x/secret"}\n';
    const p = parseAll(f.stdout, Buffer.concat([f.stderr, Buffer.from(newer)]));
    expect(p.errors.map((e) => e.item)).toEqual([
      '/srv/rsrc-nb/locked-dir',
      '/srv/rsrc-nb/locked-dir',
      '/srv/rsrc-nb/unreadable.txt',
      '/srv/x/secret',
    ]);
    expect(p.errors[2]?.message).toBe('open /srv/rsrc-nb/unreadable.txt: permission denied');
    expect(p.errors[3]?.message).toBe('open /srv/x/secret: permission denied');
    expect(p.errors[0]?.message).toContain('/srv/rsrc-nb/locked-dir');
    expect(p.summary?.snapshotId).toBe('a5d8eb00');
    expect(p.stderrTail).toEqual(['Warning: at least one source file could not be read']);
  });

  it('decodes exit_error of restic 0.17+', () => {
    const p = parseAll(
      '',
      '{"message_type":"exit_error","code":10,"message":"Fatal: repository does not exist: unable to open config file"}\n',
    );
    expect(p.exitError).toEqual({ code: 10, message: 'Fatal: repository does not exist: unable to open config file' });
  });

  it('C15 keeps memory bounded: 1e6 status lines and 10k errors give capped errors and tail', () => {
    const parser = new BackupOutputParser();
    const status =
      '{"message_type":"status","seconds_elapsed":12,"seconds_remaining":300,"percent_done":0.4,"total_files":100000,"files_done":40000,"total_bytes":9000000000,"bytes_done":3600000000,"current_files":["/srv/data/a/b/c.bin"]}\n';
    const block = Buffer.from(status.repeat(1000));
    if (global.gc) global.gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 1000; i++) {
      parser.pushStdout(block);
      if (i % 100 === 0) {
        const errs = Array.from(
          { length: 1000 },
          (_, k) =>
            `{"message_type":"error","error":{"Op":"open","Path":"/srv/f${i}_${k}","Err":13},"during":"archival","item":"/srv/f${i}_${k}"}\nsome text line ${k}\n`,
        ).join('');
        parser.pushStderr(errs);
      }
    }
    parser.pushStdout(SUMMARY + '\n');
    parser.end();
    const r = parser.result();
    const growth = process.memoryUsage().heapUsed - before;
    expect(r.statusLines).toBe(1_000_000);
    expect(r.errors).toHaveLength(100);
    expect(r.errorCount).toBe(10_000);
    expect(r.textTail.length).toBeLessThanOrEqual(200);
    expect(r.textDropped).toBe(10_000 - 200);
    expect(r.summary?.filesNew).toBe(2);
    expect(growth).toBeLessThan(40 * 1024 * 1024);
  });

  it('strips other ANSI sequences and carriage-return redraws', () => {
    expect(stripAnsi('\x1b[2K\x1b[1;32mgreen\x1b[0m')).toBe('green');
    expect(stripAnsi('[0:01] 10%\r[0:02] 20%\r')).toBe('[0:02] 20%');
  });
});
