/**
 * A bounded tail of text lines: keeps the last `maxLines` lines, each cut to `maxLineChars`, and
 * counts what it dropped (case C15: the run record keeps a tail, never megabytes).
 */
export class BoundedTail {
  private readonly buf: string[] = [];
  private head = 0;
  /** Lines pushed and later pushed out of the tail. */
  dropped = 0;

  constructor(
    private readonly maxLines = 200,
    private readonly maxLineChars = 2000,
  ) {}

  /** Append one line (cut to maxLineChars with a `…` mark); a copy is kept (see detachString). */
  push(line: string): void {
    const l = detachString(line.length > this.maxLineChars ? `${line.slice(0, this.maxLineChars)}…` : line);
    if (this.buf.length < this.maxLines) {
      this.buf.push(l);
      return;
    }
    this.buf[this.head] = l;
    this.head = (this.head + 1) % this.maxLines;
    this.dropped++;
  }

  /** The kept lines, oldest first. */
  lines(): string[] {
    return this.buf.length < this.maxLines
      ? [...this.buf]
      : [...this.buf.slice(this.head), ...this.buf.slice(0, this.head)];
  }

  /** The kept lines as text, preceded by `[N earlier lines dropped]` when some were dropped. */
  text(): string {
    const body = this.lines().join('\n');
    return this.dropped > 0 ? `[${this.dropped} earlier lines dropped]\n${body}` : body;
  }

  get size(): number {
    return this.buf.length;
  }
}

/**
 * A copy of `s` that shares no memory with a larger string. A line cut out of a decoded 64 KiB
 * chunk is, in V8, a slice that keeps the whole chunk alive (a "sliced string", for substrings of
 * 13+ characters); keeping 300 such lines kept ~25 MB of chunks alive (bench/parser.mjs). Prefixing
 * makes a cons string, and slicing that flattens it into a new string of the line's own length.
 * The content is unchanged (code units are copied as they are, lone surrogates included).
 */
export function detachString(s: string): string {
  return s.length === 0 ? s : ` ${s}`.slice(1);
}

// eslint-disable-next-line no-control-regex -- ESC and BEL are exactly what this strips
const ANSI_RE = /\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])/g;

/** Remove ANSI escape sequences (restic prefixes stderr lines with ESC[2K, fixture 25) and `\r`. */
export function stripAnsi(line: string): string {
  if (!line.includes('\x1b') && !line.includes('\r')) return line;
  const noAnsi = line.replace(ANSI_RE, '');
  // A carriage return inside a line is a progress redraw: keep what was drawn last.
  const cr = noAnsi.lastIndexOf('\r', noAnsi.length - 2);
  return (cr >= 0 ? noAnsi.slice(cr + 1) : noAnsi).replace(/\r$/, '');
}
