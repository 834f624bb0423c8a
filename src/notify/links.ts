/**
 * Links in notifications (issue 19 point 2: "a link to the run") into the local UI, whose router
 * reads `#<page>/<param>` (src/ui/static/app.js): `#runs/<id>` opens the History page with that
 * run's details, `#history/<job id>` the History page of one job. Pure.
 */

/** `<base>/#runs/<run id>`, or null without a UI URL or a run. */
export function runLink(base: string | null, runId: number | null): string | null {
  return base && runId !== null ? `${base.replace(/\/+$/, '')}/#runs/${runId}` : null;
}

/** `<base>/#history/<job id>` (the job's runs), or null without a UI URL. */
export function jobLink(base: string | null, jobId: string): string | null {
  return base ? `${base.replace(/\/+$/, '')}/#history/${encodeURIComponent(jobId)}` : null;
}
