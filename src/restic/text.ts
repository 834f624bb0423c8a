/** Cleaning text restic printed before it goes into a message, a log or a run record (C31). */
import { stripAnsi } from './bounded-tail.js';

/** Text with ANSI escape sequences and control characters (except newlines) removed. */
export function cleanText(s: string): string {
  // eslint-disable-next-line no-control-regex
  return stripAnsi(s.replace(/\r\n?/g, '\n')).replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g, '');
}
