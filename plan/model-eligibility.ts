/**
 * Which device may run which model group: a model group goes only to a device that holds its model (the devices
 * answer `checkModelsPresent` before the sweep deals its groups out). Groups are dealt in plan order to the eligible
 * device with the fewest groups so far (ties: the order of `device.select`), which is plain round-robin when every
 * device holds every model. A group no device holds is refused: its cells fail with `ModelNotFound` before any
 * engine starts.
 *
 * Pure and deterministic: called from the sweep workflow.
 */
import type { ModelRef, ModelsPresence } from '../schema/device-inventory.js';
import type { PlannedCell } from './plan.js';

export interface RefusedCell {
  cell: PlannedCell;
  /** Says which devices lack the model and what to fix. */
  reason: string;
}

export interface GroupAssignment {
  /** Cells per device, in plan order; every device of `devices` has an entry. */
  shards: Map<string, PlannedCell[]>;
  refused: RefusedCell[];
}

/** The distinct models of the plan, as the presence check takes them. */
export function plannedModels(cells: readonly PlannedCell[]): ModelRef[] {
  const seen = new Map<string, ModelRef>();
  for (const c of cells) if (!seen.has(c.model.id)) seen.set(c.model.id, { id: c.model.id, path: c.model.path });
  return [...seen.values()];
}

/**
 * Deals engine groups over `devices`. A device absent from `presence` is assumed to hold every model (its
 * startEngine step still checks before starting anything).
 */
export function assignModelGroups(
  cells: readonly PlannedCell[],
  devices: readonly string[],
  presence: readonly ModelsPresence[],
  modelsDir: string,
): GroupAssignment {
  const lacks = new Map(presence.map((p) => [p.deviceId, new Set(p.missing.map((m) => m.id))]));
  const shards = new Map(devices.map((d) => [d, [] as PlannedCell[]]));
  const groups = new Map(devices.map((d) => [d, 0]));
  const groupDevice = new Map<string, string | null>();
  const refused: RefusedCell[] = [];
  for (const c of cells) {
    let device = groupDevice.get(c.engineGroup);
    if (device === undefined) {
      const eligible = devices.filter((d) => !lacks.get(d)?.has(c.model.id));
      device = eligible.reduce<string | null>(
        (best, d) => (best === null || groups.get(d)! < groups.get(best)! ? d : best),
        null,
      );
      if (device !== null) groups.set(device, groups.get(device)! + 1);
      groupDevice.set(c.engineGroup, device);
    }
    if (device === null) {
      const where = devices.length === 1 ? `device ${devices[0]}` : `any of the devices ${devices.join(', ')}`;
      refused.push({
        cell: c,
        reason:
          `model ${c.model.id} (${modelsDir}/${c.model.path}) is not on ${where}; ` +
          'download it there or fix matrix.model[].path / engine.modelsDir',
      });
    } else shards.get(device)!.push(c);
  }
  return { shards, refused };
}
