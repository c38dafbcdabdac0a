/**
 * `thorbench devices [--json]`: the devices whose workers registered in the results store (workers/
 * device-registration.ts), when each was last seen, and what each is running now — the cell in flight on it
 * according to the `progress` query of every running sweep. When the Temporal server does not answer, current work
 * is unknown (null in JSON) and the rest still prints.
 */
import { existsSync } from 'node:fs';
import { fmtDuration } from '../../report/format.js';
import type { DeviceRecord } from '../../schema/device-inventory.js';
import { isPostgresUrl, openResultsStore } from '../../store/store.js';
import { progressQuery } from '../../workflows/messages.js';
import { type CliEnv, connectTemporal } from '../context.js';

export interface DeviceWork {
  sweepId: string;
  cellId: string;
  step: string;
}

export interface DeviceJson extends DeviceRecord {
  /** Seconds between lastSeenAt and when the command ran. */
  lastSeenAgoS: number;
  /** Cells in flight on the device; null when the Temporal server could not be asked. */
  current: DeviceWork[] | null;
}

const QUERY_TIMEOUT_MS = 5_000;

/** Cells in flight per device, from the progress query of each running sweep; null when Temporal is unreachable. */
async function currentWork(env: CliEnv, runningSweeps: string[]): Promise<Map<string, DeviceWork[]> | null> {
  let conn: Awaited<ReturnType<typeof connectTemporal>>;
  try {
    conn = await connectTemporal(env, { startServer: false });
  } catch {
    return null;
  }
  try {
    const work = new Map<string, DeviceWork[]>();
    for (const sweepId of runningSweeps) {
      const timeout = new Promise<null>((resolve) => setTimeout(() => resolve(null), QUERY_TIMEOUT_MS).unref());
      const progress = await Promise.race([
        conn.client.workflow
          .getHandle(sweepId)
          .query(progressQuery, { cells: 'none' })
          .catch(() => null),
        timeout,
      ]);
      for (const c of progress?.current ?? []) {
        work.set(c.deviceId, [...(work.get(c.deviceId) ?? []), { sweepId, cellId: c.cellId, step: c.step }]);
      }
    }
    return work;
  } finally {
    await conn.close();
  }
}

export async function devicesJson(env: CliEnv, now = new Date()): Promise<DeviceJson[]> {
  if (!isPostgresUrl(env.results) && !existsSync(env.results)) return [];
  const store = await openResultsStore(env.results);
  let devices: DeviceRecord[];
  let running: string[];
  try {
    devices = await store.listDevices();
    running = (await store.listSweeps()).filter((s) => s.state === 'running').map((s) => s.sweepId);
  } finally {
    await store.close();
  }
  // No running sweep: every device is idle, whether or not the Temporal server answers.
  const idle = new Map<string, DeviceWork[]>();
  const work = devices.length > 0 && running.length > 0 ? await currentWork(env, running) : idle;
  return devices.map((d) => ({
    ...d,
    lastSeenAgoS: Math.max(0, (now.getTime() - Date.parse(d.lastSeenAt)) / 1000),
    current: work === null ? null : (work.get(d.deviceId) ?? []),
  }));
}

function gb(bytes: number | null): string {
  return bytes === null ? '—' : `${(bytes / 1e9).toFixed(1)} GB`;
}

/** The text table: one row per device, then a line of facts under it. */
export function renderDevicesText(devices: DeviceJson[]): string[] {
  if (devices.length === 0) {
    return ['no devices registered: start a device worker (thorbench worker --role device) while a sweep worker runs'];
  }
  const rows = devices.map((d) => {
    const inv = d.inventory;
    const work =
      d.current === null
        ? 'unknown (Temporal server not reachable)'
        : d.current.length === 0
          ? 'idle'
          : d.current.map((w) => `${w.sweepId} ${w.cellId} (${w.step})`).join('; ');
    return [
      d.deviceId,
      inv.simulated ? 'simulated' : 'jetson',
      inv.l4tRelease ?? '—',
      inv.memoryTotalMb === null ? '—' : `${(inv.memoryTotalMb / 1024).toFixed(1)} GB`,
      gb(inv.modelsDirFreeBytes),
      inv.engineImagePresent ? 'present' : 'missing',
      `${fmtDuration(d.lastSeenAgoS * 1000)} ago`,
      work,
    ];
  });
  const header = ['DEVICE', 'KIND', 'L4T', 'MEMORY', 'MODELS FREE', 'IMAGE', 'LAST SEEN', 'CURRENT WORK'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  const out = [line(header)];
  devices.forEach((d, i) => {
    out.push(line(rows[i]!));
    const inv = d.inventory;
    const modes = inv.powerModes.map((m) => `${m.name}(${m.id})`).join(' ') || '—';
    const models =
      inv.models === null
        ? `every model${inv.modelsMissing.length ? ` except ${inv.modelsMissing.join(', ')}` : ''}`
        : `${inv.models.length} found`;
    const gpu = inv.clockLimits?.gpuMaxMhz ? `, GPU max ${inv.clockLimits.gpuMaxMhz} MHz` : '';
    out.push(
      `    ${inv.model}; power modes ${modes} (now ${inv.powerMode?.name ?? '?'}${gpu}); ${inv.modelsDir}: ${models}`,
    );
    for (const p of inv.problems) out.push(`    problem: ${p}`);
  });
  return out;
}

export async function devices(opts: { json: boolean; env: CliEnv; out: (line: string) => void }): Promise<void> {
  const list = await devicesJson(opts.env);
  if (opts.json) opts.out(JSON.stringify({ devices: list }, null, 2));
  else for (const l of renderDevicesText(list)) opts.out(l);
}
