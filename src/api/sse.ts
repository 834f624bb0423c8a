/**
 * GET /events: server-sent events of the agent's EventBus (run started/progress/finished, config
 * reloaded) for the web UI (C22). Each stream removes its EventBus listeners and heartbeat timer
 * when the browser goes away; the number of open streams is capped (the next gets 503); a client
 * that stops reading is dropped once its unsent buffer passes a bound; all streams are ended when
 * the server closes.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { every, systemClock } from '../clock.js';
import type { AgentEventName, EventBus } from '../events.js';
import { ApiError } from './http-errors.js';
import { sanitizeProgress } from './sanitize.js';

export interface SseOptions {
  /** Open streams allowed at once (default 20). */
  maxStreams: number;
  /** Seconds between `: heartbeat` comments (default 15; keeps proxies from timing out). */
  heartbeatSeconds: number;
  /** Unsent bytes after which a stalled client is dropped (default 1 MiB). */
  maxBufferedBytes: number;
}

export const DEFAULT_SSE: SseOptions = Object.freeze({
  maxStreams: 20,
  heartbeatSeconds: 15,
  maxBufferedBytes: 1024 * 1024,
});

const EVENTS: readonly AgentEventName[] = ['run.started', 'run.progress', 'run.finished', 'config.reloaded'];

export interface SseHub {
  /** The /events handler: hijacks the reply and keeps the stream open. */
  handle(req: FastifyRequest, reply: FastifyReply): void;
  /** Streams open now. */
  openCount(): number;
  /** Ends every stream (server shutdown). */
  closeAll(): void;
}

/** One hub per server instance (no module state). `extraHeaders` are the security headers. */
export function createSseHub(bus: EventBus, opts: SseOptions, extraHeaders: Readonly<Record<string, string>>): SseHub {
  const closers = new Set<() => void>();

  function handle(req: FastifyRequest, reply: FastifyReply): void {
    if (closers.size >= opts.maxStreams) {
      throw new ApiError(
        'TOO_MANY_STREAMS',
        `too many open event streams (limit ${opts.maxStreams}); close another tab`,
      );
    }
    const res = reply.raw;
    reply.hijack();
    res.writeHead(200, {
      ...extraHeaders,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    const unsubscribe: (() => void)[] = [];
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      void heartbeat.stop();
      for (const off of unsubscribe) off();
      closers.delete(close);
      if (!res.writableEnded) res.end();
      req.log.debug({ open: closers.size }, 'event stream closed');
    };
    const write = (chunk: string): void => {
      if (closed) return;
      if (res.writableLength > opts.maxBufferedBytes) {
        req.log.warn({ buffered: res.writableLength }, 'event stream client is not reading; dropping it');
        close();
        res.destroy();
        return;
      }
      res.write(chunk);
    };
    const heartbeat = every(systemClock, opts.heartbeatSeconds * 1000, () => write(': heartbeat\n\n'), { unref: true });
    closers.add(close);
    for (const name of EVENTS) {
      unsubscribe.push(
        bus.on(name, (payload) => {
          const data = 'progress' in payload ? { ...payload, progress: sanitizeProgress(payload.progress) } : payload;
          write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
        }),
      );
    }
    res.on('close', close);
    res.on('error', close);
    req.log.debug({ open: closers.size }, 'event stream opened');
    write(`retry: 5000\nevent: hello\ndata: ${JSON.stringify({ events: EVENTS })}\n\n`);
  }

  return {
    handle,
    openCount: () => closers.size,
    closeAll: () => {
      for (const close of [...closers]) close();
    },
  };
}
