/**
 * Plain-text output of the CLI: aligned tables for `list` commands. Kept tiny on purpose; values
 * are printed as given (no truncation of paths: a path is what the user needs to see whole).
 */

/** Render rows as a table with a header line; `columns` gives the header and the row key. */
export function formatTable<T extends object>(rows: T[], columns: { key: keyof T & string; header: string }[]): string {
  const cells = rows.map((r) => columns.map((c) => cellText(r[c.key])));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n');
}

function cellText(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(cellText).join(', ');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Bytes as `12.3 MiB` (`-` for null). */
export function humanBytes(n: number | null): string {
  if (n === null) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
