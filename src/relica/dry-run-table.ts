/**
 * The Relica import plan as plain text for `import-relica --dry-run` (and for the real import's
 * summary). Pure; never prints a password (only where it comes from).
 */
import type { ImportPlan, PasswordSource, PlannedRepository } from './plan-types.js';

/** Left-aligned columns separated by two spaces; widths from the widest cell (code points). */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const width = header.map((h, i) => Math.max([...h].length, ...rows.map((r) => [...(r[i] ?? '')].length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat((width[i] ?? 0) - [...c].length)))
      .join('  ')
      .trimEnd();
  return [line(header), line(width.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

function passwordFrom(p: PasswordSource): string {
  if (p.kind === 'file') return `password file ${p.path}`;
  if (p.kind === 'command') return 'password command (as given)';
  return 'password entered at the prompt';
}

function repositoryLine(r: PlannedRepository): string {
  if (r.kind === 'new') return `repository "${r.name}" (id ${r.id}): ${r.url}, ${passwordFrom(r.password)}`;
  return 'repository: the one already configured in rbackup2 (the import stops if there is none; see --repository-url)';
}

function section(title: string, items: readonly string[]): string[] {
  if (items.length === 0) return [];
  return ['', `${title}:`, ...items.map((x) => `  - ${x}`)];
}

/**
 * Render the plan: device and repository lines, a table of jobs (name, id, number of paths,
 * excludes, cron schedules, catch-up, last run, hooks), then the reports (other origins left out,
 * not carried over, unknown fields, warnings). Returns text ending with a newline.
 */
export function formatPlan(plan: ImportPlan): string {
  const out: string[] = [
    `Relica state file: ${plan.file}`,
    `device: "${plan.device.name}" (id ${plan.device.id})`,
    repositoryLine(plan.repository),
    '',
  ];
  const rows = plan.jobs.map((j) => [
    j.name,
    j.id,
    String(j.sourcePaths.length),
    String(j.excludePatterns.length),
    j.schedules.length === 0 ? '(none: manual)' : j.schedules.map((s) => s.cron).join(' | '),
    j.schedules.length === 0 ? '-' : j.schedules.every((s) => s.catchUp) ? 'yes' : 'no',
    j.lastRunAt ?? 'never',
    String(j.hooks.length),
  ]);
  if (rows.length === 0) out.push('no jobs to import');
  else
    out.push(
      ...table(
        ['job', 'id', 'paths', 'excludes', 'schedules (cron, local time)', 'catch-up', 'last run', 'hooks'],
        rows,
      ),
    );
  out.push(
    '',
    `${plan.jobs.length} job(s) for this device; ${plan.skippedOtherOrigins} backup(s) of other Relica origins left out`,
  );
  out.push(...section('Not carried over (set these up yourself)', plan.notCarriedOver));
  out.push(...section('Fields of the state file this importer does not know (ignored)', plan.unknownFields));
  out.push(...section('Warnings', plan.warnings));
  return `${out.join('\n')}\n`;
}
