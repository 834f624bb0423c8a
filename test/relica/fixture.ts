/** Shared test inputs for the Relica import tests: the real sample state file and edited copies. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRelicaState, type LoadedRelicaState } from '../../src/relica/state-file.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SAMPLE_PATH = path.resolve(repoRoot, 'test/fixtures/relica/relica-state.sample.json');
export const sampleText = (): string => readFileSync(SAMPLE_PATH, 'utf8');

/** A deep copy of the sample's JSON, to edit in a test. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const sampleJson = (): any => JSON.parse(sampleText());

/** The sample (or an edited copy of it) parsed as the importer parses it. */
export function loadSample(edit?: (json: ReturnType<typeof sampleJson>) => void): LoadedRelicaState {
  if (!edit) return parseRelicaState(sampleText(), SAMPLE_PATH);
  const json = sampleJson();
  edit(json);
  return parseRelicaState(JSON.stringify(json, null, 1), 'edited.json');
}

/** Catch the error `fn` throws (fails the test when it does not throw). */
export function thrown(fn: () => unknown): Error & { code?: string; fields?: { field: string }[] } {
  try {
    fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected an error, none was thrown');
}
