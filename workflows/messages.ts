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
  /** Cell and step in flight per device. */
  current: { deviceId: string; cellId: string; step: string }[];
  cells: CellProgress[];
}

export const progressQuery = defineQuery<SweepProgress>('progress');
