/**
 * The one error a restic command module throws: an AppError (`RESTIC_FAILED`, or
 * `RESTIC_MISSING` when the binary could not be started) with the failure kind (classify.ts), the
 * exit code and a cleaned, bounded stderr tail. The message is one human sentence and never holds
 * a password (restic never prints it; the environment is not part of the message).
 */
import { AppError } from '../errors.js';
import type { ResticFailureKind } from './classify.js';

export class ResticError extends AppError {
  readonly kind: ResticFailureKind;
  /** restic's exit code, null when it was killed, timed out or never started. */
  readonly exitCode: number | null;
  /** The last lines restic printed on stderr (at most 20, control characters removed). */
  readonly stderrTail: string;

  constructor(
    kind: ResticFailureKind,
    message: string,
    details: { exitCode?: number | null; stderrTail?: string; cause?: unknown } = {},
  ) {
    super(kind === 'restic_missing' ? 'RESTIC_MISSING' : 'RESTIC_FAILED', message, {
      cause: details.cause,
    });
    this.name = 'ResticError';
    this.kind = kind;
    this.exitCode = details.exitCode ?? null;
    this.stderrTail = details.stderrTail ?? '';
  }
}

/** Narrow an unknown thrown value to a ResticError (of `kind` when given). */
export function isResticError(err: unknown, kind?: ResticFailureKind): err is ResticError {
  return err instanceof ResticError && (kind === undefined || err.kind === kind);
}
