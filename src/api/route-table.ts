/**
 * The route table: each entry both registers a fastify route and documents it in the OpenAPI
 * description (src/api/openapi.ts), so the two cannot drift. Inputs (path params, query, body) are
 * zod schemas, validated here; a failure is a 400 INVALID_INPUT naming each field (`query.limit`).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type * as z from 'zod';
import { zodFieldErrors } from './config-schema.js';
import { invalidInput } from './http-errors.js';

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  req: FastifyRequest;
  reply: FastifyReply;
}

export interface ResponseDoc {
  description: string;
  /** Default application/json. */
  contentType?: string;
}

export interface RouteDef {
  method: 'GET' | 'POST';
  /** fastify syntax (`/runs/:id`); OpenAPI gets `/runs/{id}`. */
  url: string;
  summary: string;
  params?: z.ZodType;
  query?: z.ZodType;
  /** Validated by the handler's schema; documented as the request body. */
  body?: z.ZodType;
  responses: Record<number, ResponseDoc>;
  /** Reachable without the API token (UI shell, health, the OpenAPI document). */
  public?: boolean;
  /** Counted by the rate limit of state-changing routes. */
  rateLimited?: boolean;
  /** A stricter limit of its own (login attempts), instead of the shared one. */
  rateLimit?: { max: number; timeWindowSeconds: number };
  /** Returns the JSON body (or whatever reply.send takes); may set reply.code first. */
  handler(input: RouteInput<unknown, unknown, unknown>): Promise<unknown>;
}

/** Typed construction of one route: the handler sees the parsed types of its own schemas. */
export function defineRoute<
  P extends z.ZodType = z.ZodUndefined,
  Q extends z.ZodType = z.ZodUndefined,
  B extends z.ZodType = z.ZodUndefined,
>(def: {
  method: 'GET' | 'POST';
  url: string;
  summary: string;
  params?: P;
  query?: Q;
  body?: B;
  responses: Record<number, ResponseDoc>;
  public?: boolean;
  rateLimited?: boolean;
  rateLimit?: { max: number; timeWindowSeconds: number };
  handler(input: RouteInput<z.output<P>, z.output<Q>, z.output<B>>): Promise<unknown>;
}): RouteDef {
  return def as unknown as RouteDef;
}

function parsePart(schema: z.ZodType | undefined, value: unknown, prefix: string): unknown {
  if (!schema) return value;
  const r = schema.safeParse(value ?? {});
  if (!r.success) throw invalidInput(zodFieldErrors(r.error, prefix));
  return r.data;
}

export interface RegisterOptions {
  /** Options merged into `config.rateLimit` of rate-limited routes (@fastify/rate-limit). */
  rateLimit: { max: number; timeWindow: number };
}

/** Registers every route of the table on `app`. */
export function registerRoutes(app: FastifyInstance, routes: readonly RouteDef[], opts: RegisterOptions): void {
  for (const route of routes) {
    app.route({
      method: route.method,
      url: route.url,
      config: route.rateLimited
        ? {
            rateLimit: route.rateLimit
              ? { max: route.rateLimit.max, timeWindow: route.rateLimit.timeWindowSeconds * 1000 }
              : opts.rateLimit,
            publicRoute: route.public === true,
          }
        : { publicRoute: route.public === true },
      handler: async (req, reply) => {
        const params = parsePart(route.params, req.params, 'path');
        const query = parsePart(route.query, req.query, 'query');
        const body = route.body ? parsePart(route.body, req.body, '') : req.body;
        return route.handler({ params, query, body, req, reply });
      },
    });
  }
}
