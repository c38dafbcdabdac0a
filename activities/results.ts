/**
 * Results activities, run by the sweep worker (task queue `thorbench`) next to the results database. Recording is
 * idempotent on (sweep, cell, repeat): a retried or resumed record never adds a second row.
 */
import type { ResultsStore } from '../store/store.js';
import type { CellRecord } from '../schema/outcome.js';

export interface OpenSweepInput {
  sweepId: string;
  experimentName: string;
  experimentJson: string;
  workflowId: string;
  simulated: boolean;
  plannedCells: number;
  startedAt: string;
}

export function createResultsActivities(store: ResultsStore) {
  return {
    async openSweepRecord(input: OpenSweepInput): Promise<void> {
      store.upsertSweep(input);
    },
    async finishSweepRecord(input: { sweepId: string; state: 'completed' | 'failed' | 'cancelled'; finishedAt: string }): Promise<void> {
      store.finishSweep(input.sweepId, input.state, input.finishedAt);
    },
    /** Cell ids already succeeded in this sweep (a sweep restarted under the same id skips them). */
    async completedCells(input: { sweepId: string }): Promise<string[]> {
      return store.completedCellKeys(input.sweepId);
    },
    async recordCell(record: CellRecord): Promise<{ inserted: boolean }> {
      return store.recordCell(record);
    },
  };
}

export type ResultsActivities = ReturnType<typeof createResultsActivities>;
