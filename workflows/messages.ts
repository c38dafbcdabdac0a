/** Messages of the sweep workflow, defined once for the workflows, the CLI and the tests. */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { StepName } from '../schema/experiment.js';
import type { CellStatus, FailureType, MovedFrom } from '../schema/outcome.js';

export interface CellProgress {
  id: string;
  status: CellStatus | 'pending' | 'running';
  failureType?: FailureType;
  /** The cell was moved off a lost device: which one, why, when (docs/architecture.md, "Failover"). */
  movedFrom?: MovedFrom;
}

/** A device of the sweep that stopped picking up its work; its engine groups went to the other devices. */
export interface LostDevice {
  deviceId: string;
  /** ISO-8601 time the sweep found it lost. */
  since: string;
  reason: string;
}

/** A cell in flight on a device. */
export interface CurrentCell {
  deviceId: string;
  cellId: string;
  /**
   * The step running now (e.g. "benchmark"); "starting" until the cell's first step begins. Cells started under
   * LEAN_CELL_PATCH announce a step once it has run for half a second (workflows/cell.ts ANNOUNCE_AFTER_MS), so
   * quicker steps are not shown.
   */
  step: StepName | 'starting';
  /** ISO-8601 start of that step. */
  stepStartedAt: string;
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
  current: CurrentCell[];
  /**
   * Every cell, in plan order; for a query with a ProgressRequest, only the cells it asks for: finished cells in the
   * order they finished, the first at position `cellsFrom`.
   */
  cells: CellProgress[];
  /** The position in the sweep's finish order of `cells[0]` (answers to `{ finishedSince }` only). */
  cellsFrom?: number;
  /**
   * Estimated time left in ms: the plan's step costs corrected by the step durations measured so far
   * (plan/estimate.ts); null before the devices are known and once the sweep has ended.
   */
  remainingMs: number | null;
  /** Capacity searches this run has begun (plan/search.ts): the loads probed so far and, once done, the capacity. */
  searches?: SearchProgress[];
  /** Devices lost and not back yet (absent in sweeps started before failover). */
  lostDevices?: LostDevice[];
}

export interface SearchProgress {
  /** The search slot's id, `<power>.<clocks>.<model>.<scenario>.search`. */
  slot: string;
  probes: { value: number; pass: boolean }[];
  /** The highest load that met every SLO (null: even the minimum missed); absent while the search runs. */
  capacity?: number | null;
}

/**
 * What a progress query lists. Without a request, every cell: about 70 bytes a cell, and Temporal refuses a query
 * answer over 2 MB, so past about 25,000 cells only a request gets an answer.
 * - `finishedSince`: the cells that finished at or after this position of the sweep's finish order (0 is the first
 *   cell to finish), as far back as the sweep remembers (FINISH_LOG_KEEP cells before the last). A live view passes
 *   `cellsFrom + cells.length` of its previous answer and so gets each finished cell once.
 * - `cells: 'none'`: no cells, for the counts and the cells in flight.
 */
export type ProgressRequest = { finishedSince: number } | { cells: 'none' };

export const progressQuery = defineQuery<SweepProgress, [ProgressRequest?]>('progress');

/** A cell tells its sweep which step it has begun, so `progress` says what each device is doing. */
export interface CellStepStarted {
  cellId: string;
  step: StepName;
  startedAt: string;
}

export const cellStepSignal = defineSignal<[CellStepStarted]>('cellStep');
