/**
 * Sweeps of many cells, for the no-op simulator (sim/noop-device.ts): an experiment with exactly N cells in one
 * engine group, the runs a sweep continued through (continue-as-new) with their history sizes, and the warnings the
 * Temporal server logs about history and payload sizes. Shared by test/sweep-scale.test.ts and
 * `npm run bench:orchestration`.
 */
import { readFileSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import type { ExperimentInput } from '../../schema/experiment.js';
import { experimentInput } from './experiment.js';

/** Most repeats an experiment allows (schema/experiment.ts). */
const MAX_REPEATS = 100;

/**
 * An experiment of exactly `cells` tiny cells on one model, power mode and clocks setting (one engine group, so one
 * engine start and warm-up): scenarios × repeats, as many repeats as divide `cells`.
 */
export function cellsExperiment(name: string, cells: number): ExperimentInput {
  if (!Number.isInteger(cells) || cells < 1) throw new Error(`cells must be a positive integer (got ${cells})`);
  let repeats = Math.min(MAX_REPEATS, cells);
  while (cells % repeats !== 0) repeats--;
  const scenarios = Array.from({ length: cells / repeats }, (_, i) => ({
    name: `s${i + 1}`,
    inputLen: 32,
    outputLen: 4,
    numPrompts: 2,
    maxConcurrency: 1,
  }));
  return experimentInput(name, {
    clocks: ['default'],
    scenarios,
    repeats,
    harness: { kind: 'builtin' },
    warmup: { inputLen: 32, outputLen: 4, numPrompts: 1 },
    device: { select: 'any' },
  });
}

export interface SweepRun {
  runId: string;
  status: string;
  /** Events in the run's history, and their size in bytes. */
  events: number;
  bytes: number;
}

/** Every run of the sweep (one per continue-as-new), oldest first. */
export async function sweepRuns(client: Client, sweepId: string): Promise<SweepRun[]> {
  const runs: SweepRun[] = [];
  for await (const w of client.workflow.list({ query: `WorkflowId = '${sweepId}'` }))
    runs.push({ runId: w.runId, status: w.status.name, events: w.historyLength, bytes: w.historySize ?? 0 });
  // Visibility lists the newest first.
  return runs.reverse();
}

/** What the server warns about when a history or a payload grows too large (its log at level warn). */
const SIZE_WARNING = /history size exceeds warn limit|blob data size exceeds the warning limit/i;

/** The lines of the server's log that warn about history or payload sizes. */
export function historyWarnings(logFile: string): string[] {
  return readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((l) => SIZE_WARNING.test(l));
}
