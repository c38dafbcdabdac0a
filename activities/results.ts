/**
 * Results activities, run by the sweep worker (task queue `thorbench`) next to the results database. Recording is
 * idempotent on (sweep, cell, repeat): a retried or resumed record never adds a second row.
 */
import { type PackedIds, packIds } from '../plan/packed-ids.js';
import type { DeviceInventory } from '../schema/device-inventory.js';
import { compareToBaseline, type RegressionComparison } from '../report/regression.js';
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
export async function sweepValidity(store: ResultsStore, sweepId: string): Promise<ValiditySpec> {
  const json = (await store.getSweep(sweepId))?.experimentJson;
  if (json === undefined) return DEFAULT_VALIDITY;
  try {
    const parsed = ValiditySpec.safeParse((JSON.parse(json) as { validity?: unknown }).validity ?? {});
    return parsed.success ? parsed.data : DEFAULT_VALIDITY;
  } catch {
    return DEFAULT_VALIDITY;
  }
}

/** What a sweep with a baseline compares against after its last cell (a schedule's regression watch). */
export interface CompareWithBaselineInput {
  sweepId: string;
  baseline: string;
  /** Relative change flagged where there are no repeats (default 0.05). */
  threshold?: number;
  /** Metrics compared (default: every metric with a good direction). */
  metrics?: string[];
}

/** The comparison, recorded with the sweep; or why there was nothing to compare against. */
export type BaselineComparison =
  { kind: 'compared'; comparison: RegressionComparison } | { kind: 'baseline-missing'; message: string };

/** One probe cell as the results store has it. */
export interface ProbeRecord {
  cellId: string;
  recorded: boolean;
  succeeded: boolean;
  /** The benchmark's metrics (null when it did not measure). */
  metrics: Record<string, unknown> | null;
}

export function createResultsActivities(store: ResultsStore) {
  return {
    async openSweepRecord(input: OpenSweepInput): Promise<void> {
      await store.upsertSweep(input);
    },
    async finishSweepRecord(input: {
      sweepId: string;
      state: 'completed' | 'failed' | 'cancelled';
      finishedAt: string;
    }): Promise<void> {
      await store.finishSweep(input.sweepId, input.state, input.finishedAt);
    },
    /** Cell ids already succeeded in this sweep (a sweep restarted under the same id skips them). */
    async completedCells(input: { sweepId: string }): Promise<string[]> {
      return store.completedCellKeys(input.sweepId);
    },
    /** The same ids, packed (plan/packed-ids.ts): a few bytes a cell in the activity's result (COMPACT_CARRY_PATCH). */
    async completedCellsPacked(input: { sweepId: string }): Promise<PackedIds> {
      return packIds(await store.completedCellKeys(input.sweepId));
    },
    /**
     * The recorded outcome of each probe cell of a capacity search (workflows/sweep.ts), null where none is recorded:
     * a resumed search reads finished probes back instead of running them again.
     */
    async probeRecords(input: {
      sweepId: string;
      cells: { cellId: string; repeat: number }[];
    }): Promise<ProbeRecord[]> {
      const records: ProbeRecord[] = [];
      for (const { cellId, repeat } of input.cells) {
        const r = await store.getCell(input.sweepId, cellId, repeat);
        const succeeded = r?.status === 'succeeded';
        records.push({ cellId, recorded: r !== null, succeeded, metrics: r?.metrics ?? null });
      }
      return records;
    },
    /** Judges the record by the sweep's `validity` rules (schema/verdict.ts), stamps the version, and stores it. */
    async recordCell(record: UnjudgedCellRecord): Promise<{ inserted: boolean }> {
      return store.recordCell(completeRecord(record, await sweepValidity(store, record.sweepId), THORBENCH_VERSION));
    },
    /** A device worker's report (workflows/device-registry.ts): its facts when it started, else just "seen". */
    async recordDeviceReport(input: {
      deviceId: string;
      inventory: DeviceInventory | null;
      seenAt: string;
      worker: string;
    }): Promise<{ known: boolean }> {
      if (input.inventory) {
        await store.registerDevice({ ...input.inventory, deviceId: input.deviceId }, input.worker, input.seenAt);
        return { known: true };
      }
      return { known: await store.markDeviceSeen(input.deviceId, input.worker, input.seenAt) };
    },
    /**
     * Compares the sweep's records with the baseline sweep's (report/regression.ts) and records the verdict with the
     * sweep. A baseline the results database does not hold is an answer, not a failure: the sweep's own results stand.
     */
    async compareWithBaseline(input: CompareWithBaselineInput): Promise<BaselineComparison> {
      const baseline = await store.getSweep(input.baseline);
      if (baseline === null) {
        const message = `baseline sweep "${input.baseline}" is not in the results database ${store.location}`;
        return { kind: 'baseline-missing', message: `${message}; nothing compared` };
      }
      const sweep = await store.getSweep(input.sweepId);
      if (sweep === null) throw new Error(`sweep "${input.sweepId}" is not in the results database ${store.location}`);
      const comparison = compareToBaseline(
        { sweep, cells: await store.listCells(input.sweepId) },
        { sweep: baseline, cells: await store.listCells(input.baseline) },
        {
          ...(input.threshold === undefined ? {} : { threshold: input.threshold }),
          ...(input.metrics === undefined ? {} : { metrics: input.metrics }),
        },
      );
      await store.recordRegression({
        sweepId: input.sweepId,
        baseline: input.baseline,
        regression: comparison.regressions.length > 0,
        comparison,
        comparedAt: new Date().toISOString(),
      });
      return { kind: 'compared', comparison };
    },
  };
}

export type ResultsActivities = ReturnType<typeof createResultsActivities>;
