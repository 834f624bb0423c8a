/* eslint-disable @typescript-eslint/no-explicit-any -- the JSON answers are read loosely in this test */
/**
 * Issue 17 through the HTTP API of the REAL agent (src/app.ts startAgent) on PostgreSQL and on
 * PGlite, with real restic 0.14 on a temp repository: the job's snapshots (a Relica-era one made
 * by plain restic with the backup:<uuid> tag on another host included; run statistics; cached and
 * refreshed after a run), one folder level, restores (default target, one deleted file put back
 * into the full source folder, no overwrite without `overwrite`, targets refused, another job's
 * snapshot 404), downloads byte-identical (names with spaces, non-ASCII, not valid UTF-8 inside a
 * folder archive), cancel of a restore and of a download leaves no lock; every route needs a login.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../src/app.js';
import { parseLocalConfig } from '../../src/config/local-config.js';
import { addJob, addRepository, getRun, migrate, openDatabase, upsertDevice } from '../../src/db/index.js';
import { authHeader } from '../helpers/agent-auth.js';
import { createTempPgDatabase } from '../helpers/databases.js';

const PASSWORD = 'restore test pw';
const DEVICE = 'restore-pc';
const BAD_FF = Buffer.from('bad\xff.txt', 'latin1');

for (const kind of ['postgres', 'pglite'] as const) {
  describe(`restore API on the real agent [${kind}]`, () => {
    let tmp = '';
    let repoDir = '';
    let src = '';
    let other = '';
    let agent: Agent;
    let base = '';
    let headers: Record<string, string> = {};
    let drop: (() => Promise<void>) | null = null;
    let jobId = '';
    let otherJob = '';
    let relicaSnap = '';
    let dataDir = '';

    const restic = (args: string[]) =>
      execFileSync('restic', args, {
        env: {
          PATH: process.env.PATH ?? '',
          RESTIC_REPOSITORY: repoDir,
          RESTIC_PASSWORD: PASSWORD,
          RESTIC_CACHE_DIR: path.join(tmp, 'c'),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      }).toString();
    const api = async (p: string, init: RequestInit = {}) => {
      const res = await fetch(base + p, {
        ...init,
        headers: { ...headers, ...(init.body ? { 'content-type': 'application/json' } : {}) },
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : null };
    };
    const waitRun = async (runId: number) => {
      for (let i = 0; i < 600; i++) {
        const r = await getRun(agent.db, runId);
        if (r && r.status !== 'running') return r;
        await new Promise((res) => setTimeout(res, 100));
      }
      throw new Error(`run ${runId} did not finish`);
    };
    const backupNow = async (id: string) => {
      const before = (await api(`/runs?job_id=${id}&limit=1`)).body?.runs[0]?.id ?? 0;
      expect((await api(`/jobs/${id}/run`, { method: 'POST', body: '{}' })).status).toBe(202);
      for (let i = 0; i < 600; i++) {
        const r = (await api(`/runs?job_id=${id}&limit=1`)).body?.runs[0];
        if (r && r.id !== before && r.status !== 'running') return r;
        await new Promise((res) => setTimeout(res, 100));
      }
      throw new Error('backup did not finish');
    };
    const locks = () => restic(['list', 'locks', '--no-lock']).trim();

    beforeAll(async () => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rb2-restore-api-'));
      repoDir = path.join(tmp, 'repo');
      restic(['init']);
      src = path.join(tmp, 'Fotomateriály');
      fs.mkdirSync(path.join(src, 'Rok 2024', 'léto'), { recursive: true });
      fs.writeFileSync(path.join(src, 'Rok 2024', 'with space.txt'), 'space\n');
      fs.writeFileSync(path.join(src, 'Rok 2024', 'léto', 'moře.jpg'), randomBytes(300_000));
      fs.writeFileSync(path.join(src, 'Rok 2024', 'léto', 'písek.jpg'), randomBytes(200_000));
      fs.writeFileSync(Buffer.concat([Buffer.from(path.join(src, 'Rok 2024') + '/'), BAD_FF]), 'ff bytes');
      fs.writeFileSync(path.join(src, 'big.bin'), randomBytes(1024 * 1024));
      other = path.join(tmp, 'other');
      fs.mkdirSync(other);
      fs.writeFileSync(path.join(other, 'o.txt'), 'other job');
      dataDir = path.join(tmp, 'data');
      let dbSection = '';
      if (kind === 'postgres') {
        const pgdb = await createTempPgDatabase();
        drop = pgdb.drop;
        dbSection = `database:\n  url: "${pgdb.url}"\n`;
      }
      const yaml = `device:\n  id: ${DEVICE}\n${dbSection}client:\n  http_bind: "127.0.0.1:0"\n  data_dir: "${dataDir}"\n  log_file: "${path.join(dataDir, 'agent.log')}"\n  shutdown_timeout_seconds: 5\n`;
      const local = parseLocalConfig(yaml, path.join(tmp, 'config.yaml'), {});
      const seed = await openDatabase({ database: local.database, dataDir: local.dataDir });
      try {
        await migrate(seed);
        await upsertDevice(seed, { id: DEVICE, name: 'Restore PC' });
        const repo = await addRepository(seed, { name: 'r', url: repoDir, password: PASSWORD });
        jobId = (await addJob(seed, { deviceId: DEVICE, name: 'Fotky', sourcePaths: [src], repositoryId: repo.id })).id;
        otherJob = (
          await addJob(seed, { deviceId: DEVICE, name: 'Other', sourcePaths: [other], repositoryId: repo.id })
        ).id;
      } finally {
        await seed.close();
      }
      // A Relica-era snapshot: plain restic, another host, only the backup:<uuid> tag.
      restic(['backup', '--quiet', '--host', 'old-relica-pc', '--tag', `backup:${jobId}`, src]);
      relicaSnap = (JSON.parse(restic(['snapshots', '--json'])) as { id: string }[])[0]?.id ?? '';
      agent = await startAgent({ local, logger: pino({ level: 'warn' }) });
      base = agent.url as string;
      headers = authHeader(dataDir);
    }, 120_000);

    afterAll(async () => {
      await agent?.stop('test end');
      await drop?.();
      fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 5 });
    });

    it('every restore route needs a login', async () => {
      for (const p of [
        `/jobs/${jobId}/snapshots`,
        `/jobs/${jobId}/snapshots/abcdef12/ls`,
        `/jobs/${jobId}/snapshots/abcdef12/download?path=/x`,
      ])
        expect((await fetch(base + p)).status).toBe(401);
      const r = await fetch(base + '/restores', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      expect(r.status).toBe(401);
    });

    it('reminds the owner of an embedded agent to save the recovery kit until confirmed', async () => {
      const r = await api('/recovery-kit/reminder');
      expect(r.body).toEqual({ remind: kind === 'pglite', confirmed_at: null });
      const c = await api('/recovery-kit/reminder', { method: 'POST', body: JSON.stringify({ saved: true }) });
      expect(c.body?.remind).toBe(false);
      expect((await api('/recovery-kit/reminder')).body?.confirmed_at).toMatch(/^\d{4}-/);
    });

    it('lists every snapshot of the job (Relica-era one included), newest first, with run statistics; cached, refreshed after a run', async () => {
      const first = await api(`/jobs/${jobId}/snapshots`);
      expect(first.status).toBe(200);
      expect(first.body?.snapshots.map((s: any) => s.id)).toEqual([relicaSnap]);
      expect(first.body?.snapshots[0]).toMatchObject({
        hostname: 'old-relica-pc',
        short_id: relicaSnap.slice(0, 8),
        paths: [src],
        stats: null,
      });
      expect(Object.keys(first.body?.snapshots[0])).toEqual(
        expect.arrayContaining(['id', 'short_id', 'time', 'hostname', 'paths', 'tags']),
      );
      const again = await api(`/jobs/${jobId}/snapshots`);
      expect(again.body?.read_at).toBe(first.body?.read_at); // served from the cache, restic not asked
      const run = await backupNow(jobId);
      expect(run.status).toBe('success');
      let list = (await api(`/jobs/${jobId}/snapshots`)).body;
      for (let i = 0; i < 100 && list?.snapshots.length < 2; i++) {
        await new Promise((res) => setTimeout(res, 100));
        list = (await api(`/jobs/${jobId}/snapshots`)).body;
      }
      expect(list?.read_at).not.toBe(first.body?.read_at);
      expect(list?.snapshots).toHaveLength(2);
      expect(list?.snapshots[1].id).toBe(relicaSnap); // newest first
      expect(list?.snapshots[0].id.startsWith(run.snapshotId)).toBe(true);
      expect(list?.snapshots[0].stats).toMatchObject({ run_id: run.id, total_files_processed: 5 });
      expect(list?.snapshots[0].stats.total_bytes_processed).toBeGreaterThan(1_000_000);
      expect(typeof list?.snapshots[0].stats.data_added_bytes).toBe('number');
      expect((await api('/jobs/00000000-0000-4000-8000-000000000000/snapshots')).status).toBe(404);
    }, 120_000);

    it('browses one folder level with types, sizes, mtimes; a non-UTF-8 name flagged; 404s for unknown paths, snapshots and another job', async () => {
      const snap = (await api(`/jobs/${jobId}/snapshots`)).body?.snapshots[0];
      const rootLs = await api(`/jobs/${jobId}/snapshots/${snap.short_id}/ls`);
      expect(rootLs.status).toBe(200);
      expect(rootLs.body?.path).toBe(src);
      expect(rootLs.body?.entries.map((e: any) => [e.name, e.type])).toEqual([
        ['Rok 2024', 'dir'],
        ['big.bin', 'file'],
      ]);
      const y = await api(
        `/jobs/${jobId}/snapshots/${snap.id}/ls?path=${encodeURIComponent(path.join(src, 'Rok 2024'))}`,
      );
      expect(y.body?.entries.map((e: any) => e.name)).toEqual(['léto', 'bad\uFFFD.txt', 'with space.txt']);
      expect(y.body?.entries.find((e: any) => e.name === 'with space.txt')).toMatchObject({
        size: 6,
        exact_name: true,
      });
      expect(y.body?.entries.find((e: any) => e.name.startsWith('bad'))?.exact_name).toBe(false);
      expect(y.body?.breadcrumbs.at(-1)).toEqual({ name: 'Rok 2024', path: path.join(src, 'Rok 2024') });
      expect(y.body?.original_target).toBe('/');
      expect(
        (await api(`/jobs/${jobId}/snapshots/${snap.id}/ls?path=${encodeURIComponent(src + '/nope')}`)).status,
      ).toBe(404);
      expect((await api(`/jobs/${jobId}/snapshots/deadbeef/ls`)).status).toBe(404);
      // another job's snapshot is not this job's
      const o = await backupNow(otherJob);
      expect((await api(`/jobs/${jobId}/snapshots/${o.snapshotId}/ls`)).status).toBe(404);
      expect((await api(`/jobs/${otherJob}/snapshots/${o.snapshotId}/ls`)).status).toBe(200);
    }, 120_000);

    it('restores a file to the default target byte-identical, recorded as a run with operation restore', async () => {
      const snap = (await api(`/jobs/${jobId}/snapshots`)).body?.snapshots[0];
      const file = path.join(src, 'Rok 2024', 'léto', 'moře.jpg');
      const r = await api('/restores', {
        method: 'POST',
        body: JSON.stringify({ job_id: jobId, snapshot_id: snap.id, paths: [file] }),
      });
      expect(r.status).toBe(202);
      expect(r.body?.target.startsWith(path.join(dataDir, 'restores', 'Fotky-'))).toBe(true);
      expect(path.basename(r.body?.target)).not.toMatch(/[:\\/]/);
      const run = await waitRun(r.body?.run_id);
      expect(run).toMatchObject({ status: 'success', operation: 'restore', jobId, snapshotId: snap.id });
      expect(run.metadata).toMatchObject({ target: r.body?.target, paths: [file], files: 1, total_bytes: 300_000 });
      expect(fs.readFileSync(path.join(r.body?.target, file))).toEqual(fs.readFileSync(file));
      // the same again: the file exists in the target now -> 400 naming it, nothing written
      const again = await api('/restores', {
        method: 'POST',
        body: JSON.stringify({ job_id: jobId, snapshot_id: snap.id, paths: [file] }),
      });
      expect(again.status).toBe(400);
      expect(again.body?.error.message).toContain(path.join(r.body?.target, file));
    }, 120_000);

    it('puts one deleted file back into the full source folder; never overwrites without overwrite', async () => {
      const snap = (await api(`/jobs/${jobId}/snapshots`)).body?.snapshots[0];
      const gone = path.join(src, 'Rok 2024', 'léto', 'písek.jpg');
      const kept = path.join(src, 'Rok 2024', 'léto', 'moře.jpg');
      const original = fs.readFileSync(gone);
      fs.rmSync(gone);
      fs.writeFileSync(kept, 'changed since the backup');
      const folder = path.join(src, 'Rok 2024', 'léto');
      // the whole folder would overwrite moře.jpg: refused, naming it, nothing written
      const refused = await api('/restores', {
        method: 'POST',
        body: JSON.stringify({ job_id: jobId, snapshot_id: snap.id, paths: [folder], target: '/' }),
      });
      expect(refused.status).toBe(400);
      expect(refused.body?.error.message).toContain(kept);
      expect(fs.existsSync(gone)).toBe(false);
      // only the deleted file: works
      const ok = await api('/restores', {
        method: 'POST',
        body: JSON.stringify({ job_id: jobId, snapshot_id: snap.id, paths: [gone], target: '/' }),
      });
      expect(ok.status).toBe(202);
      expect((await waitRun(ok.body?.run_id)).status).toBe('success');
      expect(fs.readFileSync(gone)).toEqual(original);
      expect(fs.readFileSync(kept, 'utf8')).toBe('changed since the backup');
      // with overwrite the folder comes back as it was
      const ow = await api('/restores', {
        method: 'POST',
        body: JSON.stringify({ job_id: jobId, snapshot_id: snap.id, paths: [folder], target: '/', overwrite: true }),
      });
      expect(ow.status).toBe(202);
      expect((await waitRun(ow.body?.run_id)).status).toBe('success');
      expect(fs.readFileSync(kept, 'utf8')).not.toBe('changed since the backup');
    }, 120_000);

    it('refuses targets that are not absolute or not allowed (400 naming them), paths not in the snapshot (404)', async () => {
      const snap = (await api(`/jobs/${jobId}/snapshots`)).body?.snapshots[0];
      const file = path.join(src, 'big.bin');
      const rel = await api('/restores', {
        method: 'POST',
        body: JSON.stringify({ job_id: jobId, snapshot_id: snap.id, paths: [file], target: 'restored' }),
      });
      expect(rel.status).toBe(400);
      expect(rel.body?.error.message).toContain('"restored"');
      const etc = await api('/restores', {
        method: 'POST',
        body: JSON.stringify({
          job_id: jobId,
          snapshot_id: snap.id,
          paths: [file],
          target: path.join(tmp, 'elsewhere'),
        }),
      });
      expect(etc.status).toBe(400);
      expect(etc.body?.error.message).toContain(path.join(tmp, 'elsewhere'));
      expect(fs.existsSync(path.join(tmp, 'elsewhere'))).toBe(false);
      const missing = await api('/restores', {
        method: 'POST',
        body: JSON.stringify({ job_id: jobId, snapshot_id: snap.id, paths: [src + '/nope'] }),
      });
      expect(missing.status).toBe(404);
      const bad = await api('/restores', {
        method: 'POST',
        body: JSON.stringify({
          job_id: jobId,
          snapshot_id: snap.id,
          paths: [path.join(src, 'Rok 2024', 'bad\uFFFD.txt')],
        }),
      });
      expect(bad.status).toBe(400);
      expect(bad.body?.error.message).toMatch(/not valid UTF-8/);
    }, 60_000);

    it('restores from the Relica-era snapshot (another host) into a new folder, non-UTF-8 names exactly', async () => {
      const r = await api('/restores', {
        method: 'POST',
        body: JSON.stringify({
          job_id: jobId,
          snapshot_id: relicaSnap.slice(0, 8),
          paths: [path.join(src, 'Rok 2024')],
        }),
      });
      expect(r.status).toBe(202);
      expect((await waitRun(r.body?.run_id)).status).toBe('success');
      const dir = Buffer.from(path.join(r.body?.target, src, 'Rok 2024') + '/');
      expect(fs.readFileSync(Buffer.concat([dir, BAD_FF]), 'utf8')).toBe('ff bytes');
      expect(fs.readFileSync(path.join(r.body?.target, src, 'Rok 2024', 'with space.txt'), 'utf8')).toBe('space\n');
    }, 60_000);

    it('downloads a file as itself and a folder as tar and zip with every file', async () => {
      const snap = (await api(`/jobs/${jobId}/snapshots`)).body?.snapshots[0];
      const file = path.join(src, 'big.bin');
      const res = await fetch(`${base}/jobs/${jobId}/snapshots/${snap.id}/download?path=${encodeURIComponent(file)}`, {
        headers,
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-disposition')).toBe(`attachment; filename="big.bin"; filename*=UTF-8''big.bin`);
      expect(Buffer.from(await res.arrayBuffer())).toEqual(fs.readFileSync(file));
      const folder = path.join(src, 'Rok 2024');
      const tar = await fetch(
        `${base}/jobs/${jobId}/snapshots/${snap.id}/download?archive=tar&path=${encodeURIComponent(folder)}`,
        { headers },
      );
      expect(tar.headers.get('content-disposition')).toContain(`filename*=UTF-8''Rok%202024.tar`);
      const tarFile = path.join(tmp, 'dl.tar');
      fs.writeFileSync(tarFile, Buffer.from(await tar.arrayBuffer()));
      const list = execFileSync('tar', ['--quoting-style=literal', '-tf', tarFile]).toString('latin1');
      const rel = folder.slice(1);
      for (const n of [
        Buffer.concat([Buffer.from(`${rel}/`), BAD_FF]),
        Buffer.from(`${rel}/with space.txt`),
        Buffer.from(`${rel}/léto/moře.jpg`),
      ])
        expect(list).toContain(n.toString('latin1'));
      const zip = await fetch(
        `${base}/jobs/${jobId}/snapshots/${snap.id}/download?path=${encodeURIComponent(folder)}`,
        { headers },
      );
      expect(zip.headers.get('content-type')).toBe('application/zip');
      const zipFile = path.join(tmp, 'dl.zip');
      fs.writeFileSync(zipFile, Buffer.from(await zip.arrayBuffer()));
      const zl = execFileSync('python3', [
        '-c',
        'import sys,zipfile;print(len([i for i in zipfile.ZipFile(sys.argv[1]).infolist() if not i.is_dir()]))',
        zipFile,
      ])
        .toString()
        .trim();
      expect(Number(zl)).toBe(4);
      expect(
        (
          await fetch(`${base}/jobs/${jobId}/snapshots/${snap.id}/download?path=${encodeURIComponent(src + '/nope')}`, {
            headers,
          })
        ).status,
      ).toBe(404);
    }, 60_000);

    it('a download the browser abandons ends restic and leaves no lock', async () => {
      const snap = (await api(`/jobs/${jobId}/snapshots`)).body?.snapshots[0];
      const big = path.join(src, 'huge.bin');
      fs.writeFileSync(big, randomBytes(48 * 1024 * 1024));
      await backupNow(jobId);
      const s2 = (await api(`/jobs/${jobId}/snapshots?refresh=1`)).body?.snapshots[0];
      expect(s2.id).not.toBe(snap.id);
      await new Promise<void>((resolve, reject) => {
        const req = http.get(
          `${base}/jobs/${jobId}/snapshots/${s2.id}/download?path=${encodeURIComponent(big)}`,
          { headers },
          (res) => {
            res.once('data', () => {
              req.destroy();
              resolve();
            });
          },
        );
        req.on('error', (e) => (String(e).includes('socket hang up') ? resolve() : reject(e)));
      });
      for (let i = 0; i < 100 && locks() !== ''; i++) await new Promise((res) => setTimeout(res, 100));
      expect(locks()).toBe('');
      fs.rmSync(big);
    }, 120_000);

    it('a cancelled restore ends restic, is recorded cancelled and leaves no lock', async () => {
      const snap = (await api(`/jobs/${jobId}/snapshots`)).body?.snapshots[0];
      const big = path.join(src, 'huge.bin');
      const r = await api('/restores', {
        method: 'POST',
        body: JSON.stringify({ job_id: jobId, snapshot_id: snap.id, paths: [big] }),
      });
      expect(r.status).toBe(202);
      expect((await api(`/runs/${r.body?.run_id}/cancel`, { method: 'POST', body: '{}' })).status).toBe(202);
      const run = await waitRun(r.body?.run_id);
      expect(run.status).toBe('cancelled');
      expect(locks()).toBe('');
    }, 60_000);
  });
}
