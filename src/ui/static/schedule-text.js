// Schedules in human units for the editor: "every 6 hours", "daily at 03:00", "weekly on Monday at
// 03:00", or a custom cron expression. Converts to and from the API's schedule fields
// (schedule_type, cron_expression, interval_seconds). Pure functions.

export const UNITS = [
  ['minutes', 60],
  ['hours', 3600],
  ['days', 86400],
];
export const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const two = (n) => String(n).padStart(2, '0');

/** The editor's view of a stored schedule: {kind: interval|daily|weekly|cron, every, unit, time, day, cron}. */
export function toHuman(s) {
  if (s.schedule_type === 'interval') {
    const secs = s.interval_seconds ?? 3600;
    const [unit, size] = [...UNITS].reverse().find(([, n]) => secs % n === 0) ?? ['minutes', 60];
    return { kind: 'interval', every: secs / size, unit, time: '03:00', day: 1, cron: '' };
  }
  const cron = (s.cron_expression ?? '0 3 * * *').trim();
  const m = /^(\d{1,2}) (\d{1,2}) \* \* (\*|[0-6])$/.exec(cron);
  if (m && Number(m[1]) < 60 && Number(m[2]) < 24) {
    const time = `${two(m[2])}:${two(m[1])}`;
    return m[3] === '*'
      ? { kind: 'daily', every: 6, unit: 'hours', time, day: 1, cron }
      : { kind: 'weekly', every: 6, unit: 'hours', time, day: Number(m[3]), cron };
  }
  return { kind: 'cron', every: 6, unit: 'hours', time: '03:00', day: 1, cron };
}

/** API fields of a human schedule: {schedule_type, cron_expression, interval_seconds}. */
export function fromHuman(h) {
  if (h.kind === 'interval') {
    const size = UNITS.find(([u]) => u === h.unit)?.[1] ?? 3600;
    const n = Number(h.every);
    return {
      schedule_type: 'interval',
      cron_expression: null,
      interval_seconds: Number.isFinite(n) ? Math.round(n * size) : null,
    };
  }
  if (h.kind === 'cron') return { schedule_type: 'cron', cron_expression: h.cron.trim(), interval_seconds: null };
  const [hh, mm] = (h.time || '03:00').split(':').map(Number);
  const dow = h.kind === 'weekly' ? String(h.day) : '*';
  return { schedule_type: 'cron', cron_expression: `${mm} ${hh} * * ${dow}`, interval_seconds: null };
}

/** "every 6 hours", "daily at 03:00", "weekly on Monday at 03:00", "cron 0 3 * * 1-5". */
export function describe(h) {
  if (h.kind === 'interval') return `every ${h.every} ${Number(h.every) === 1 ? h.unit.replace(/s$/, '') : h.unit}`;
  if (h.kind === 'daily') return `daily at ${h.time}`;
  if (h.kind === 'weekly') return `weekly on ${DAYS[h.day]} at ${h.time}`;
  return `cron ${h.cron}`;
}
