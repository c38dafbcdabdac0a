/**
 * The results store: every cell outcome of every sweep, in one SQLite file (default `results/thorbench.db`).
 *
 * Why SQLite in WAL mode: the worker writes while `thorbench status`/`report` read from another process; WAL lets
 * readers see the last committed state without blocking the writer, and busy_timeout makes a second writer wait
 * instead of failing. Writes are rare (one per cell), so synchronous=FULL is kept: a Thor that loses power right
 * after a cell was recorded must not lose that record, or the cell would be benchmarked again.
 *
 * Idempotency is the store's job, not the caller's: recordCell is keyed by (sweep, cell, repeat), so a retried
 * activity or a resumed sweep can call it any number of times and still leave exactly one row.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { CellRecord } from '../schema/outcome.js';
import { type CellRow, fromCellRow, HEADLINE_METRICS, toCellRow, validateCellRecord } from './cell-row.js';
import { migrate, SCHEMA_VERSION, schemaVersion } from './migrations.js';
import { isSweepState, type SweepRecord, type SweepStart, SweepState } from './sweep.js';

/** Where the CLI and the workers keep results unless told otherwise. */
export const DEFAULT_RESULTS_DB = 'results/thorbench.db';

export interface OpenResultsStoreOptions {
  /** Open for reading only (the CLI's status/report commands); the file must exist and be migrated. */
  readonly?: boolean;
  /** How long a statement waits for another connection's write lock before failing. Default 10 s. */
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

/** Bookkeeping the store keeps per cell row beside the CellRecord itself. */
export interface CellRowMeta {
  attempts: number;
  recordedAt: string;
}

export interface ResultsStore {
  readonly dbPath: string;
  close(): void;
  upsertSweep(start: SweepStart): void;
  finishSweep(sweepId: string, state: SweepState, finishedAt: string): void;
  getSweep(sweepId: string): SweepRecord | null;
  /** Newest first (by start time). */
  listSweeps(): SweepRecord[];
  recordCell(record: CellRecord): RecordCellResult;
  getCell(sweepId: string, cellId: string, repeat: number): CellRecord | null;
  getCellMeta(sweepId: string, cellId: string, repeat: number): CellRowMeta | null;
  /** Ordered by planned position, then repeat. */
  listCells(sweepId: string): CellRecord[];
  /** Cell ids (which carry the repeat, e.g. `maxn.locked.qwen3-8b-fp8.high-load.r1`) of succeeded rows. */
  completedCellKeys(sweepId: string): string[];
  countRows(sweepId: string): number;
  /** Cell ids that occur in more than one row of the sweep. Always empty unless the table was tampered with. */
  duplicateKeys(sweepId: string): string[];
  /**
   * Runs `fn` in one write transaction: every store write it makes is committed together, or none is when it throws
   * (thorbench import records all its files or nothing).
   */
  transaction<T>(fn: () => T): T;
}

interface SweepRow {
  sweep_id: string;
  experiment_name: string;
  experiment_json: string;
  workflow_id: string | null;
  simulated: number;
  started_at: string;
  finished_at: string | null;
  state: string;
  planned_cells: number;
}

function fromSweepRow(row: SweepRow): SweepRecord {
  if (!isSweepState(row.state)) throw new Error(`results database: sweep ${row.sweep_id} has unknown state "${row.state}"`);
  return {
    sweepId: row.sweep_id,
    experimentName: row.experiment_name,
    experimentJson: row.experiment_json,
    workflowId: row.workflow_id,
    simulated: row.simulated === 1,
    plannedCells: row.planned_cells,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    state: row.state,
  };
}

const CELL_COLUMNS = [
  'sweep_id', 'cell_id', 'repeat', 'experiment_name', 'status', 'failure_type', 'failure_message', 'failure_retryable', 'failure_step',
  'position', 'power', 'clocks', 'model_id', 'quantization', 'model_size', 'scenario', ...HEADLINE_METRICS,
  'metrics_json', 'steps_json', 'device_json', 'engine_json', 'harness_json', 'artifacts_dir', 'simulated', 'started_at', 'finished_at',
] as const;
const CONTENT_COLUMNS = CELL_COLUMNS.filter((c) => c !== 'sweep_id' && c !== 'cell_id' && c !== 'repeat');

export function openResultsStore(dbPath: string, options: OpenResultsStoreOptions = {}): ResultsStore {
  const readonly = options.readonly ?? false;
  if (readonly && !fs.existsSync(dbPath)) {
    throw new Error(`no results database at ${dbPath}: run a sweep first, or pass the path of an existing thorbench.db`);
  }
  if (!readonly) fs.mkdirSync(path.dirname(path.resolve(dbPath)), { recursive: true });

  const db = new Database(dbPath, { readonly, timeout: options.busyTimeoutMs ?? 10_000 });
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 10_000))}`);
    if (readonly) {
      const version = schemaVersion(db);
      if (version !== SCHEMA_VERSION) {
        throw new Error(
          `results database ${dbPath} has schema version ${version} but this thorbench reads version ${SCHEMA_VERSION}; ` +
            (version < SCHEMA_VERSION ? 'open it once for writing (any sweep or `thorbench report`) to migrate it' : 'upgrade thorbench'),
        );
      }
    } else {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      migrate(db, dbPath);
    }
  } catch (err) {
    db.close();
    throw err;
  }
  return new SqliteResultsStore(db, dbPath);
}

class SqliteResultsStore implements ResultsStore {
  private readonly stmt;
  private readonly recordTx;

  constructor(
    private readonly db: Database.Database,
    readonly dbPath: string,
  ) {
    const readonly = db.readonly;
    const prepareWrite = (sql: string): Database.Statement | null => (readonly ? null : db.prepare(sql));
    this.stmt = {
      upsertSweep: prepareWrite(`
        INSERT INTO sweeps (sweep_id, experiment_name, experiment_json, workflow_id, simulated, started_at, finished_at, state, planned_cells)
        VALUES (@sweep_id, @experiment_name, @experiment_json, @workflow_id, @simulated, @started_at, NULL, 'running', @planned_cells)
        ON CONFLICT (sweep_id) DO UPDATE SET
          experiment_name = excluded.experiment_name,
          experiment_json = excluded.experiment_json,
          workflow_id = COALESCE(excluded.workflow_id, sweeps.workflow_id),
          simulated = excluded.simulated,
          planned_cells = excluded.planned_cells,
          started_at = MIN(sweeps.started_at, excluded.started_at),
          finished_at = NULL,
          state = 'running'`),
      finishSweep: prepareWrite(`UPDATE sweeps SET state = @state, finished_at = @finished_at WHERE sweep_id = @sweep_id`),
      getSweep: db.prepare(`SELECT * FROM sweeps WHERE sweep_id = ?`),
      listSweeps: db.prepare(`SELECT * FROM sweeps ORDER BY started_at DESC, rowid DESC`),
      existing: db.prepare(`SELECT status, attempts FROM cells WHERE sweep_id = ? AND cell_id = ? AND repeat = ?`),
      insertCell: prepareWrite(
        `INSERT INTO cells (${CELL_COLUMNS.join(', ')}, recorded_at, attempts) VALUES (${CELL_COLUMNS.map((c) => `@${c}`).join(', ')}, @recorded_at, 1)`,
      ),
      replaceCell: prepareWrite(
        `UPDATE cells SET ${CONTENT_COLUMNS.map((c) => `${c} = @${c}`).join(', ')}, recorded_at = @recorded_at, attempts = attempts + 1
         WHERE sweep_id = @sweep_id AND cell_id = @cell_id AND repeat = @repeat`,
      ),
      bumpAttempts: prepareWrite(`UPDATE cells SET attempts = attempts + 1 WHERE sweep_id = ? AND cell_id = ? AND repeat = ?`),
      getCell: db.prepare(`SELECT * FROM cells WHERE sweep_id = ? AND cell_id = ? AND repeat = ?`),
      getCellMeta: db.prepare(`SELECT attempts, recorded_at FROM cells WHERE sweep_id = ? AND cell_id = ? AND repeat = ?`),
      listCells: db.prepare(`SELECT * FROM cells WHERE sweep_id = ? ORDER BY position, repeat, cell_id`),
      completed: db.prepare(`SELECT cell_id FROM cells WHERE sweep_id = ? AND status = 'succeeded' ORDER BY position, repeat, cell_id`),
      countRows: db.prepare(`SELECT COUNT(*) AS n FROM cells WHERE sweep_id = ?`),
      duplicates: db.prepare(`SELECT cell_id FROM cells WHERE sweep_id = ? GROUP BY cell_id HAVING COUNT(*) > 1 ORDER BY cell_id`),
    };
    this.recordTx = db.transaction((record: CellRecord): RecordCellResult => {
      const key = [record.sweepId, record.cellId, record.repeat] as const;
      const existing = this.stmt.existing.get(...key) as { status: string; attempts: number } | undefined;
      const row = { ...toCellRow(record), recorded_at: new Date().toISOString() };
      if (existing === undefined) {
        this.write(this.stmt.insertCell).run(row);
        return { inserted: true, replaced: false, attempts: 1 };
      }
      if (existing.status === 'succeeded') {
        // The first successful measurement stands: a retried or resumed step must not replace real numbers.
        this.write(this.stmt.bumpAttempts).run(...key);
        return { inserted: false, replaced: false, attempts: existing.attempts + 1 };
      }
      this.write(this.stmt.replaceCell).run(row);
      return { inserted: false, replaced: true, attempts: existing.attempts + 1 };
    });
  }

  private write(stmt: Database.Statement | null): Database.Statement {
    if (stmt === null) throw new Error(`results database ${this.dbPath} was opened read-only; open it without { readonly: true } to record results`);
    return stmt;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  upsertSweep(start: SweepStart): void {
    if (typeof start.sweepId !== 'string' || start.sweepId === '') throw new Error('upsertSweep: sweepId must be a non-empty string');
    if (!Number.isInteger(start.plannedCells) || start.plannedCells < 0) {
      throw new Error(`upsertSweep(${start.sweepId}): plannedCells must be an integer >= 0 (got ${String(start.plannedCells)})`);
    }
    this.write(this.stmt.upsertSweep).run({
      sweep_id: start.sweepId,
      experiment_name: start.experimentName,
      experiment_json: typeof start.experimentJson === 'string' ? start.experimentJson : JSON.stringify(start.experimentJson),
      workflow_id: start.workflowId ?? null,
      simulated: start.simulated ? 1 : 0,
      started_at: start.startedAt,
      planned_cells: start.plannedCells,
    });
  }

  finishSweep(sweepId: string, state: SweepState, finishedAt: string): void {
    if (!isSweepState(state) || state === SweepState.Running) {
      throw new Error(`finishSweep(${sweepId}): state must be completed, failed or cancelled (got ${String(state)})`);
    }
    const info = this.write(this.stmt.finishSweep).run({ sweep_id: sweepId, state, finished_at: finishedAt });
    if (info.changes === 0) throw new Error(`finishSweep: no sweep "${sweepId}" in ${this.dbPath}; call upsertSweep when the sweep starts`);
  }

  getSweep(sweepId: string): SweepRecord | null {
    const row = this.stmt.getSweep.get(sweepId) as SweepRow | undefined;
    return row === undefined ? null : fromSweepRow(row);
  }

  listSweeps(): SweepRecord[] {
    return (this.stmt.listSweeps.all() as SweepRow[]).map(fromSweepRow);
  }

  recordCell(record: CellRecord): RecordCellResult {
    validateCellRecord(record);
    // IMMEDIATE takes the write lock up front, so two writers never deadlock upgrading a read lock.
    return this.recordTx.immediate(record);
  }

  getCell(sweepId: string, cellId: string, repeat: number): CellRecord | null {
    const row = this.stmt.getCell.get(sweepId, cellId, repeat) as CellRow | undefined;
    return row === undefined ? null : fromCellRow(row);
  }

  getCellMeta(sweepId: string, cellId: string, repeat: number): CellRowMeta | null {
    const row = this.stmt.getCellMeta.get(sweepId, cellId, repeat) as { attempts: number; recorded_at: string } | undefined;
    return row === undefined ? null : { attempts: row.attempts, recordedAt: row.recorded_at };
  }

  listCells(sweepId: string): CellRecord[] {
    return (this.stmt.listCells.all(sweepId) as CellRow[]).map(fromCellRow);
  }

  completedCellKeys(sweepId: string): string[] {
    return (this.stmt.completed.all(sweepId) as { cell_id: string }[]).map((r) => r.cell_id);
  }

  countRows(sweepId: string): number {
    return (this.stmt.countRows.get(sweepId) as { n: number }).n;
  }

  duplicateKeys(sweepId: string): string[] {
    return (this.stmt.duplicates.all(sweepId) as { cell_id: string }[]).map((r) => r.cell_id);
  }

  transaction<T>(fn: () => T): T {
    // Writes inside (recordCell's own transaction included) become savepoints of this one.
    return this.db.transaction(fn).immediate() as T;
  }
}
