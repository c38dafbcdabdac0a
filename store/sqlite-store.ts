/**
 * The SQLite results store: one file (default `results/thorbench.db`) beside the sweep worker.
 *
 * Why SQLite in WAL mode: the worker writes while `thorbench status`/`report` read from another process; WAL lets
 * readers see the last committed state without blocking the writer, and busy_timeout makes a second writer wait
 * instead of failing. Writes are rare (one per cell), so synchronous=FULL is kept: a Thor that loses power right
 * after a cell was recorded must not lose that record, or the cell would be benchmarked again.
 *
 * better-sqlite3 is synchronous; the ResultsStore interface is asynchronous for PostgreSQL's sake. Every call here
 * runs to completion before it returns, so the only interleaving to guard against is another caller writing
 * while `transaction` awaits its function: those callers wait for the transaction to end (`gate`).
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { DeviceInventory, DeviceRecord } from '../schema/device-inventory.js';
import type { CellRecord } from '../schema/outcome.js';
import {
  CELL_COLUMNS,
  CONTENT_COLUMNS,
  type CellRow,
  fromCellRow,
  fromSweepRow,
  type SweepRow,
  toCellRow,
  validateCellRecord,
} from './cell-row.js';
import { type DeviceStatements, deviceStatements } from './devices.js';
import { migrate, SCHEMA_VERSION, schemaVersion } from './migrations.js';
import {
  artifactBytes,
  checkFinishState,
  checkSweepStart,
  type CellRowMeta,
  experimentJsonText,
  fromRegressionRow,
  noSweepError,
  type OpenResultsStoreOptions,
  readOnlyError,
  type RecordCellResult,
  type RegressionRow,
  type RegressionVerdict,
  type ResultsStore,
} from './store.js';
import type { SweepRecord, SweepStart, SweepState } from './sweep.js';

export function openSqliteStore(dbPath: string, options: OpenResultsStoreOptions = {}): ResultsStore {
  const readonly = options.readonly ?? false;
  if (readonly && !fs.existsSync(dbPath)) {
    throw new Error(
      `no results database at ${dbPath}: run a sweep first, or pass the path of an existing thorbench.db`,
    );
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
            (version < SCHEMA_VERSION
              ? 'open it once for writing (any sweep or `thorbench report`) to migrate it'
              : 'upgrade thorbench'),
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
  return new SqliteStore(new SqliteOps(db, dbPath));
}

/** The store's operations, synchronous as better-sqlite3 is. */
class SqliteOps {
  private readonly stmt;
  private readonly recordTx;
  readonly devices: DeviceStatements;

  constructor(
    readonly db: Database.Database,
    readonly location: string,
  ) {
    const readonly = db.readonly;
    this.devices = deviceStatements(db);
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
      finishSweep: prepareWrite(
        `UPDATE sweeps SET state = @state, finished_at = @finished_at WHERE sweep_id = @sweep_id`,
      ),
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
      bumpAttempts: prepareWrite(
        `UPDATE cells SET attempts = attempts + 1 WHERE sweep_id = ? AND cell_id = ? AND repeat = ?`,
      ),
      getCell: db.prepare(`SELECT * FROM cells WHERE sweep_id = ? AND cell_id = ? AND repeat = ?`),
      getCellMeta: db.prepare(
        `SELECT attempts, recorded_at FROM cells WHERE sweep_id = ? AND cell_id = ? AND repeat = ?`,
      ),
      listCells: db.prepare(`SELECT * FROM cells WHERE sweep_id = ? ORDER BY position, repeat, cell_id`),
      completed: db.prepare(
        `SELECT cell_id FROM cells WHERE sweep_id = ? AND status = 'succeeded' ORDER BY position, repeat, cell_id`,
      ),
      countRows: db.prepare(`SELECT COUNT(*) AS n FROM cells WHERE sweep_id = ?`),
      duplicates: db.prepare(
        `SELECT cell_id FROM cells WHERE sweep_id = ? GROUP BY cell_id HAVING COUNT(*) > 1 ORDER BY cell_id`,
      ),
      putArtifact: prepareWrite(`
        INSERT INTO artifacts (sweep_id, cell_id, name, content, size, recorded_at) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (sweep_id, cell_id, name) DO UPDATE SET content = excluded.content, size = excluded.size, recorded_at = excluded.recorded_at`),
      getArtifact: db.prepare(`SELECT content FROM artifacts WHERE sweep_id = ? AND cell_id = ? AND name = ?`),
      listArtifacts: db.prepare(`SELECT name FROM artifacts WHERE sweep_id = ? AND cell_id = ? ORDER BY name`),
      recordRegression: prepareWrite(`
        INSERT INTO regressions (sweep_id, baseline_id, regression, comparison_json, compared_at)
        VALUES (@sweep_id, @baseline_id, @regression, @comparison_json, @compared_at)
        ON CONFLICT (sweep_id) DO UPDATE SET
          baseline_id = excluded.baseline_id,
          regression = excluded.regression,
          comparison_json = excluded.comparison_json,
          compared_at = excluded.compared_at`),
      getRegression: db.prepare(`SELECT * FROM regressions WHERE sweep_id = ?`),
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
    if (stmt === null) throw readOnlyError(this.location);
    return stmt;
  }

  upsertSweep(start: SweepStart): void {
    checkSweepStart(start);
    this.write(this.stmt.upsertSweep).run({
      sweep_id: start.sweepId,
      experiment_name: start.experimentName,
      experiment_json: experimentJsonText(start),
      workflow_id: start.workflowId ?? null,
      simulated: start.simulated ? 1 : 0,
      started_at: start.startedAt,
      planned_cells: start.plannedCells,
    });
  }

  finishSweep(sweepId: string, state: SweepState, finishedAt: string): void {
    checkFinishState(sweepId, state);
    const info = this.write(this.stmt.finishSweep).run({ sweep_id: sweepId, state, finished_at: finishedAt });
    if (info.changes === 0) throw noSweepError(sweepId, this.location);
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
    const row = this.stmt.getCellMeta.get(sweepId, cellId, repeat) as
      { attempts: number; recorded_at: string } | undefined;
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

  putArtifact(sweepId: string, cellId: string, name: string, content: Buffer | string): void {
    const bytes = artifactBytes(sweepId, cellId, name, content);
    this.write(this.stmt.putArtifact).run(sweepId, cellId, name, bytes, bytes.length, new Date().toISOString());
  }

  getArtifact(sweepId: string, cellId: string, name: string): Buffer | null {
    const row = this.stmt.getArtifact.get(sweepId, cellId, name) as { content: Buffer } | undefined;
    return row === undefined ? null : row.content;
  }

  listStoredArtifacts(sweepId: string, cellId: string): string[] {
    return (this.stmt.listArtifacts.all(sweepId, cellId) as { name: string }[]).map((r) => r.name);
  }

  recordRegression(verdict: RegressionVerdict): void {
    this.write(this.stmt.recordRegression).run({
      sweep_id: verdict.sweepId,
      baseline_id: verdict.baseline,
      regression: verdict.regression ? 1 : 0,
      comparison_json: JSON.stringify(verdict.comparison),
      compared_at: verdict.comparedAt,
    });
  }

  getRegression(sweepId: string): RegressionVerdict | null {
    const row = this.stmt.getRegression.get(sweepId) as RegressionRow | undefined;
    return row === undefined ? null : fromRegressionRow(row);
  }
}

/**
 * The ResultsStore over SqliteOps, as a transaction sees it. `gate` runs before each operation: the open store
 * (SqliteStore) waits there for a transaction in progress.
 */
class SqliteResultsStore implements ResultsStore {
  readonly backend = 'sqlite' as const;
  readonly location: string;

  constructor(protected readonly ops: SqliteOps) {
    this.location = ops.location;
  }

  protected gate(): Promise<void> | null {
    return null;
  }

  private async run<T>(op: () => T): Promise<T> {
    const wait = this.gate();
    if (wait) await wait;
    return op();
  }

  upsertSweep(start: SweepStart) {
    return this.run(() => this.ops.upsertSweep(start));
  }
  finishSweep(sweepId: string, state: SweepState, finishedAt: string) {
    return this.run(() => this.ops.finishSweep(sweepId, state, finishedAt));
  }
  getSweep(sweepId: string) {
    return this.run(() => this.ops.getSweep(sweepId));
  }
  listSweeps() {
    return this.run(() => this.ops.listSweeps());
  }
  recordCell(record: CellRecord) {
    return this.run(() => this.ops.recordCell(record));
  }
  getCell(sweepId: string, cellId: string, repeat: number) {
    return this.run(() => this.ops.getCell(sweepId, cellId, repeat));
  }
  getCellMeta(sweepId: string, cellId: string, repeat: number) {
    return this.run(() => this.ops.getCellMeta(sweepId, cellId, repeat));
  }
  listCells(sweepId: string) {
    return this.run(() => this.ops.listCells(sweepId));
  }
  completedCellKeys(sweepId: string) {
    return this.run(() => this.ops.completedCellKeys(sweepId));
  }
  countRows(sweepId: string) {
    return this.run(() => this.ops.countRows(sweepId));
  }
  duplicateKeys(sweepId: string) {
    return this.run(() => this.ops.duplicateKeys(sweepId));
  }
  putArtifact(sweepId: string, cellId: string, name: string, content: Buffer | string) {
    return this.run(() => this.ops.putArtifact(sweepId, cellId, name, content));
  }
  getArtifact(sweepId: string, cellId: string, name: string) {
    return this.run(() => this.ops.getArtifact(sweepId, cellId, name));
  }
  listStoredArtifacts(sweepId: string, cellId: string) {
    return this.run(() => this.ops.listStoredArtifacts(sweepId, cellId));
  }
  recordRegression(verdict: RegressionVerdict) {
    return this.run(() => this.ops.recordRegression(verdict));
  }
  getRegression(sweepId: string) {
    return this.run(() => this.ops.getRegression(sweepId));
  }
  registerDevice(inventory: DeviceInventory, worker: string, seenAt: string) {
    return this.run(() => this.ops.devices.registerDevice(inventory, worker, seenAt));
  }
  markDeviceSeen(deviceId: string, worker: string, seenAt: string) {
    return this.run(() => this.ops.devices.markDeviceSeen(deviceId, worker, seenAt));
  }
  listDevices(): Promise<DeviceRecord[]> {
    return this.run(() => this.ops.devices.listDevices());
  }

  async close(): Promise<void> {
    throw new Error('close the store, not its transaction');
  }

  async transaction<T>(fn: (tx: ResultsStore) => Promise<T>): Promise<T> {
    // Only reached on a transaction's view: nested transactions join the open one.
    return fn(this);
  }
}

/** The open store: owns the connection and serialises transactions against every other caller. */
class SqliteStore extends SqliteResultsStore {
  /** Set while a transaction is open; other callers wait for it before touching the connection. */
  private openTx: Promise<void> | null = null;

  protected override gate(): Promise<void> | null {
    return this.openTx ? this.waitForTx() : null;
  }

  private async waitForTx(): Promise<void> {
    while (this.openTx) await this.openTx;
  }

  override async close(): Promise<void> {
    if (this.ops.db.open) this.ops.db.close();
  }

  override async transaction<T>(fn: (tx: ResultsStore) => Promise<T>): Promise<T> {
    await this.waitForTx();
    let release = () => {};
    this.openTx = new Promise<void>((resolve) => (release = resolve));
    const tx = new SqliteResultsStore(this.ops);
    this.ops.db.exec('BEGIN IMMEDIATE');
    try {
      const result = await fn(tx);
      this.ops.db.exec('COMMIT');
      return result;
    } catch (err) {
      if (this.ops.db.inTransaction) this.ops.db.exec('ROLLBACK');
      throw err;
    } finally {
      this.openTx = null;
      release();
    }
  }
}
