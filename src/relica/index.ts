/**
 * The Relica import's public API, as `rbackup2 import-relica FILE --device NAME_OR_ID [--dry-run]`
 * uses it (CONTRACTS §6; user guide doc/relica-migration.md):
 *
 *   const loaded = await loadRelicaState(file);                  // RELICA_INVALID names file + JSON path
 *   const plan = planImport(loaded, device, { repositoryUrl, password });  // pure; NOT_FOUND lists origins
 *   process.stdout.write(formatPlan(plan));                      // the dry run stops here
 *   const result = await applyImportPlan(db, plan);              // one idempotent transaction
 */
export { loadRelicaState, parseRelicaState, type LoadedRelicaState } from './state-file.js';
export { planImport, KNOWN_CACHE_VERSION, type PlanOptions } from './plan.js';
export type {
  ImportPlan,
  PasswordSource,
  PlannedHook,
  PlannedJob,
  PlannedRepository,
  PlannedSchedule,
} from './plan-types.js';
export { formatPlan } from './dry-run-table.js';
export { applyImportPlan, type ApplyCounts, type ApplyResult } from './apply.js';
export { relicaScheduleToCron, type CronFromRelica, type ScheduleConversion } from './schedule.js';
