/**
 * Streaming line splitter for a child's stdout/stderr (cases C01, C15). Chunks may split lines
 * and multi-byte UTF-8 characters anywhere; StringDecoder keeps partial characters until the rest
 * arrives. A line longer than `maxLineChars` is cut to that length (the rest up to its newline is
 * discarded and counted), so memory stays bounded whatever the child prints.
 */
import { StringDecoder } from 'node:string_decoder';

export const DEFAULT_MAX_LINE_CHARS = 64 * 1024;

export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  private discarding = false;
  /** Lines that were longer than the limit and were cut. */
  truncatedLines = 0;
  /** Complete lines delivered. */
  lines = 0;

  /**
   * @param onLine called once per line, without the trailing `\n` / `\r\n`
   * @param maxLineChars longest line kept (UTF-16 code units); longer lines are cut
   */
  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLineChars = DEFAULT_MAX_LINE_CHARS,
  ) {}

  /** Feed a chunk (Buffer of UTF-8 bytes, or an already decoded string). */
  push(chunk: Buffer | string): void {
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    if (text === '') return;
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl === -1) break;
      this.completeLine(text, start, nl);
      start = nl + 1;
    }
    if (start < text.length) this.appendPartial(text, start, text.length);
  }

  /** Flush the decoder and deliver a last line that had no newline. */
  end(): void {
    const rest = this.decoder.end();
    if (rest) this.push(rest);
    if (this.partial !== '' || this.discarding) {
      const line = this.partial;
      this.partial = '';
      this.discarding = false;
      this.emit(line);
    }
  }

  private appendPartial(text: string, from: number, to: number): void {
    if (this.discarding) return;
    const room = this.maxLineChars - this.partial.length;
    if (to - from > room) {
      this.partial += text.slice(from, from + room);
      this.discarding = true;
      this.truncatedLines++;
    } else {
      this.partial += text.slice(from, to);
    }
  }

  private completeLine(text: string, from: number, to: number): void {
    let line: string;
    if (this.partial === '' && !this.discarding) {
      if (to - from > this.maxLineChars) {
        line = text.slice(from, from + this.maxLineChars);
        this.truncatedLines++;
      } else {
        line = text.slice(from, to);
      }
    } else {
      this.appendPartial(text, from, to);
      line = this.partial;
      this.partial = '';
      this.discarding = false;
    }
    this.emit(line);
  }

  private emit(line: string): void {
    this.lines++;
    this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  }
}
