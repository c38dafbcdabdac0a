/** Messages of the sweep workflow, defined once for the workflow, the CLI and the tests. */
import { defineQuery } from '@temporalio/workflow';
import type { CellStatus } from '../schema/outcome.js';

export interface CellProgress {
  id: string;
  status: CellStatus | 'pending' | 'running';
  failureType?: string;
}

export interface SweepProgress {
  sweepId: string;
  experiment: string;
  state: 'starting' | 'running' | 'completed' | 'cancelled' | 'failed';
  devices: string[];
  total: number;
  done: number;
  counts: Record<CellStatus, number>;
  /**
   * Cell and step in flight per device: the step actually running (e.g. "benchmark") and since when (ISO).
   * `stepStartedAt` is optional until every sweep worker records it; readers show "—" without it.
   */
  current: { deviceId: string; cellId: string; step: string; stepStartedAt?: string }[];
  cells: CellProgress[];
  /** Estimated time left in ms (plan's step costs corrected by measured durations); null or absent: no estimate. */
  remainingMs?: number | null;
}

export const progressQuery = defineQuery<SweepProgress>('progress');
