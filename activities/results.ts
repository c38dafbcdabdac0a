/**
 * Results activities, run by the sweep worker (task queue `thorbench`) next to the results database. Recording is
 * idempotent on (sweep, cell, repeat): a retried or resumed record never adds a second row.
 */
import type { DeviceInventory } from '../schema/device-inventory.js';
import type { ResultsStore } from '../store/store.js';
import { DEFAULT_VALIDITY, ValiditySpec } from '../schema/experiment.js';
import { completeRecord, type UnjudgedCellRecord } from '../schema/verdict.js';
import { THORBENCH_VERSION } from './thorbench-version.js';

export interface OpenSweepInput {
  sweepId: string;
  experimentName: string;
  experimentJson: string;
  workflowId: string;
  simulated: boolean;
  plannedCells: number;
  startedAt: string;
}

/** The `validity` section of the sweep's stored experiment (validated by the sweep when it started). */
export function sweepValidity(store: ResultsStore, sweepId: string): ValiditySpec {
  const json = store.getSweep(sweepId)?.experimentJson;
  if (json === undefined) return DEFAULT_VALIDITY;
  try {
    const parsed = ValiditySpec.safeParse((JSON.parse(json) as { validity?: unknown }).validity ?? {});
    return parsed.success ? parsed.data : DEFAULT_VALIDITY;
  } catch {
    return DEFAULT_VALIDITY;
  }
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
    /** Judges the record by the sweep's `validity` rules (schema/verdict.ts), stamps the version, and stores it. */
    async recordCell(record: UnjudgedCellRecord): Promise<{ inserted: boolean }> {
      return store.recordCell(completeRecord(record, sweepValidity(store, record.sweepId), THORBENCH_VERSION));
    },
    /** A device worker's report (workflows/device-registry.ts): its facts when it started, else just "seen". */
    async recordDeviceReport(input: {
      deviceId: string;
      inventory: DeviceInventory | null;
      seenAt: string;
      worker: string;
    }): Promise<{ known: boolean }> {
      if (input.inventory) {
        store.registerDevice({ ...input.inventory, deviceId: input.deviceId }, input.worker, input.seenAt);
        return { known: true };
      }
      return { known: store.markDeviceSeen(input.deviceId, input.worker, input.seenAt) };
    },
  };
}

export type ResultsActivities = ReturnType<typeof createResultsActivities>;
