/**
 * The `devices` table: each device worker registers its device's facts when it starts and reports itself seen
 * while it runs (workflows/device-registry.ts → activities/results.ts). Its statements are in store/sql-store.ts.
 */
import type { DeviceInventory, DeviceRecord } from '../schema/device-inventory.js';

export interface DeviceRow {
  device_id: string;
  inventory_json: string;
  worker: string;
  registered_at: string;
  last_seen_at: string;
}

/** The results store's part that keeps devices (both stores). */
export interface DeviceStore {
  /**
   * Registers a device, or replaces its facts. `registeredAt` is when its current worker first registered (a
   * restarted worker has a new identity); last-seen moves to `seenAt`.
   */
  registerDevice(inventory: DeviceInventory, worker: string, seenAt: string): Promise<void>;
  /** Moves last-seen forward (never back: reports may arrive out of order). False when the device is unknown. */
  markDeviceSeen(deviceId: string, worker: string, seenAt: string): Promise<boolean>;
  /** Every registered device, by id. */
  listDevices(): Promise<DeviceRecord[]>;
}

export function fromDeviceRow(r: DeviceRow): DeviceRecord {
  return {
    deviceId: r.device_id,
    inventory: JSON.parse(r.inventory_json) as DeviceInventory,
    worker: r.worker,
    registeredAt: r.registered_at,
    lastSeenAt: r.last_seen_at,
  };
}
