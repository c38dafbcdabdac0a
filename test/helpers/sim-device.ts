/**
 * Helpers for tests that drive the simulated Thor: polling until an engine is healthy, reading an SSE completion
 * stream, and tearing a simulated device down so no engine process outlives a test.
 */
import fs from 'node:fs';
import path from 'node:path';
import { killContainerExecs } from '../../sim/container-exec.js';
import { listContainerStates, removeContainer } from '../../sim/containers.js';
import { ensureSimDevice } from '../../sim/device.js';
import { simLayout } from '../../sim/layout.js';
import { killOnDeviceProcesses } from '../../sim/reboot.js';
import { repoJson } from './files.js';
import { freePort } from './net.js';
import { waitFor } from './wait.js';

/** Waits until GET /health answers 200. */
export function waitForHealthy(port: number, timeoutMs: number): Promise<true> {
  return waitFor(
    `http://127.0.0.1:${port}/health to answer 200`,
    async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/health`);
        await res.arrayBuffer();
        return res.status === 200 ? true : undefined;
      } catch {
        return undefined;
      }
    },
    timeoutMs,
  );
}

export interface SseResult {
  status: number;
  /** Parsed `data:` payloads before `[DONE]`. */
  events: Record<string, unknown>[];
  sawDone: boolean;
  /** Raw body text (to check the exact framing). */
  raw: string;
}

/** POSTs a streaming request and collects the server-sent events. */
export async function postSse(url: string, body: unknown): Promise<SseResult> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const raw = await res.text();
  const events: Record<string, unknown>[] = [];
  let sawDone = false;
  for (const block of raw.split('\n\n')) {
    if (!block.startsWith('data: ')) continue;
    const data = block.slice('data: '.length);
    if (data === '[DONE]') sawDone = true;
    else events.push(JSON.parse(data) as Record<string, unknown>);
  }
  return { status: res.status, events, sawDone, raw };
}

/**
 * Kills every container process of a simulated device (with what `docker exec` started), kills registered on-device
 * processes, and deletes it.
 */
export function destroySimDevice(dir: string): void {
  const layout = simLayout(dir);
  if (fs.existsSync(layout.deviceFile)) {
    for (const c of listContainerStates(layout)) removeContainer(layout, c);
  }
  killContainerExecs(layout);
  killOnDeviceProcesses(layout);
  fs.rmSync(layout.dir, { recursive: true, force: true });
}

/**
 * Creates the simulated Thor that `thorbench … --device sim` opens under THORBENCH_HOME `home`, with its engine
 * ports moved (the device's port offset, as for a fleet on one machine) so that an experiment's fixed
 * `engine.port` lands on a free port: test files running side by side can each run experiments/demo-sim.json
 * (port 18000) without their engines meeting. `experimentFile`: relative to the repository.
 */
export async function simDeviceOnFreePort(home: string, experimentFile: string): Promise<void> {
  const experimentPort = (repoJson(experimentFile) as { engine: { port: number } }).engine.port;
  let port = await freePort();
  while (port <= experimentPort) port = await freePort();
  ensureSimDevice(path.join(home, 'sim', 'sim'), { id: 'sim', enginePortOffset: port - experimentPort });
}

/** What `thorbench run experiments/demo-sim.json --device sim` needs to run under `dir` with its embedded server. */
export interface DemoRun {
  env: Record<string, string>;
  /** The embedded Temporal server's port and its Web UI's. */
  temporalPort: number;
  uiPort: number;
}

/**
 * The environment of a demo run in `dir` (home, results, free server and UI ports, the simulator at speed 4) on a
 * simulated Thor whose engine port is moved to a free one (simDeviceOnFreePort).
 */
export async function demoRun(dir: string): Promise<DemoRun> {
  const home = path.join(dir, 'home');
  await simDeviceOnFreePort(home, 'experiments/demo-sim.json');
  const temporalPort = await freePort();
  const uiPort = await freePort();
  return {
    temporalPort,
    uiPort,
    env: {
      THORBENCH_HOME: home,
      THORBENCH_RESULTS: path.join(dir, 'results'),
      THORBENCH_TEMPORAL_PORT: String(temporalPort),
      THORBENCH_UI_PORT: String(uiPort),
      THORBENCH_SIM_SPEED: '4',
      TEMPORAL_ADDRESS: '',
    },
  };
}
