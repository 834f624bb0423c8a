import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { startHarness, waitFor, type Harness } from './harness.js';

let h: Harness;

interface Stream {
  res: http.IncomingMessage;
  req: http.ClientRequest;
  text: () => string;
  close: () => void;
}

function openStream(port: number, path = '/events'): Promise<Stream> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const req = http.get(
      { host: '127.0.0.1', port, path, agent: false, headers: { authorization: `Bearer ${h.token}` } },
      (res) => {
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          if (buf.length < 1_000_000) buf += c;
        });
        res.on('error', () => {});
        resolve({ res, req, text: () => buf, close: () => req.destroy() });
      },
    );
    req.on('error', reject);
  });
}

beforeAll(async () => {
  h = await startHarness({ agent: { runMs: 400 }, server: { sse: { maxStreams: 20, heartbeatSeconds: 0.2 } } });
});

afterAll(async () => {
  await h.close();
  for (const b of [...h.bodies, ...h.logs]) expect(b).not.toContain(h.agent.repositoryPassword);
});

describe('GET /events', () => {
  it('C22 sends the anti-buffering headers and a heartbeat', async () => {
    const s = await openStream(h.port);
    expect(s.res.statusCode).toBe(200);
    expect(s.res.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(s.res.headers['cache-control']).toBe('no-cache, no-transform');
    expect(s.res.headers['x-accel-buffering']).toBe('no');
    expect(s.res.headers['content-security-policy']).toMatch(/default-src 'self'/);
    await waitFor(() => s.text().includes(': heartbeat'), 3000);
    s.close();
  });

  it('streams run.started, run.progress and run.finished of a backup', async () => {
    const s = await openStream(h.port);
    const job = h.agent.jobs[0]!;
    expect((await h.request('POST', `/jobs/${job.id}/run`, { body: {} })).status).toBe(202);
    await waitFor(() => s.text().includes('event: run.finished'), 5000);
    const text = s.text();
    expect(text).toContain('event: run.started');
    expect(text).toContain('event: run.progress');
    const finished = /event: run\.finished\ndata: (.*)\n/.exec(text);
    expect(JSON.parse(finished![1]!)).toMatchObject({ jobId: job.id, status: 'success' });
    s.close();
  });

  it('C05 an absurd seconds_remaining (2^63 from restic 0.14) reaches the browser as null', async () => {
    const s = await openStream(h.port);
    await waitFor(() => s.text().includes('event: hello'));
    h.agent.port.events.emit('run.progress', {
      runId: 1,
      operation: 'backup',
      jobId: h.agent.jobs[0]!.id,
      jobName: h.agent.jobs[0]!.name,
      repositoryId: null,
      progress: {
        percentDone: 0.5,
        totalFiles: 10,
        filesDone: 5,
        totalBytes: 100,
        bytesDone: 50,
        secondsElapsed: 3,
        secondsRemaining: 9223372036854775808,
        currentFiles: [],
      },
    });
    await waitFor(() => s.text().includes('event: run.progress'));
    const data = JSON.parse(/event: run\.progress\ndata: (.*)\n/.exec(s.text())![1]!);
    expect(data.progress.secondsRemaining).toBeNull();
    expect(data.progress.filesDone).toBe(5);
    s.close();
  });

  it('C22 twenty connect/disconnect cycles leave no listeners behind', async () => {
    await waitFor(() => h.server.openStreams() === 0);
    const base = h.agent.port.events.listenerCount();
    for (let i = 0; i < 20; i += 1) {
      const s = await openStream(h.port);
      await waitFor(() => s.text().includes('event: hello'));
      expect(h.agent.port.events.listenerCount()).toBeGreaterThan(base);
      s.close();
      await waitFor(() => h.agent.port.events.listenerCount() === base, 3000);
    }
    expect(h.server.openStreams()).toBe(0);
  });

  it('C22 caps open streams: the 21st gets 503, a slot frees when one closes', async () => {
    const streams: Stream[] = [];
    for (let i = 0; i < 20; i += 1) streams.push(await openStream(h.port));
    const over = await h.request('GET', '/events');
    expect(over.status).toBe(503);
    expect(over.json.error.code).toBe('TOO_MANY_STREAMS');
    streams.pop()!.close();
    await waitFor(() => h.server.openStreams() === 19);
    const again = await openStream(h.port);
    expect(again.res.statusCode).toBe(200);
    streams.push(again);
    for (const s of streams) s.close();
    await waitFor(() => h.server.openStreams() === 0);
  });

  it('closing the server ends open streams and removes their listeners', async () => {
    const h2 = await startHarness();
    const base = h2.agent.port.events.listenerCount();
    const s = await openStream(h2.port);
    const ended = new Promise<void>((resolve) => s.res.on('close', () => resolve()));
    await h2.close();
    await ended;
    expect(h2.agent.port.events.listenerCount()).toBe(base);
  });
});
