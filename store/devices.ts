/**
 * The `devices` table: each device worker registers its device's facts when it starts and reports itself seen
 * while it runs (workflows/device-registry.ts → activities/results.ts). Kept apart from the cells so another store
 * implementation needs only these three statements.
 */
import type Database from 'better-sqlite3';
import type { DeviceInventory, DeviceRecord } from '../schema/device-inventory.js';

interface DeviceRow {
  device_id: string;
  inventory_json: string;
  worker: string;
  registered_at: string;
  last_seen_at: string;
}

export interface DeviceStatements {
  /**
   * Registers a device, or replaces its facts. `registeredAt` is when its current worker first registered (a
   * restarted worker has a new identity); last-seen moves to `seenAt`.
   */
  registerDevice(inventory: DeviceInventory, worker: string, seenAt: string): void;
  /** Moves last-seen forward (never back: reports may arrive out of order). False when the device is unknown. */
  markDeviceSeen(deviceId: string, worker: string, seenAt: string): boolean;
  /** Every registered device, by id. */
  listDevices(): DeviceRecord[];
}

export function deviceStatements(db: Database.Database): DeviceStatements {
  const readonly = db.readonly;
  const upsert = readonly
    ? null
    : db.prepare(`
        INSERT INTO devices (device_id, simulated, model, l4t_release, memory_total_mb, inventory_json, worker,
                             registered_at, last_seen_at)
        VALUES (@device_id, @simulated, @model, @l4t_release, @memory_total_mb, @inventory_json, @worker,
                @seen_at, @seen_at)
        ON CONFLICT (device_id) DO UPDATE SET
          simulated = excluded.simulated, model = excluded.model, l4t_release = excluded.l4t_release,
          memory_total_mb = excluded.memory_total_mb, inventory_json = excluded.inventory_json,
          worker = excluded.worker,
          registered_at = CASE WHEN devices.worker = excluded.worker THEN devices.registered_at
                               ELSE excluded.registered_at END,
          last_seen_at = MAX(devices.last_seen_at, excluded.last_seen_at)`);
  const seen = readonly
    ? null
    : db.prepare(
        `UPDATE devices SET last_seen_at = MAX(last_seen_at, @seen_at), worker = @worker WHERE device_id = @device_id`,
      );
  const list = db.prepare(
    `SELECT device_id, inventory_json, worker, registered_at, last_seen_at FROM devices ORDER BY device_id`,
  );
  const writable = (stmt: Database.Statement | null): Database.Statement => {
    if (stmt === null)
      throw new Error(`results database ${db.name} was opened read-only; devices cannot be registered through it`);
    return stmt;
  };
  return {
    registerDevice(inventory, worker, seenAt) {
      if (typeof inventory.deviceId !== 'string' || inventory.deviceId === '')
        throw new Error('registerDevice: deviceId must be a non-empty string');
      writable(upsert).run({
        device_id: inventory.deviceId,
        simulated: inventory.simulated ? 1 : 0,
        model: inventory.model,
        l4t_release: inventory.l4tRelease,
        memory_total_mb: inventory.memoryTotalMb,
        inventory_json: JSON.stringify(inventory),
        worker,
        seen_at: seenAt,
      });
    },
    markDeviceSeen(deviceId, worker, seenAt) {
      return writable(seen).run({ device_id: deviceId, worker, seen_at: seenAt }).changes > 0;
    },
    listDevices() {
      return (list.all() as DeviceRow[]).map((r) => ({
        deviceId: r.device_id,
        inventory: JSON.parse(r.inventory_json) as DeviceInventory,
        worker: r.worker,
        registeredAt: r.registered_at,
        lastSeenAt: r.last_seen_at,
      }));
    },
  };
}
