/**
 * Where the CLI keeps things and how it reaches Temporal and the device.
 *
 * Environment: TEMPORAL_ADDRESS (use that server instead of the embedded one), TEMPORAL_NAMESPACE (default
 * "default"), THORBENCH_HOME (embedded server and simulator state, default ./.thorbench), THORBENCH_RESULTS
 * (results database and artifacts, default ./results), THORBENCH_RESULTS_URL (a postgres://… results database
 * shared by a lab, instead of the SQLite file in THORBENCH_RESULTS), THORBENCH_TEMPORAL_PORT / THORBENCH_UI_PORT
 * (embedded server ports, default 7233 / 8233).
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { type DeviceProfile, jetsonProfile } from '../activities/device-profile.js';
import { ensureDevServer } from '../server/dev-server.js';
import { type TegrastatsFormat, ensureSimDevice, parseTegrastatsFormat, simDeviceProfile } from '../sim/device.js';
import { isPostgresUrl, redactUrl } from '../store/store.js';
import { installRuntime } from '../workers/runtime.js';
import { EXIT_INVALID, ExitError } from './errors.js';

export interface CliEnv {
  home: string;
  resultsDir: string;
  dbFile: string;
  /** The results store to open: THORBENCH_RESULTS_URL when set, else dbFile. */
  results: string;
  namespace: string;
  /** Set when the user points at an existing server; otherwise the embedded one is used. */
  address: string | null;
  port: number;
  uiPort: number;
}

export function cliEnv(env: NodeJS.ProcessEnv = process.env): CliEnv {
  const url = env.THORBENCH_RESULTS_URL;
  // A mistyped scheme would otherwise become the path of a new SQLite file, and the results would go there.
  if (url && !isPostgresUrl(url)) {
    throw new ExitError(
      `THORBENCH_RESULTS_URL must be a postgres:// or postgresql:// URL (got "${redactUrl(url)}"); for a SQLite file, set THORBENCH_RESULTS to its directory instead`,
      EXIT_INVALID,
    );
  }
  const resultsDir = path.resolve(env.THORBENCH_RESULTS ?? 'results');
  const port = Number(env.THORBENCH_TEMPORAL_PORT ?? 7233);
  return {
    home: path.resolve(env.THORBENCH_HOME ?? '.thorbench'),
    resultsDir,
    dbFile: path.join(resultsDir, 'thorbench.db'),
    results: env.THORBENCH_RESULTS_URL || path.join(resultsDir, 'thorbench.db'),
    namespace: env.TEMPORAL_NAMESPACE ?? 'default',
    address: env.TEMPORAL_ADDRESS || null,
    port,
    uiPort: Number(env.THORBENCH_UI_PORT ?? port + 1000),
  };
}

export interface Connected {
  address: string;
  uiUrl: string | null;
  /** True when this command started the embedded server. */
  startedServer: boolean;
  client: Client;
  connection: Connection;
  close(): Promise<void>;
}

/** Connects to TEMPORAL_ADDRESS, or to the embedded dev server (started when it is not running). */
export async function connectTemporal(env: CliEnv, opts: { startServer: boolean }): Promise<Connected> {
  let address = env.address;
  let uiUrl: string | null = null;
  let startedServer = false;
  if (address === null) {
    if (opts.startServer) {
      const server = await ensureDevServer({ home: env.home, port: env.port, uiPort: env.uiPort });
      address = server.address;
      uiUrl = server.uiUrl;
      startedServer = server.startedNow;
    } else {
      address = `127.0.0.1:${env.port}`;
      uiUrl = `http://localhost:${env.uiPort}`;
    }
  }
  let connection: Connection;
  try {
    connection = await Connection.connect({ address, connectTimeout: 5_000 });
  } catch (err) {
    throw new ExitError(
      `cannot reach the Temporal server at ${address}: ${(err as Error).message}. Start one with \`thorbench run\` (embedded) or set TEMPORAL_ADDRESS.`,
      1,
    );
  }
  const client = new Client({ connection, namespace: env.namespace });
  return { address, uiUrl, startedServer, client, connection, close: () => connection.close() };
}

export async function nativeConnection(address: string): Promise<NativeConnection> {
  installRuntime(); // before the first native connection, which creates the runtime
  return NativeConnection.connect({ address });
}

export type DeviceChoice = 'sim' | 'jetson' | 'auto';

export function parseDeviceChoice(value: string | undefined): DeviceChoice {
  const v = value ?? 'auto';
  if (v === 'sim' || v === 'jetson' || v === 'auto') return v;
  throw new ExitError(`--device must be sim, jetson or auto (got "${v}")`, EXIT_INVALID);
}

/** A Jetson announces itself with /etc/nv_tegra_release. */
export function isJetson(): boolean {
  return existsSync('/etc/nv_tegra_release');
}

/** The device profile a worker serves: the simulated Thor under THORBENCH_HOME, or this Jetson. */
export function resolveDevice(env: CliEnv, choice: DeviceChoice, deviceId?: string): DeviceProfile {
  const kind = choice === 'auto' ? (isJetson() ? 'jetson' : 'sim') : choice;
  if (kind === 'sim') {
    const id = deviceId ?? 'sim';
    // THORBENCH_SIM_SPEED compresses the simulator's time (tests); reported latencies shrink by the same factor.
    const speed = process.env.THORBENCH_SIM_SPEED ? Number(process.env.THORBENCH_SIM_SPEED) : undefined;
    // THORBENCH_SIM_TEGRASTATS picks tegrastats' rail format: "2" (Thor R38), "3" (JetPack 7.2), ",no-vin".
    const rails = process.env.THORBENCH_SIM_TEGRASTATS;
    let tegrastats: TegrastatsFormat | undefined;
    try {
      tegrastats = rails ? parseTegrastatsFormat(rails) : undefined;
    } catch (err) {
      throw new ExitError((err as Error).message, EXIT_INVALID);
    }
    // Each simulated device under THORBENCH_HOME/sim gets its own engine ports (README, "A fleet on one machine").
    const dev = ensureSimDevice(path.join(env.home, 'sim', id), {
      id,
      speed,
      tegrastats,
      enginePortOffset: 'allocate',
    });
    // THORBENCH_SIM_VLLM_CLIENT: a `vllm` executable (scripts/ensure-vllm-client.sh) that simulated containers run
    // for `vllm bench serve`; without it they run the stand-in (sim/vllm-bench-standin.ts).
    // THORBENCH_SIM_NOOP=1: every device step answers at once (sim/noop-device.ts), to measure orchestration.
    return simDeviceProfile(dev, env.resultsDir, {
      vllmClient: process.env.THORBENCH_SIM_VLLM_CLIENT || undefined,
      noop: process.env.THORBENCH_SIM_NOOP === '1',
    });
  }
  if (!isJetson())
    throw new ExitError(
      'this machine is not a Jetson (no /etc/nv_tegra_release); use --device sim to run on the simulated Thor',
      EXIT_INVALID,
    );
  return jetsonProfile({
    id:
      deviceId ??
      os
        .hostname()
        .toLowerCase()
        .replace(/[^a-z0-9._-]/g, '-'),
    resultsDir: env.resultsDir,
    stateDir: process.env.THORBENCH_STATE_DIR,
  });
}
