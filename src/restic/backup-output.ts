/**
 * Decoder of `restic backup --json` output, restic 0.14 .. 0.18 (docs: "Scripting / JSON output",
 * internal/ui/backup/json.go). Message types: `status` (progress; 0.14/0.15 also send
 * `scan_finished` as a status with an `action`), `verbose_status`, `summary`, `error` (item
 * errors on stderr: `error` is `{}` or `{"Op","Path","Err"}` in 0.14..0.16, `{"message"}` in
 * 0.17+), `exit_error` (0.17+: `{"code","message"}`). Anything else, including non-JSON text
 * (C02), is kept as text in a bounded tail. The LAST summary wins (C01). Numbers outside the
 * safe integer range (2^63 seconds_remaining, C05) become null. Memory is bounded (C15).
 */
import { BoundedTail, detachString, stripAnsi } from './bounded-tail.js';
import { LineSplitter } from './line-splitter.js';

export interface ProgressEvent {
  /** 0..1 */
  percentDone: number;
  totalFiles: number | null;
  filesDone: number | null;
  /** bytes */
  totalBytes: number | null;
  bytesDone: number | null;
  /** seconds */
  secondsElapsed: number | null;
  /** seconds; null when restic gave none or an absurd value */
  secondsRemaining: number | null;
  errorCount: number | null;
  currentFiles: string[];
}

export interface ResticSummary {
  filesNew: number | null;
  filesChanged: number | null;
  filesUnmodified: number | null;
  dirsNew: number | null;
  dirsChanged: number | null;
  dirsUnmodified: number | null;
  /** bytes */
  dataAdded: number | null;
  totalFilesProcessed: number | null;
  /** bytes */
  totalBytesProcessed: number | null;
  /** seconds */
  totalDuration: number | null;
  /** 8 hex (0.14), 64 hex (0.15+) or null (0.17+ `--skip-if-unchanged`, C03) */
  snapshotId: string | null;
  dryRun: boolean;
}

export interface ErrorItem {
  /** The path restic was working on, or null. */
  item: string | null;
  /** `scan`, `archival`, ... or null. */
  during: string | null;
  message: string;
}

export interface ParsedOutput {
  summary: ResticSummary | null;
  summaryCount: number;
  lastProgress: ProgressEvent | null;
  /** First `maxErrors` error items. */
  errors: ErrorItem[];
  /** All error items seen (errors.length + the ones not kept). */
  errorCount: number;
  exitError: { code: number | null; message: string } | null;
  /** Non-JSON / unknown lines of stdout and stderr (ANSI stripped), bounded. */
  textTail: string[];
  textDropped: number;
  /** Only the stderr text lines (bounded), for the classifier. */
  stderrTail: string[];
  statusLines: number;
  truncatedLines: number;
}

export interface ParserOptions {
  onProgress?: (p: ProgressEvent) => void;
  maxErrors?: number;
  maxTailLines?: number;
  maxLineChars?: number;
}

const MAX_MESSAGE_CHARS = 1000;

/** A number restic printed, or null when absent, not finite, or outside the safe integer range. */
export function safeNumber(v: unknown): number | null {
  if (typeof v !== 'number' || !Number.isFinite(v)) return null;
  if (Number.isInteger(v)) return Number.isSafeInteger(v) ? v : null;
  return Math.abs(v) <= Number.MAX_SAFE_INTEGER ? v : null;
}

const ERRNO_TEXT: Readonly<Record<number, string>> = Object.freeze({
  1: 'operation not permitted',
  2: 'no such file or directory',
  5: 'input/output error',
  13: 'permission denied',
  20: 'not a directory',
  21: 'is a directory',
  40: 'too many levels of symbolic links',
});

/** One human sentence from an `error` item's `error` field, whatever its shape. */
export function errorItemMessage(err: unknown, item: string | null): string {
  let msg: string;
  if (typeof err === 'string') msg = err;
  else if (err && typeof err === 'object') {
    const e = err as Record<string, unknown>;
    if (typeof e.message === 'string') msg = e.message;
    else if (typeof e.Op === 'string') {
      const errno = typeof e.Err === 'number' ? (ERRNO_TEXT[e.Err] ?? `errno ${e.Err}`) : String(e.Err ?? 'error');
      msg = `${e.Op} ${typeof e.Path === 'string' ? e.Path : (item ?? '')}: ${errno}`;
    } else msg = item ? `cannot read ${item} (restic gave no detail)` : 'unknown error (restic gave no detail)';
  } else msg = 'unknown error';
  // A copy: a slice of a long parsed message would keep all of it alive (see detachString).
  return msg.length > MAX_MESSAGE_CHARS ? detachString(`${msg.slice(0, MAX_MESSAGE_CHARS)}…`) : msg;
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

/** Streaming parser; feed stdout and stderr chunks, then call end() and result(). */
export class BackupOutputParser {
  private readonly out: LineSplitter;
  private readonly err: LineSplitter;
  private readonly tail: BoundedTail;
  private readonly stderrTail = new BoundedTail(100, 2000);
  private readonly maxErrors: number;
  private summary: ResticSummary | null = null;
  private summaryCount = 0;
  private lastProgress: ProgressEvent | null = null;
  private readonly errors: ErrorItem[] = [];
  private errorCount = 0;
  private exitError: ParsedOutput['exitError'] = null;
  private statusLines = 0;

  constructor(private readonly opts: ParserOptions = {}) {
    this.maxErrors = opts.maxErrors ?? 100;
    this.tail = new BoundedTail(opts.maxTailLines ?? 200, 2000);
    this.out = new LineSplitter((l) => this.line(l, false), opts.maxLineChars);
    this.err = new LineSplitter((l) => this.line(l, true), opts.maxLineChars);
  }

  pushStdout(chunk: Buffer | string): void {
    this.out.push(chunk);
  }
  pushStderr(chunk: Buffer | string): void {
    this.err.push(chunk);
  }
  /** Flush both streams (a last line without newline is still parsed). */
  end(): void {
    this.out.end();
    this.err.end();
  }

  result(): ParsedOutput {
    return {
      summary: this.summary,
      summaryCount: this.summaryCount,
      lastProgress: this.lastProgress,
      errors: [...this.errors],
      errorCount: this.errorCount,
      exitError: this.exitError,
      textTail: this.tail.lines(),
      textDropped: this.tail.dropped,
      stderrTail: this.stderrTail.lines(),
      statusLines: this.statusLines,
      truncatedLines: this.out.truncatedLines + this.err.truncatedLines,
    };
  }

  private line(raw: string, isStderr: boolean): void {
    const line = stripAnsi(raw);
    if (line.charCodeAt(0) === 123 /* { */) {
      let obj: unknown;
      try {
        obj = JSON.parse(line);
      } catch {
        obj = undefined;
      }
      if (obj && typeof obj === 'object' && !Array.isArray(obj) && this.message(obj as Record<string, unknown>)) return;
    }
    if (line.trim() === '') return;
    this.tail.push(isStderr ? `stderr: ${line}` : line);
    if (isStderr) this.stderrTail.push(line);
  }

  /** Handle one decoded JSON object; false when its type is unknown (kept as text). */
  private message(m: Record<string, unknown>): boolean {
    switch (m.message_type) {
      case 'status':
        this.statusLines++;
        if (typeof m.action === 'string') return true; // 0.14/0.15 `scan_finished` (verbose)
        this.progress(m);
        return true;
      case 'verbose_status':
        return true;
      case 'summary':
        this.summaryCount++;
        this.summary = toSummary(m);
        return true;
      case 'error': {
        this.errorCount++;
        if (this.errors.length < this.maxErrors) {
          const item = str(m.item);
          this.errors.push({ item, during: str(m.during), message: errorItemMessage(m.error, item) });
        }
        return true;
      }
      case 'exit_error':
        this.exitError = {
          code: safeNumber(m.code),
          message: detachString((str(m.message) ?? '').slice(0, MAX_MESSAGE_CHARS)),
        };
        return true;
      default:
        return false;
    }
  }

  private progress(m: Record<string, unknown>): void {
    const files = Array.isArray(m.current_files)
      ? m.current_files.filter((f): f is string => typeof f === 'string').slice(0, 20)
      : [];
    const p: ProgressEvent = {
      percentDone: Math.min(1, Math.max(0, safeNumber(m.percent_done) ?? 0)),
      totalFiles: safeNumber(m.total_files),
      filesDone: safeNumber(m.files_done),
      totalBytes: safeNumber(m.total_bytes),
      bytesDone: safeNumber(m.bytes_done),
      secondsElapsed: safeNumber(m.seconds_elapsed),
      secondsRemaining: safeNumber(m.seconds_remaining),
      errorCount: safeNumber(m.error_count),
      currentFiles: files,
    };
    this.lastProgress = p;
    this.opts.onProgress?.(p);
  }
}

function toSummary(m: Record<string, unknown>): ResticSummary {
  const id = str(m.snapshot_id);
  return {
    filesNew: safeNumber(m.files_new),
    filesChanged: safeNumber(m.files_changed),
    filesUnmodified: safeNumber(m.files_unmodified),
    dirsNew: safeNumber(m.dirs_new),
    dirsChanged: safeNumber(m.dirs_changed),
    dirsUnmodified: safeNumber(m.dirs_unmodified),
    dataAdded: safeNumber(m.data_added),
    totalFilesProcessed: safeNumber(m.total_files_processed),
    totalBytesProcessed: safeNumber(m.total_bytes_processed),
    totalDuration: safeNumber(m.total_duration),
    snapshotId: id && /^[0-9a-f]{8,64}$/i.test(id) ? id : null,
    dryRun: m.dry_run === true,
  };
}
