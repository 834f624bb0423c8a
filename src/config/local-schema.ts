/**
 * The schema of the local bootstrap config (CONTRACTS §2), one zod schema for the file and the
 * `RBACKUP2_<SECTION>_<KEY>` environment overrides. Strict objects: an unknown key is an error that
 * names it (a typo must never be silently ignored).
 */
import * as z from 'zod';

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

const port = z.number().int().min(1).max(65_535);

export const deviceSchema = z.strictObject({
  id: z.string().trim().min(1, 'must not be empty').max(255),
  name: z.string().trim().min(1).max(255).optional(),
});

export const databaseSchema = z.strictObject({
  url: z.string().min(1).optional(),
  host: z.string().min(1).optional(),
  port: port.optional(),
  user: z.string().min(1).optional(),
  password: z.string().optional(),
  dbname: z.string().min(1).optional(),
  ssl_mode: z.enum(SSL_MODES).default('require'),
  /**
   * NOTIFY for config changes: `auto` subscribes and proves delivery, falling back to polling
   * (a pooler in transaction mode drops NOTIFY); `true` always subscribes; `false` only polls.
   * The strings "true"/"false" (environment override) count as the booleans.
   */
  listen: z
    .preprocess(
      (v) => (v === 'true' ? true : v === 'false' ? false : v),
      z.union([z.literal('auto'), z.boolean()], { error: 'must be auto, true or false' }),
    )
    .default('auto'),
});

export const clientSchema = z.strictObject({
  http_bind: z
    .string()
    .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be HOST:PORT')
    .default('127.0.0.1:1201'),
  log_file: z.string().min(1).default('./data/rbackup2.log'),
  log_level: z.enum(LOG_LEVELS).default('info'),
  /** Rotate the log file when it reaches this many bytes; keep `log_keep_files` old files. */
  log_max_bytes: z
    .number()
    .int()
    .min(65_536)
    .default(10 * 1024 * 1024),
  log_keep_files: z.number().int().min(1).max(100).default(5),
  data_dir: z.string().min(1).default('./data'),
  restic_binary: z.string().min(1).default('restic'),
  /** Bearer token for the local API; required when http_bind is not a loopback address. */
  api_token: z.string().min(16, 'must be at least 16 characters').optional(),
  shutdown_timeout_seconds: z.number().int().min(0).max(86_400).default(300),
});

export const metricsSchema = z.strictObject({
  enabled: z.boolean().default(false),
  prometheus_pushgateway: z.string().url().default('http://127.0.0.1:9091'),
  push_interval_seconds: z.number().int().min(5).max(86_400).default(60),
  push_timeout_seconds: z.number().int().min(1).max(60).default(5),
  /** Serve GET /metrics without login (for a Prometheus scraper); default false: behind the login. */
  public: z.boolean().default(false),
});

export const localConfigSchema = z.strictObject({
  device: deviceSchema,
  database: databaseSchema.optional(),
  client: clientSchema.default(clientSchema.parse({})),
  metrics: metricsSchema.default(metricsSchema.parse({})),
});

/** The YAML as parsed and defaulted (paths still as written). */
export type LocalConfigInput = z.infer<typeof localConfigSchema>;
export type DatabaseSection = z.infer<typeof databaseSchema>;
