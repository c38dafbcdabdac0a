/**
 * The embedded Temporal server of the all-in-one CLI: `temporal server start-dev` persisted to SQLite under
 * `.thorbench/`, Web UI on 8233, started in the background the first time and reused afterwards (also by later
 * runs, so a sweep interrupted by a crash or reboot resumes from the same database).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { SearchAttributeType } from '@temporalio/common';
import proto from '@temporalio/proto';
import { SEARCH_ATTRIBUTES, SEARCH_ATTRIBUTE_FLAGS } from '../workflows/search-attributes.js';
import { TEMPORAL_CLI_HELP, findTemporalCli } from './temporal-cli.js';

/** How the embedded server keeps its SQLite file. */
export const SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=full'];

/**
 * The embedded server's dynamic config. Its history service reads the new tasks it must hand on (an activity or
 * workflow task to dispatch) at most 20 times a second by default, a limit that spares a shared cluster's database:
 * under a sweep's steady stream of short tasks every dispatch waited for the next 50 ms tick, and a quick step's
 * round trip took 100 ms instead of 30 (docs/architecture.md, "Orchestration cost"). Reads still happen only when
 * there are new tasks.
 */
export const DYNAMIC_CONFIG = ['history.transferProcessorMaxPollRPS=1000'];

export interface DevServerOptions {
  /** State directory (SQLite file, log, pid file). */
  home: string;
  port?: number;
  uiPort?: number;
  /** Without the Web UI (tests). */
  headless?: boolean;
  startTimeoutMs?: number;
  /** Appended to `temporal server start-dev` (e.g. `--dynamic-config-value KEY=VALUE`). */
  extraArgs?: string[];
}

export interface DevServer {
  address: string;
  uiUrl: string | null;
  /** False when a server was already listening and is reused. */
  startedNow: boolean;
  pid: number | null;
  dbFile: string;
  logFile: string;
}

export class DevServerError extends Error {
  override readonly name = 'DevServerError';
}

export function portOpen(port: number, host = '127.0.0.1', timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function temporalAnswers(address: string): Promise<boolean> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: 2_000 });
    try {
      await connection.workflowService.getSystemInfo({});
      return true;
    } finally {
      await connection.close();
    }
  } catch {
    return false;
  }
}

export async function ensureDevServer(opts: DevServerOptions): Promise<DevServer> {
  const port = opts.port ?? 7233;
  const uiPort = opts.uiPort ?? port + 1000;
  const home = path.resolve(opts.home);
  const address = `127.0.0.1:${port}`;
  const dbFile = path.join(home, 'temporal.db');
  const logFile = path.join(home, 'temporal-server.log');
  const pidFile = path.join(home, 'temporal-server.pid');
  const uiUrl = opts.headless ? null : `http://localhost:${uiPort}`;

  if (await portOpen(port)) {
    if (await temporalAnswers(address)) {
      const pid = readPid(pidFile);
      // Our own server, started by an older thorbench: give it the search attributes added since.
      if (pid !== null) await registerSearchAttributes(address);
      return { address, uiUrl, startedNow: false, pid, dbFile, logFile };
    }
    throw new DevServerError(
      `port ${port} is in use by something that is not a Temporal server; free it or set TEMPORAL_ADDRESS`,
    );
  }

  const cli = await findTemporalCli();
  if (!cli) throw new DevServerError(TEMPORAL_CLI_HELP);
  mkdirSync(home, { recursive: true });
  const log = openSync(logFile, 'a');
  const args = [
    'server',
    'start-dev',
    '--db-filename',
    dbFile,
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--log-level',
    'warn',
    // Write-ahead log, each commit still synced: a crash or power cut loses no committed state, and a commit costs
    // one sync instead of a rollback journal's create, syncs and delete (docs/architecture.md, "Orchestration cost").
    ...SQLITE_PRAGMAS.flatMap((p) => ['--sqlite-pragma', p]),
    ...DYNAMIC_CONFIG.flatMap((c) => ['--dynamic-config-value', c]),
  ];
  args.push(
    ...(opts.headless ? ['--headless'] : ['--ui-port', String(uiPort)]),
    ...SEARCH_ATTRIBUTE_FLAGS,
    ...(opts.extraArgs ?? []),
  );
  // Detached, in its own session: it outlives this command and serves the next one.
  const child = spawn(cli, args, { detached: true, stdio: ['ignore', log, log] });
  let exited: number | null = null;
  child.once('exit', (code) => (exited = code ?? -1));
  child.unref();
  writeFileSync(pidFile, String(child.pid));

  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    if (exited !== null)
      throw new DevServerError(`temporal server start-dev exited with ${exited}; see ${logFile}:\n${tailOf(logFile)}`);
    if ((await portOpen(port)) && (await temporalAnswers(address)))
      return { address, uiUrl, startedNow: true, pid: child.pid ?? null, dbFile, logFile };
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new DevServerError(
    `temporal server start-dev did not answer on ${address} within ${(opts.startTimeoutMs ?? 60_000) / 1000} s; see ${logFile}`,
  );
}

// @temporalio/proto is CommonJS: take the enum from its default export.
const { IndexedValueType } = proto.temporal.api.enums.v1;

/** Registers thorbench's search attributes the server lacks, in the default namespace (`start-dev` flags do it too). */
export async function registerSearchAttributes(address: string, namespace = 'default'): Promise<string[]> {
  const connection = await Connection.connect({ address, connectTimeout: 2_000 });
  try {
    const have = (await connection.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {};
    const missing = Object.values(SEARCH_ATTRIBUTES).filter((k) => !(k.name in have));
    if (missing.length === 0) return [];
    const searchAttributes = Object.fromEntries(
      missing.map((k) => [
        k.name,
        k.type === SearchAttributeType.KEYWORD
          ? IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
          : k.type === SearchAttributeType.BOOL
            ? IndexedValueType.INDEXED_VALUE_TYPE_BOOL
            : IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
      ]),
    );
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
    return missing.map((k) => k.name);
  } finally {
    await connection.close();
  }
}

/**
 * Stops the server this home started (the tests do; the CLI leaves the embedded server running for the next command,
 * and a user stops it with `kill $(cat .thorbench/temporal-server.pid)`).
 */
export function stopDevServer(home: string, signal: NodeJS.Signals = 'SIGTERM'): boolean {
  const pidFile = path.join(path.resolve(home), 'temporal-server.pid');
  const pid = readPid(pidFile);
  if (pid === null) return false;
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
  rmSync(pidFile, { force: true });
  return true;
}

function readPid(file: string): number | null {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function tailOf(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
