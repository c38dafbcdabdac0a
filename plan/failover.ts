/**
 * Failover decisions of the sweep (docs/architecture.md, "Failover"): where the unfinished engine groups of a lost
 * device go, and which groups a device that came back takes over. Whole groups move, never parts of one: a group's
 * engine lives on one device, and a group that moves restarts its engine on its new device.
 *
 * Pure and deterministic: called from the sweep workflow.
 */
import type { PlannedCell } from './plan.js';

/** A live device as the sweep sees it: the cells queued on it that have not started yet. */
export interface Lane {
  deviceId: string;
  /** Queued cells, in the order the device will run them; none of them has started. */
  pending: readonly PlannedCell[];
  /** The engine group of the cell running or last run on the device (its engine may be loaded), else null. */
  busyGroup: string | null;
}

/** The cells split into their engine groups, each group in the given order, groups by first appearance. */
export function engineGroups(cells: readonly PlannedCell[]): PlannedCell[][] {
  const groups = new Map<string, PlannedCell[]>();
  for (const c of cells) {
    const group = groups.get(c.engineGroup);
    if (group) group.push(c);
    else groups.set(c.engineGroup, [c]);
  }
  return [...groups.values()];
}

/** Whether a device holds a model (plan/model-eligibility.ts); every device does when the sweep did not ask. */
export type HoldsModel = (deviceId: string, modelId: string) => boolean;
const holdsAll: HoldsModel = () => true;

/**
 * Deals the unfinished cells of a lost device to the live devices: each engine group, in order, to the device with
 * the fewest queued cells (ties: the order of `live`) among those holding its model — or among all live devices when
 * none does (the group then fails there as ModelNotFound, recorded, instead of waiting). Empty when no device is
 * live: the cells wait for one.
 */
export function moveGroups(
  cells: readonly PlannedCell[],
  live: readonly Lane[],
  holds: HoldsModel = holdsAll,
): Map<string, PlannedCell[]> {
  const moved = new Map<string, PlannedCell[]>();
  if (live.length === 0) return moved;
  const load = new Map(live.map((l) => [l.deviceId, l.pending.length]));
  for (const group of engineGroups(cells)) {
    const holding = live.filter((l) => holds(l.deviceId, group[0]!.model.id));
    const candidates = holding.length > 0 ? holding : live;
    const target = candidates.reduce((best, l) =>
      load.get(l.deviceId)! < load.get(best.deviceId)! ? l : best,
    ).deviceId;
    moved.set(target, [...(moved.get(target) ?? []), ...group]);
    load.set(target, load.get(target)! + group.length);
  }
  return moved;
}

/** Groups a device that came back takes over, and the device each comes from. */
export interface Takeover {
  from: string;
  cells: PlannedCell[];
}

/**
 * A device came back (or joined with nothing queued): it takes whole engine groups nobody has started, from the
 * end of the longest queue, as long as each move shortens the longest queue. A lane's busy group stays where its
 * engine is, and a group whose model the device lacks stays where it is.
 */
export function groupsForReturningDevice(
  returning: Lane,
  others: readonly Lane[],
  holds: HoldsModel = holdsAll,
): Takeover[] {
  const takes = (g: PlannedCell[], l: Lane) =>
    g[0]!.engineGroup !== l.busyGroup && holds(returning.deviceId, g[0]!.model.id);
  const queues = new Map(others.map((l) => [l.deviceId, engineGroups(l.pending).filter((g) => takes(g, l))]));
  const load = new Map(others.map((l) => [l.deviceId, l.pending.length]));
  let own = returning.pending.length;
  const taken: Takeover[] = [];
  for (;;) {
    const donor = others
      .filter((l) => queues.get(l.deviceId)!.length > 0)
      .reduce<Lane | null>(
        (best, l) => (best === null || load.get(l.deviceId)! > load.get(best.deviceId)! ? l : best),
        null,
      );
    if (donor === null) break;
    const group = queues.get(donor.deviceId)!.at(-1)!;
    // Moving the group must shorten the longest of the two queues, or it only shifts the wait around.
    if (own + group.length >= load.get(donor.deviceId)!) break;
    queues.get(donor.deviceId)!.pop();
    load.set(donor.deviceId, load.get(donor.deviceId)! - group.length);
    own += group.length;
    taken.push({ from: donor.deviceId, cells: group });
  }
  // The device runs what it takes in plan order.
  return taken.sort((a, b) => a.cells[0]!.position - b.cells[0]!.position);
}
