/**
 * Pushgateway addresses. The grouping key is the URL path `/metrics/job/<job>/<label>/<value>...`
 * (Pushgateway README, "URL"): a value containing `/` (or an empty one) must be sent as
 * `<label>@base64/<RFC 4648 URL-safe base64>` (empty -> `=`); other values are URI-encoded.
 * Credentials in the configured URL (`http://user:pass@host:9091`) become a Basic Authorization
 * header, because fetch refuses URLs with credentials and they must never reach a log line.
 */
import { AppError } from '../errors.js';

/** The job label of every group the agent pushes (grouping is job + device: stable ids, C23). */
export const PUSH_JOB = 'rbackup2';

/** One grouping-key path segment pair, encoded as the Pushgateway README says. */
export function groupingSegment(label: string, value: string): string {
  if (value === '') return `${label}@base64/=`;
  if (value.includes('/')) return `${label}@base64/${Buffer.from(value, 'utf8').toString('base64url')}`;
  return `${label}/${encodeURIComponent(value)}`;
}

/** Where a device's group lives, ready for fetch. */
export interface GroupTarget {
  /** Full URL of the group, without credentials. */
  url: string;
  /** Extra request headers (Basic auth when the configured URL carried credentials). */
  headers: Record<string, string>;
  /** The URL for log lines: no credentials, no query. */
  display: string;
}

/**
 * Build the group URL `<base>/metrics/job/rbackup2/device/<deviceId>` from the configured
 * Pushgateway URL (a path prefix such as `--web.route-prefix` is kept). Throws AppError
 * CONFIG_INVALID for a URL that is not http(s) (the message names `metrics.prometheus_pushgateway`
 * and never includes a password).
 */
export function deviceGroupTarget(baseUrl: string, deviceId: string): GroupTarget {
  let u: URL;
  try {
    u = new URL(baseUrl);
  } catch {
    throw new AppError('CONFIG_INVALID', 'metrics.prometheus_pushgateway: not a valid URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new AppError(
      'CONFIG_INVALID',
      `metrics.prometheus_pushgateway: expected http:// or https://, got ${u.protocol}`,
    );
  }
  const headers: Record<string, string> = {};
  if (u.username || u.password) {
    const user = decodeURIComponent(u.username);
    const pass = decodeURIComponent(u.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`, 'utf8').toString('base64')}`;
    u.username = '';
    u.password = '';
  }
  const prefix = u.pathname.replace(/\/+$/, '');
  u.pathname = `${prefix}/metrics/${groupingSegment('job', PUSH_JOB)}/${groupingSegment('device', deviceId)}`;
  const display = `${u.origin}${u.pathname}`;
  return { url: u.toString(), headers, display };
}
