/**
 * The results store: every cell outcome of every sweep, and the artifacts a remote device sent along.
 *
 * Two implementations behind one interface: SQLite (store/sqlite-store.ts), one file on the machine that runs the
 * sweep worker, the default; and PostgreSQL (store/postgres-store.ts), selected by THORBENCH_RESULTS_URL, which a
 * lab's sweep worker, device workers and CLI all reach over the network. Both keep the same tables, the same
 * idempotency rules and pass the same tests (test/store.test.ts).
 *
 * Idempotency is the store's job, not the caller's: recordCell is keyed by (sweep, cell, repeat), so a retried
 * activity or a resumed sweep can call it any number of times and still leave exactly one row.
 */
import type { RegressionComparison } from '../report/regression.js';
import type { DeviceInventory } from '../schema/device-inventory.js';
import type { CellRecord } from '../schema/outcome.js';
import { ARTIFACT_ID_PATTERN, MAX_STORED_ARTIFACT_BYTES, SWEEP_ID_PATTERN } from './artifacts.js';
import type { DeviceStore } from './devices.js';
import { isSweepState, type SweepRecord, type SweepStart, type SweepState } from './sweep.js';

/** Where the CLI and the workers keep results unless told otherwise. */
export const DEFAULT_RESULTS_DB = 'results/thorbench.db';

export interface OpenResultsStoreOptions {
  /** Open for reading only (the CLI's status/report commands); the database must exist and be migrated. */
  readonly?: boolean;
  /** SQLite: how long a statement waits for another connection's write lock before failing. Default 10 s. */
  busyTimeoutMs?: number;
}

/** Outcome of one recordCell call. */
export interface RecordCellResult {
  /** A new row was created (first record of this (sweep, cell, repeat)). */
  inserted: boolean;
  /** An existing, not-succeeded row had its content replaced by this record. */
  replaced: boolean;
  /** How many times recordCell has been called for this key, this call included. */
  attempts: number;
}

/** A sweep's comparison against its baseline (scheduled regression watch), as recorded after the sweep. */
export interface RegressionVerdict {
  sweepId: string;
  baseline: string;
  /** At least one metric regressed beyond noise. */
  regression: boolean;
  comparison: RegressionComparison;
  comparedAt: string;
}

/** A row of the `regressions` table (both stores). */
export interface RegressionRow {
  sweep_id: string;
  baseline_id: string;
  regression: number;
  comparison_json: string;
  compared_at: string;
}

export function fromRegressionRow(row: RegressionRow): RegressionVerdict {
  return {
    sweepId: row.sweep_id,
    baseline: row.baseline_id,
    regression: row.regression === 1,
    comparison: JSON.parse(row.comparison_json) as RegressionComparison,
    comparedAt: row.compared_at,
  };
}

/** Bookkeeping the store keeps per cell row beside the CellRecord itself. */
export interface CellRowMeta {
  attempts: number;
  recordedAt: string;
}

export type ResultsBackend = 'sqlite' | 'postgres';

export interface ResultsStore extends DeviceStore {
  readonly backend: ResultsBackend;
  /** The SQLite file, or the PostgreSQL URL without its password: for messages. */
  readonly location: string;
  close(): Promise<void>;
  upsertSweep(start: SweepStart): Promise<void>;
  finishSweep(sweepId: string, state: SweepState, finishedAt: string): Promise<void>;
  getSweep(sweepId: string): Promise<SweepRecord | null>;
  /** Newest first (by start time). */
  listSweeps(): Promise<SweepRecord[]>;
  recordCell(record: CellRecord): Promise<RecordCellResult>;
  getCell(sweepId: string, cellId: string, repeat: number): Promise<CellRecord | null>;
  getCellMeta(sweepId: string, cellId: string, repeat: number): Promise<CellRowMeta | null>;
  /** Ordered by planned position, then repeat. */
  listCells(sweepId: string): Promise<CellRecord[]>;
  /** Cell ids (which carry the repeat, e.g. `maxn.locked.qwen3-8b-fp8.high-load.r1`) of succeeded rows. */
  completedCellKeys(sweepId: string): Promise<string[]>;
  countRows(sweepId: string): Promise<number>;
  /** Cell ids that occur in more than one row of the sweep. Always empty unless the table was tampered with. */
  duplicateKeys(sweepId: string): Promise<string[]>;
  /** Records (or replaces: a re-run comparison is the newer verdict) a sweep's comparison against its baseline. */
  recordRegression(verdict: RegressionVerdict): Promise<void>;
  /** The sweep's comparison against its baseline, when it was compared. */
  getRegression(sweepId: string): Promise<RegressionVerdict | null>;
  /** Keeps (or replaces) one artifact of a cell, at most MAX_STORED_ARTIFACT_BYTES. */
  putArtifact(sweepId: string, cellId: string, name: string, content: Buffer | string): Promise<void>;
  /** The stored bytes of an artifact, or null when the store has none by that name. */
  getArtifact(sweepId: string, cellId: string, name: string): Promise<Buffer | null>;
  /** Names of the artifacts stored for a cell, sorted. */
  listStoredArtifacts(sweepId: string, cellId: string): Promise<string[]>;
  /**
   * Runs `fn` in one write transaction: every write it makes through `tx` is committed together, or none is when
   * it throws (thorbench import records all its files or nothing). Use only `tx` inside `fn`.
   */
  transaction<T>(fn: (tx: ResultsStore) => Promise<T>): Promise<T>;
}

/** Checks a device inventory before it is registered, the same for both stores. */
export function checkDeviceInventory(inventory: DeviceInventory): void {
  if (typeof inventory.deviceId !== 'string' || inventory.deviceId === '') {
    throw new Error('registerDevice: deviceId must be a non-empty string');
  }
}

/** True when THORBENCH_RESULTS_URL-style text names a PostgreSQL database rather than a SQLite file. */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/** The URL with its password replaced by `***`, safe to print. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
  }
}

/**
 * Opens the results store at `location`: a `postgres://…` URL selects PostgreSQL, anything else is the path of
 * a SQLite file. Either is migrated to the current schema when opened for writing.
 */
export async function openResultsStore(location: string, options: OpenResultsStoreOptions = {}): Promise<ResultsStore> {
  if (isPostgresUrl(location)) {
    const { openPostgresStore } = await import('./postgres-store.js');
    return openPostgresStore(location, options);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location))
    throw new Error(
      `results store "${redactUrl(location)}": only postgres:// URLs name a database; anything else is a SQLite file's path`,
    );
  const { openSqliteStore } = await import('./sqlite-store.js');
  return openSqliteStore(location, options);
}

// Checks both implementations share, so they fail with the same messages.

export function checkSweepStart(start: SweepStart): void {
  if (typeof start.sweepId !== 'string' || start.sweepId === '')
    throw new Error('upsertSweep: sweepId must be a non-empty string');
  if (!Number.isInteger(start.plannedCells) || start.plannedCells < 0) {
    throw new Error(
      `upsertSweep(${start.sweepId}): plannedCells must be an integer >= 0 (got ${String(start.plannedCells)})`,
    );
  }
}

export function experimentJsonText(start: SweepStart): string {
  return typeof start.experimentJson === 'string' ? start.experimentJson : JSON.stringify(start.experimentJson);
}

export function checkFinishState(sweepId: string, state: SweepState): void {
  if (!isSweepState(state) || state === 'running') {
    throw new Error(`finishSweep(${sweepId}): state must be completed, failed or cancelled (got ${String(state)})`);
  }
}

export function noSweepError(sweepId: string, location: string): Error {
  return new Error(`finishSweep: no sweep "${sweepId}" in ${location}; call upsertSweep when the sweep starts`);
}

export function readOnlyError(location: string): Error {
  return new Error(
    `results database ${location} was opened read-only; open it without { readonly: true } to record results`,
  );
}

/** Validates an artifact's key and size and returns its bytes. */
export function artifactBytes(sweepId: string, cellId: string, name: string, content: Buffer | string): Buffer {
  const keys = [
    ['sweep id', sweepId, SWEEP_ID_PATTERN, '".", "_", ":" or "-"'],
    ['cell id', cellId, ARTIFACT_ID_PATTERN, '".", "_" or "-"'],
    ['artifact name', name, ARTIFACT_ID_PATTERN, '".", "_" or "-"'],
  ] as const;
  for (const [what, value, pattern, chars] of keys) {
    if (typeof value !== 'string' || !pattern.test(value) || value.length > 200) {
      throw new Error(`putArtifact: ${what} ${JSON.stringify(value)} must be 1-200 letters, digits, ${chars}`);
    }
  }
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  if (bytes.length > MAX_STORED_ARTIFACT_BYTES) {
    throw new Error(
      `artifact ${sweepId}/${cellId}/${name} is ${bytes.length} bytes, more than the store keeps ` +
        `(${MAX_STORED_ARTIFACT_BYTES}); it stays on the device's disk`,
    );
  }
  return bytes;
}
