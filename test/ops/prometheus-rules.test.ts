/**
 * Issue 19 point 6: deploy/prometheus/alerts.yml passes `promtool check rules` and its unit tests
 * (`promtool test rules`, Debian's prometheus package, installed by .ci/run); a rule changed to a
 * wrong threshold makes the unit tests fail (they can fail). The Grafana dashboard is valid JSON
 * whose queries use only the metrics of CONTRACTS §7 and the Pushgateway's own.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const rules = path.join(root, 'deploy/prometheus/alerts.yml');
const tests = path.join(root, 'deploy/prometheus/tests/alerts.test.yml');

it('promtool check rules and test rules pass on deploy/prometheus', () => {
  const check = execFileSync('promtool', ['check', 'rules', rules], { encoding: 'utf8' });
  expect(check).toContain('SUCCESS: 4 rules found');
  const r = spawnSync('promtool', ['test', 'rules', tests], { encoding: 'utf8', cwd: path.dirname(tests) });
  expect(r.stdout + r.stderr).toContain('SUCCESS');
  expect(r.status).toBe(0);
});

it('the unit tests fail when a threshold is wrong', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rb2-promtool-'));
  fs.mkdirSync(path.join(dir, 'tests'));
  fs.writeFileSync(path.join(dir, 'alerts.yml'), fs.readFileSync(rules, 'utf8').replace('> 3 * 86400', '> 5 * 86400'));
  fs.copyFileSync(tests, path.join(dir, 'tests/alerts.test.yml'));
  const r = spawnSync('promtool', ['test', 'rules', 'tests/alerts.test.yml'], { encoding: 'utf8', cwd: dir });
  fs.rmSync(dir, { recursive: true, force: true });
  expect(r.status).not.toBe(0);
  expect(r.stdout + r.stderr).toContain('alertname: DeviceSilent');
});

it('the Grafana dashboard queries only known metrics', () => {
  const dash = JSON.parse(fs.readFileSync(path.join(root, 'deploy/grafana/rbackup2-dashboard.json'), 'utf8')) as {
    panels: { id: number; targets: { expr: string }[] }[];
  };
  const known = new Set([
    'backup_last_success_timestamp',
    'backup_duration_seconds_bucket',
    'backup_files_total',
    'backup_bytes_added',
    'backup_runs_total',
    'push_time_seconds',
    'ALERTS',
  ]);
  expect(new Set(dash.panels.map((p) => p.id)).size).toBe(dash.panels.length);
  for (const p of dash.panels)
    for (const t of p.targets) {
      const names = [...t.expr.matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*\{/g)].map((m) => m[1]!);
      expect(names.length, t.expr).toBeGreaterThan(0);
      for (const n of names) expect(known, `${n} in ${t.expr}`).toContain(n);
    }
});
