/**
 * Last-line defences applied to what the agent hands the API before it goes to a browser:
 * progress numbers outside the safe range dropped (C05: restic 0.14 reports seconds_remaining =
 * 2^63 when it cannot estimate), secrets redacted in the config view, run output bounded.
 */
import type { RunProgress } from '../events.js';
import type { AgentStatus, ConfigView, RunDetail } from './agent-port.js';
import { REDACTED } from './config-schema.js';

/** Longest restic output / error text a run detail returns (characters, the tail is kept). */
export const MAX_OUTPUT_CHARS = 64 * 1024;

function safeCount(n: number | null | undefined): number | null {
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 && n <= Number.MAX_SAFE_INTEGER ? n : null;
}

/**
 * A progress record safe to show: counts and seconds outside 0..MAX_SAFE_INTEGER become null,
 * `percentDone` is clamped to 0..1, at most 10 current files. Pure.
 */
export function sanitizeProgress(p: RunProgress): RunProgress {
  const pct = Number.isFinite(p.percentDone) ? Math.min(1, Math.max(0, p.percentDone)) : 0;
  // An ETA beyond a year is restic's "unknown" (2^63 on 0.14), not a real estimate.
  const eta = safeCount(p.secondsRemaining);
  return {
    percentDone: pct,
    totalFiles: safeCount(p.totalFiles),
    filesDone: safeCount(p.filesDone),
    totalBytes: safeCount(p.totalBytes),
    bytesDone: safeCount(p.bytesDone),
    secondsElapsed: safeCount(p.secondsElapsed),
    secondsRemaining: eta !== null && eta <= 366 * 86_400 ? eta : null,
    currentFiles: Array.isArray(p.currentFiles) ? p.currentFiles.slice(0, 10).map(String) : [],
  };
}

/** The status with every progress record sanitised. */
export function sanitizeStatus(s: AgentStatus): AgentStatus {
  return {
    ...s,
    jobs: s.jobs.map((j) => ({ ...j, progress: j.progress ? sanitizeProgress(j.progress) : null })),
    running: s.running.map((r) => ({ ...r, progress: r.progress ? sanitizeProgress(r.progress) : null })),
  };
}

const SECRET_KEY = /(password|secret|token|passphrase|credential|private_key|access_key)/i;

function redactValue(key: string, value: unknown): unknown {
  if (key === 'env' && value !== null && typeof value === 'object' && !Array.isArray(value)) {
    // Repository environments carry cloud credentials: every value is redacted.
    return Object.fromEntries(Object.keys(value).map((k) => [k, REDACTED]));
  }
  if (SECRET_KEY.test(key) && !/_(file|command)$/.test(key) && typeof value === 'string' && value !== '')
    return REDACTED;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v));
  if (value !== null && typeof value === 'object') return redactDeep(value);
  return value;
}

function redactDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => redactDeep(x));
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).map(([k, val]) => [k, redactValue(k, val)]));
}

/**
 * The config view with secrets replaced by REDACTED: settings and fields whose name says password,
 * secret, token, key (non-empty values only, so "not set" stays visible) and all `env` values.
 * The agent redacts too; this is the API's own guarantee.
 */
export function redactConfig(c: ConfigView): ConfigView {
  return redactDeep(c) as ConfigView;
}

function tail(s: string | null): { text: string | null; truncated: boolean } {
  if (s === null || s.length <= MAX_OUTPUT_CHARS) return { text: s, truncated: false };
  return { text: s.slice(s.length - MAX_OUTPUT_CHARS), truncated: true };
}

/** A run detail with restic output/errors cut to their last MAX_OUTPUT_CHARS characters. */
export function boundRunDetail(d: RunDetail): RunDetail & { outputTruncated: boolean } {
  const out = tail(d.resticOutput);
  const errs = tail(d.resticErrors);
  return {
    ...d,
    resticOutput: out.text,
    resticErrors: errs.text,
    warnings: d.warnings.slice(0, 200),
    unreadablePaths: d.unreadablePaths.slice(0, 1000),
    outputTruncated: out.truncated || errs.truncated,
  };
}
