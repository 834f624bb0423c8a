/**
 * Time texts of the web UI (src/ui/static/dom.js, plain browser JavaScript, run here in Node).
 * CI once showed "not answering since 12:04 (in 0 s)": the banner's own moment read as future.
 */
import { expect, it } from 'vitest';
// @ts-expect-error: browser JavaScript without type declarations
import { formatAgo, formatRelative } from '../../src/ui/static/dom.js';

it('formatAgo: a moment just past, or this very one, is "0 s ago", never "in 0 s"; older ones count up', () => {
  const now = Date.parse('2026-12-02T12:04:00.000Z');
  expect(formatAgo('2026-12-02T12:04:00.000Z', now)).toBe('0 s ago');
  // a few ms of skew between taking the time and rendering it
  expect(formatAgo('2026-12-02T12:04:00.004Z', now)).toBe('0 s ago');
  expect(formatAgo('2026-12-02T12:02:55.000Z', now)).toBe('1 min 5 s ago');
  expect(formatAgo(null, now)).toBe('');
});

it('formatRelative keeps the direction for times that may be either side (next run, last run)', () => {
  const now = Date.parse('2026-12-02T12:04:00.000Z');
  expect(formatRelative('2026-12-02T15:04:00.000Z', now)).toBe('in 3 h');
  expect(formatRelative('2026-12-02T12:03:00.000Z', now)).toBe('1 min ago');
});
