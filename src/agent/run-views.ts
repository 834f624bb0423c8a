/** Mapping `runs` rows to the API's run shapes (AgentPort RunSummary / RunDetail). */
import type { Run } from '../db/index.js';
import type { RunDetail, RunSummary } from '../api/agent-port.js';

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** A run row as the list view shows it; the job name comes from the run's metadata (kept after a job is deleted). */
export function runSummary(r: Run): RunSummary {
  return {
    id: r.id,
    operation: r.operation,
    jobId: r.jobId,
    repositoryId: r.repositoryId,
    jobName: typeof r.metadata.job_name === 'string' ? r.metadata.job_name : null,
    status: r.status,
    triggeredBy: r.triggeredBy,
    startTime: r.startTime,
    endTime: r.endTime,
    durationSeconds: r.durationSeconds,
    snapshotId: r.snapshotId,
    dataAddedBytes: r.dataAddedBytes,
    totalFilesProcessed: r.totalFilesProcessed,
    totalBytesProcessed: r.totalBytesProcessed,
    filesNew: r.filesNew,
    filesChanged: r.filesChanged,
    filesUnmodified: r.filesUnmodified,
    errorMessage: r.errorMessage,
    exitCode: r.exitCode,
  };
}

/** A run row with its bounded output, error items, warnings and unreadable paths. */
export function runDetail(r: Run): RunDetail {
  return {
    ...runSummary(r),
    errorKind: typeof r.metadata.error_kind === 'string' ? r.metadata.error_kind : null,
    resticOutput: r.resticOutput,
    resticErrors: r.resticErrors,
    warnings: strings(r.metadata.warnings),
    unreadablePaths: strings(r.metadata.unreadable_paths),
  };
}
