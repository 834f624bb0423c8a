import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRelicaState, parseRelicaState } from '../../src/relica/state-file.js';
import { loadSample, SAMPLE_PATH, sampleJson, sampleText, thrown } from './fixture.js';

describe('Relica state file', () => {
  it('loads the real sample: 12 backups, 4 origins, 1 destination, and every field known', async () => {
    const loaded = await loadRelicaState(SAMPLE_PATH);
    expect(loaded.state.read_only.backups).toHaveLength(12);
    expect(loaded.state.read_only.origins.map((o) => o.name)).toEqual(['device1', 'device2', 'device4', 'cloud']);
    expect(loaded.state.read_only.destinations?.map((d) => d.name)).toEqual(['Cloud']);
    expect(loaded.unknownFields).toEqual([]);
    expect(loaded.state.local?.last_backups_done?.['2ac41143-fd87-4c5d-b2d4-213eb5b6c42e']).toEqual({
      'cb871492-76dc-4683-8ecd-d9a6c84ae798': '2025-12-15T03:01:07.580094317Z',
    });
  });

  it('keeps Windows paths and non-ASCII names exactly as in the file', () => {
    const { state } = loadSample();
    const byName = new Map(state.read_only.backups.map((b) => [b.name, b]));
    expect(byName.get('device4/ÚČTO')?.include).toEqual(['C:\\UCTO2020']);
    expect(byName.get('device4/Fotky')?.include).toEqual(['D:\\User2 fotky', 'D:\\Photos2']);
    expect(byName.get('device1/Zpěvníky')?.include).toEqual(['/data/Zpěvníky']);
    expect(byName.get('device1/test')?.include).toEqual(['/home/user/Obrázky']);
  });

  it('reports unknown fields by JSON path instead of dropping them silently', () => {
    const loaded = loadSample((j) => {
      j.read_only.backups[3].foo = 1;
      j.read_only.backups[3].schedule.every_hours = 4;
      j.read_only.backups[0].hooks[0].run_as = 'root';
      j.read_only.destinations[0].cloud_account.credentials[1].extra = true;
      j.local.last_backups_done['2ac41143-fd87-4c5d-b2d4-213eb5b6c42e'] = {
        'cb871492-76dc-4683-8ecd-d9a6c84ae798': '2025-12-15T03:01:07Z',
      };
      j.new_top_level = {};
      j.read_only.origins[2].os = 'windows';
    });
    expect(loaded.unknownFields).toEqual([
      'read_only.backups[0].hooks[0].run_as',
      'read_only.backups[3].schedule.every_hours',
      'read_only.backups[3].foo',
      'read_only.destinations[0].cloud_account.credentials[1].extra',
      'read_only.origins[2].os',
      'new_top_level',
    ]);
  });

  it('names the JSON path where a truncated file ends', () => {
    const text = sampleText();
    const cut = text.indexOf('"C:\\\\UCTO2020"') + '"C:\\\\UCTO2020"'.length;
    const err = thrown(() => parseRelicaState(text.slice(0, cut), 'state.json'));
    expect(err.code).toBe('RELICA_INVALID');
    expect(err.message).toMatch(/^state\.json: read_only\.backups\[4\]\.include: not valid JSON: file ends where/);
    const mid = text.indexOf('"times_of_day"', text.indexOf('homepc/davinci')) + 5;
    expect(thrown(() => parseRelicaState(text.slice(0, mid), 'state.json')).message).toMatch(
      /^state\.json: read_only\.backups\[9\]\.schedule: .*unterminated string/,
    );
    expect(thrown(() => parseRelicaState('', 'state.json')).message).toMatch(/^state\.json: \$: not valid JSON/);
  });

  it('names the JSON path of a syntax error in the middle (trailing comma, bad literal)', () => {
    const text = sampleText().replace('"flexible": false', '"flexible": fals');
    expect(thrown(() => parseRelicaState(text, 'f.json')).message).toMatch(
      /^f\.json: read_only\.backups\[8\]\.schedule\.flexible: not valid JSON: invalid value \(line \d+, column \d+\)$/,
    );
    const comma = sampleText().replace('"/home/user/.jdks"', '"/home/user/.jdks",');
    expect(thrown(() => parseRelicaState(comma, 'f.json')).message).toMatch(
      /^f\.json: read_only\.backups\[1\]\.exclude\[17\]: not valid JSON: value expected before ']' \(a trailing comma\?\)/,
    );
  });

  it('never quotes the file text (which may hold credentials) in a syntax error', () => {
    const text = sampleText().replace('"value": "<REDACTED>"', '"value": "hunter2-secret"');
    const cut = text.indexOf('hunter2-secret') + 20;
    const err = thrown(() => parseRelicaState(text.slice(0, cut), 'f.json'));
    expect(err.message).toContain('read_only.destinations[0].cloud_account.credentials[2]');
    expect(err.message).not.toContain('hunter2');
    expect(String((err as { cause?: unknown }).cause)).toContain('JSON');
  });

  it('names the JSON path of a value of the wrong type or out of range', () => {
    const cases: [(j: ReturnType<typeof sampleJson>) => void, RegExp][] = [
      [
        (j) => {
          j.read_only.backups[3].schedule.times_of_day[0] = 1900;
        },
        /^edited\.json: read_only\.backups\[3\]\.schedule\.times_of_day\[0\]: .*expected string/,
      ],
      [
        (j) => {
          j.read_only.backups[3].schedule.times_of_day[0] = '7pm';
        },
        /^edited\.json: read_only\.backups\[3\]\.schedule\.times_of_day\[0\]: expected a time "HH:MM"/,
      ],
      [
        (j) => {
          j.read_only.backups[5].schedule.days_of_week = [2, 7];
        },
        /^edited\.json: read_only\.backups\[5\]\.schedule\.days_of_week\[1\]: /,
      ],
      [
        (j) => {
          j.read_only.backups[1].hooks[0].timing = 'after';
        },
        /^edited\.json: read_only\.backups\[1\]\.hooks\[0\]\.timing: .*"start"\|"end"/,
      ],
      [
        (j) => {
          j.read_only.backups[2].include = 'C:\\Users';
        },
        /^edited\.json: read_only\.backups\[2\]\.include: .*expected array/,
      ],
      [
        (j) => {
          delete j.read_only.origins;
        },
        /^edited\.json: read_only\.origins: /,
      ],
      [
        (j) => {
          j.read_only.backups[0].id = 'not-a-uuid';
        },
        /^edited\.json: read_only\.backups\[0\]\.id: /,
      ],
      [
        (j) => {
          j.local.last_backups_done['d39816ce-432a-48fb-a760-ff357fd39bde']['cb871492-76dc-4683-8ecd-d9a6c84ae798'] =
            'yesterday';
        },
        /^edited\.json: local\.last_backups_done\["d39816ce-432a-48fb-a760-ff357fd39bde"\]\["cb871492-76dc-4683-8ecd-d9a6c84ae798"\]: expected an RFC 3339 timestamp/,
      ],
    ];
    for (const [edit, re] of cases) {
      const err = thrown(() => loadSample(edit));
      expect(err.code).toBe('RELICA_INVALID');
      expect(err.message).toMatch(re);
    }
  });

  it('lists every problem in fields and counts the rest in the message', () => {
    const err = thrown(() =>
      loadSample((j) => {
        j.read_only.backups[0].name = 5;
        j.read_only.backups[1].schedule.flexible = 'yes';
      }),
    );
    expect(err.fields?.map((f) => f.field)).toEqual([
      'read_only.backups[0].name',
      'read_only.backups[1].schedule.flexible',
    ]);
    expect(err.message).toMatch(/\(and 1 more problem\)$/);
  });

  it('accepts a UTF-8 BOM and reports a missing file by name', async () => {
    expect(parseRelicaState(`\ufeff${sampleText()}`, 'bom.json').state.read_only.backups).toHaveLength(12);
    const dir = mkdtempSync(path.join(tmpdir(), 'relica-'));
    const missing = path.join(dir, 'nope.json');
    await expect(loadRelicaState(missing)).rejects.toMatchObject({
      code: 'RELICA_INVALID',
      message: expect.stringContaining(missing),
    });
    writeFileSync(path.join(dir, 'x.json'), '{"read_only": {"backups": [], "origins": []}}');
    expect((await loadRelicaState(path.join(dir, 'x.json'))).state.read_only.backups).toEqual([]);
  });
});
