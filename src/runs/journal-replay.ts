/**
 * The run journal's replay loop: journalled runs (src/runs/journal-run-store.ts) are written to
 * the database every 30 s, so an outage loses nothing (C17); a no-op when none wait.
 */
import { every, type Clock, type Repeating } from '../clock.js';
import type { JournalRunStore } from './journal-run-store.js';

/** Seconds between two replays of the journal. */
export const JOURNAL_REPLAY_SECONDS = 30;

/** Replay every JOURNAL_REPLAY_SECONDS; `onReplayed` gets the entries still waiting (the metrics gauge). */
export function startJournalReplay(
  store: JournalRunStore,
  clock: Clock,
  onReplayed: (pending: number) => void,
): Repeating {
  return every(clock, JOURNAL_REPLAY_SECONDS * 1000, () => store.replay().finally(() => onReplayed(store.pending)));
}
