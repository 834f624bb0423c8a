import { describe, it, expect } from 'vitest';
import { parseConfigChange, REDACTED, fieldPath } from '../../src/api/config-schema.js';

describe('POST /config body schema', () => {
  it('names every bad field with its path', () => {
    const r = parseConfigChange({
      jobs: [
        {
          name: '',
          foo: 1,
          source_paths: ['/a'],
          tags: ['a,b'],
          schedules: [
            { schedule_type: 'cron', cron_expression: '61 * * * *' },
            { schedule_type: 'cron', cron_expression: '0 3 * * *', timezone: 'Mars/Olympus' },
          ],
        },
        { id: 'not-a-uuid' },
        { description: 'new job without name' },
      ],
      settings: { Bad: 'x', ok: null },
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const fields = r.errors.map((e) => e.field).sort();
    expect(fields).toEqual(
      [
        'jobs[0].foo',
        'jobs[0].name',
        'jobs[0].schedules[0].cron_expression',
        'jobs[0].schedules[1].timezone',
        'jobs[0].tags[0]',
        'jobs[1].id',
        'jobs[2].name',
        'jobs[2].source_paths',
        'settings.Bad',
      ].sort(),
    );
    expect(r.errors.find((e) => e.field === 'jobs[0].tags[0]')?.message).toMatch(/comma/);
  });

  it('accepts a full change, fills defaults and lets the redacted password through (kept by the agent)', () => {
    const r = parseConfigChange({
      jobs: [
        {
          name: 'Docs',
          source_paths: ['/srv/Fotomateriály/Rok 2024'],
          schedules: [
            { schedule_type: 'interval', interval_seconds: 3600 },
            { schedule_type: 'cron', cron_expression: '0 4 1 * 7', timezone: 'Europe/Prague' },
          ],
          hooks: [{ command: 'echo hi', timing: 'start' }],
        },
      ],
      delete_jobs: ['7b0e7a39-1a43-4c1c-9a8e-0d4a5c1f2b3d'],
      settings: { repository_password: REDACTED, sync_interval_seconds: '60' },
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.change.jobs?.[0]?.schedules?.[0]).toMatchObject({ catch_up: true, enabled: true });
    expect(r.change.jobs?.[0]?.hooks?.[0]?.on_error).toBe('continue');
    expect(r.change.settings?.repository_password).toBe(REDACTED);
  });

  it('requires the field of the schedule type', () => {
    const r = parseConfigChange({
      jobs: [
        {
          id: '7b0e7a39-1a43-4c1c-9a8e-0d4a5c1f2b3d',
          schedules: [{ schedule_type: 'interval' }, { schedule_type: 'cron' }],
        },
      ],
    });
    expect(r.ok ? [] : r.errors.map((e) => e.field)).toEqual([
      'jobs[0].schedules[0].interval_seconds',
      'jobs[0].schedules[1].cron_expression',
    ]);
  });

  it('formats paths', () => {
    expect(fieldPath(['jobs', 0, 'schedules', 1, 'id'])).toBe('jobs[0].schedules[1].id');
    expect(fieldPath([], 'query')).toBe('query');
    expect(fieldPath([])).toBe('(body)');
  });
});
