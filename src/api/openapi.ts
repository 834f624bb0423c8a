/**
 * The OpenAPI 3.1 description served at GET /openapi.json, built from the same route table that
 * registers the routes (src/api/route-table.ts), so a route cannot exist undocumented. Routes added
 * outside the table (the `extraRoutes` hook, e.g. GET /metrics) are listed too, with the summary
 * from their `config.summary` when given.
 */
import * as z from 'zod';
import type { RouteDef } from './route-table.js';

export interface ExtraRouteDoc {
  method: string;
  url: string;
  summary: string;
}

/** fastify `/runs/:id` -> OpenAPI `/runs/{id}`. */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const s = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  delete s.$schema;
  return s;
}

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query'): Record<string, unknown>[] {
  if (!schema) return [];
  const s = jsonSchema(schema) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(s.properties ?? {}).map(([name, sch]) => ({
    name,
    in: where,
    required: where === 'path' || (s.required ?? []).includes(name),
    schema: sch,
  }));
}

const ERROR_SCHEMA = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        fields: {
          type: 'array',
          items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } },
        },
      },
    },
  },
};

/** The OpenAPI document (plain JSON) for `routes` plus routes registered outside the table. */
export function buildOpenApi(
  routes: readonly RouteDef[],
  extra: readonly ExtraRouteDoc[],
  version: string,
): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const op: Record<string, unknown> = {
      summary: r.summary,
      parameters: [...parameters(r.params, 'path'), ...parameters(r.query, 'query')],
      responses: Object.fromEntries(
        Object.entries(r.responses).map(([code, doc]) => {
          const type = doc.contentType ?? 'application/json';
          const schema = Number(code) >= 400 ? ERROR_SCHEMA : {};
          return [code, { description: doc.description, content: { [type]: { schema } } }];
        }),
      ),
    };
    if (r.body) op.requestBody = { required: false, content: { 'application/json': { schema: jsonSchema(r.body) } } };
    if (!r.public) op.security = [{ bearer: [] }];
    (paths[openApiPath(r.url)] ??= {})[r.method.toLowerCase()] = op;
  }
  for (const e of extra) {
    (paths[openApiPath(e.url)] ??= {})[e.method.toLowerCase()] = {
      summary: e.summary,
      responses: { 200: { description: 'OK' } },
      security: [{ bearer: [] }],
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'rbackup2 local API',
      version,
      description: 'See doc/api.md. Errors: {error:{code,message,fields?}}.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'client.api_token, when set' } },
    },
    paths,
  };
}
