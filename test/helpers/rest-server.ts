/**
 * A small restic REST server (protocol v2, restic docs "REST Backend") over a local repository
 * folder, for tests that need a network repository that can be made to hang on demand: a request
 * matching `hang` is accepted and never answered (C27). Only what restic 0.14 uses is served.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface RestServer {
  url: string;
  port: number;
  /** Requests matching this are read and never answered (null = answer everything). */
  hang: RegExp | null;
  /** "METHOD /path" of each request, in order (bounded to 10,000). */
  log: string[];
  close(): Promise<void>;
}

function fileOf(root: string, type: string, name: string): string {
  return type === 'data'
    ? path.join(root, 'data', name.slice(0, 2), name)
    : type === 'config'
      ? path.join(root, 'config')
      : path.join(root, type, name);
}

function list(root: string, type: string): { name: string; size: number }[] {
  const dirs =
    type === 'data'
      ? fs.existsSync(path.join(root, 'data'))
        ? fs.readdirSync(path.join(root, 'data')).map((d) => path.join(root, 'data', d))
        : []
      : [path.join(root, type)];
  const out: { name: string; size: number }[] = [];
  for (const d of dirs) {
    if (!fs.existsSync(d)) continue;
    for (const f of fs.readdirSync(d)) out.push({ name: f, size: fs.statSync(path.join(d, f)).size });
  }
  return out;
}

/** Serve `root` (an initialised local restic repository) on 127.0.0.1; `rest:` URL in `url`. */
export async function startRestServer(root: string): Promise<RestServer> {
  const hung: http.ServerResponse[] = [];
  const state: RestServer = { url: '', port: 0, hang: null, log: [], close: async () => undefined };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const line = `${req.method} ${req.url ?? ''}`;
      if (state.log.length < 10_000) state.log.push(line);
      if (state.hang?.test(line)) {
        hung.push(res);
        return;
      }
      const parts = (req.url ?? '/').split('?')[0]!.split('/').filter(Boolean);
      const [type = '', name] = parts;
      try {
        if (req.method === 'GET' && name === undefined && type !== 'config') {
          res.writeHead(200, { 'Content-Type': 'application/vnd.x.restic.rest.v2' });
          res.end(JSON.stringify(list(root, type)));
          return;
        }
        const file = fileOf(root, type, name ?? '');
        if (req.method === 'HEAD' || req.method === 'GET') {
          if (!fs.existsSync(file)) {
            res.writeHead(404);
            res.end();
            return;
          }
          const data = fs.readFileSync(file);
          if (req.method === 'HEAD') {
            res.writeHead(200, { 'Content-Length': data.length });
            res.end();
            return;
          }
          const range = /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? '');
          const body = range ? data.subarray(Number(range[1]), range[2] ? Number(range[2]) + 1 : undefined) : data;
          res.writeHead(range ? 206 : 200, { 'Content-Length': body.length });
          res.end(body);
          return;
        }
        if (req.method === 'POST') {
          fs.mkdirSync(path.dirname(file), { recursive: true });
          fs.writeFileSync(file, Buffer.concat(chunks));
          res.writeHead(200);
          res.end();
          return;
        }
        if (req.method === 'DELETE') {
          fs.rmSync(file, { force: true });
          res.writeHead(200);
          res.end();
          return;
        }
        res.writeHead(405);
        res.end();
      } catch (err) {
        res.writeHead(500);
        res.end(String(err));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as AddressInfo).port;
  state.url = `rest:http://127.0.0.1:${state.port}/`;
  state.close = async () => {
    for (const r of hung) r.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return state;
}
