/**
 * The identity part of a cell's record, from its planned cell: shared by the cell workflow (which adds what ran)
 * and the sweep (which records cells that never ran as skipped or cancelled). Deterministic.
 */
import type { PlannedCell } from '../plan/plan.js';
import type { CellRecord } from '../schema/outcome.js';

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
