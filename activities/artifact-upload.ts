/**
 * Artifacts of a fleet's cells reach the results store: a device worker wraps its `benchmark` activity so that,
 * once the harness has written a cell's artifacts to the device's disk, they are sent to the shared (PostgreSQL)
 * store before the activity completes. Reports on any machine then read them from the store
 * (store/artifacts.ts readCellArtifact), and nothing of a cell is lost with the device's disk.
 *
 * A failed upload fails the activity (with the store named), and its retry reuses the finished result.json on
 * disk (activities/harness.ts) instead of benchmarking again, so the upload is retried cheaply. Each file is
 * bounded by MAX_STORED_ARTIFACT_BYTES; a larger one stays on disk and is reported in the worker's log.
 */
import { log } from '@temporalio/activity';
import { storeArtifacts } from '../store/artifacts.js';
import type { ResultsStore } from '../store/store.js';
import type { BenchmarkInput, BenchmarkResult } from './harness.js';

export function withArtifactUpload<A extends { benchmark(input: BenchmarkInput): Promise<BenchmarkResult> }>(
  activities: A,
  store: ResultsStore,
): A {
  const benchmark = activities.benchmark.bind(activities);
  return {
    ...activities,
    async benchmark(input: BenchmarkInput): Promise<BenchmarkResult> {
      const result = await benchmark(input);
      let sent;
      try {
        sent = await storeArtifacts(store, input.sweepId, input.cellId, result.artifactsDir);
      } catch (err) {
        throw new Error(
          `could not send the artifacts of ${input.cellId} to the results store ${store.location}: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
      for (const s of sent.skipped)
        log.warn(`artifact ${input.cellId}/${s.name} stays on the device only: ${s.reason}`);
      return result;
    },
  };
}
