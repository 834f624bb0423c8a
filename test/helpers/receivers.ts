/**
 * Real notification receivers for tests (issue 19): an HTTP server (webhook, ntfy, healthchecks)
 * that records every request and can be told to fail, and a real SMTP server (npm `smtp-server`,
 * STARTTLS offered with a self-signed certificate from smtp-server's own test key) that records every message.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface HttpReceiver {
  url: string;
  requests: ReceivedRequest[];
  /** Answer this status instead of 200 (null = 200). Failed requests are recorded in `refused`. */
  failWith: number | null;
  refused: ReceivedRequest[];
  /** Hold the answer to requests whose path ends with this suffix for `ms` (a slow receiver), recorded on answer. */
  slow: { suffix: string; ms: number } | null;
  /** Bodies of accepted requests to `path`, parsed as JSON. */
  json(path?: string): Record<string, unknown>[];
  close(): Promise<void>;
}

/** Start an HTTP receiver on a free loopback port. */
export async function startHttpReceiver(): Promise<HttpReceiver> {
  const r: HttpReceiver = {
    url: '',
    requests: [],
    refused: [],
    failWith: null,
    slow: null,
    json: (path) =>
      r.requests
        .filter((q) => path === undefined || q.path === path)
        .map((q) => JSON.parse(q.body) as Record<string, unknown>),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const entry = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      if (r.failWith !== null) {
        r.refused.push(entry);
        res.writeHead(r.failWith).end('down');
        return;
      }
      const answer = () => {
        r.requests.push(entry);
        res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
      };
      if (r.slow && entry.path.endsWith(r.slow.suffix)) setTimeout(answer, r.slow.ms);
      else answer();
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = r.close;
  r.close = () => {
    server.closeAllConnections();
    return close();
  };
  return r;
}

export interface SmtpMessage {
  from: string;
  to: string[];
  raw: string;
  user: string | null;
  /** The message came over TLS (implicit or after STARTTLS). */
  tls: boolean;
  subject: string;
  header(name: string): string | null;
}

export interface SmtpReceiver {
  port: number;
  messages: SmtpMessage[];
  close(): Promise<void>;
}

/**
 * Start a real SMTP server (smtp-server) on a free loopback port; AUTH PLAIN/LOGIN with `user`/`pass`.
 * `tls`: the server's PEM key and certificate; `secure` = implicit TLS from the first byte, else
 * STARTTLS offered with them (and AUTH only after it).
 */
export async function startSmtpReceiver(
  login = { user: 'mailer', pass: 'mail-secret' },
  tls?: { key: string; cert: string; secure: boolean },
): Promise<SmtpReceiver> {
  const messages: SmtpMessage[] = [];
  const server = new SMTPServer({
    secure: tls?.secure ?? false,
    ...(tls ? { key: tls.key, cert: tls.cert } : {}),
    authOptional: false,
    disabledCommands: [],
    allowInsecureAuth: !tls,
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === login.user && auth.password === login.pass) cb(null, { user: auth.username });
      else cb(new Error('Invalid username or password'));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const head = raw.split(/\r?\n\r?\n/)[0] ?? '';
        const header = (name: string) => {
          const m = new RegExp(`^${name}:\\s*(.*(?:\\r?\\n[ \\t].*)*)`, 'im').exec(head);
          return m ? m[1]!.replace(/\r?\n[ \t]/g, ' ').trim() : null;
        };
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((a) => a.address),
          raw,
          user: (session.user as string | undefined) ?? null,
          tls: Boolean(session.secure),
          subject: header('Subject') ?? '',
          header,
        });
        cb();
      });
    },
  });
  // A client that refuses the certificate closes mid-handshake: smtp-server reports it as an
  // 'error' event, which must not become an uncaught exception of the test run.
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return { port, messages, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
