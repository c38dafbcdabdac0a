/**
 * The identity part of a cell's record, from its planned cell: shared by the cell workflow (which adds what ran)
 * and the sweep (which records cells that never ran as skipped or cancelled); and the whole record of a cell that
 * never ran. Deterministic.
 */
import type { PlannedCell } from '../plan/plan.js';
import type { CellRecord, FailureType, MovedFrom } from '../schema/outcome.js';
import type { UnjudgedCellRecord } from '../schema/verdict.js';

export type CellIdentity = Pick<
  CellRecord,
  | 'sweepId'
  | 'experimentName'
  | 'cellId'
  | 'repeat'
  | 'position'
  | 'power'
  | 'clocks'
  | 'modelId'
  | 'quantization'
  | 'modelSize'
  | 'scenario'
>;

export function cellIdentity(sweepId: string, experimentName: string, c: PlannedCell): CellIdentity {
  return {
    sweepId,
    experimentName,
    cellId: c.id,
    repeat: c.repeat,
    position: c.position,
    power: c.powerKey,
    clocks: c.clocks,
    modelId: c.model.id,
    quantization: c.model.quantization,
    modelSize: c.model.size ?? null,
    scenario: c.scenario.name,
  };
}

/** Why a cell never ran: the sweep decided so before any of its steps ('plan'). */
export interface UnrunReason {
  type: FailureType;
  message: string;
}

/** How a cell that never ran ends. */
export type UnrunStatus = 'failed' | 'skipped' | 'cancelled';

/** The record of a cell that never ran: no steps, no device, no metrics, and the plan's reason. */
export function unrunCellRecord(
  sweepId: string,
  experimentName: string,
  c: PlannedCell,
  status: UnrunStatus,
  reason: UnrunReason,
  simulated: boolean,
  movedFrom: MovedFrom | undefined,
): UnjudgedCellRecord {
  const now = new Date().toISOString();
  return {
    ...cellIdentity(sweepId, experimentName, c),
    status,
    failure: { ...reason, retryable: false, step: 'plan' },
    metrics: null,
    harness: null,
    device: null,
    engine: null,
    steps: [],
    artifactsDir: null,
    simulated,
    startedAt: now,
    finishedAt: now,
    ...(movedFrom ? { movedFrom } : {}),
  };
}
