/**
 * Spreading a plan over several devices. Pure and deterministic: used by the sweep workflow.
 */
import type { PlannedCell } from './plan.js';

/**
 * Deals whole engine groups to the devices in turn, in plan order: a group must stay on one device, because its
 * engine lives there. Each shard keeps the plan's order, so a device still loads each model once.
 */
export function shardByDevice(cells: readonly PlannedCell[], devices: readonly string[]): Map<string, PlannedCell[]> {
  if (devices.length === 0) throw new Error('shardByDevice: no devices to shard over');
  const shards = new Map(devices.map((d) => [d, [] as PlannedCell[]]));
  const groupDevice = new Map<string, string>();
  for (const c of cells) {
    let d = groupDevice.get(c.engineGroup);
    if (d === undefined) {
      d = devices[groupDevice.size % devices.length]!;
      groupDevice.set(c.engineGroup, d);
    }
    shards.get(d)!.push(c);
  }
  return shards;
}
