/**
 * The results store's statements and rules, written once for both databases: the SQLite store
 * (store/sqlite-store.ts) and the PostgreSQL one (store/postgres-store.ts) each supply a connection (SqlBackend)
 * and how to open a transaction on it; the SQL here takes what the two spell differently from the dialect
 * (store/sql-dialect.ts). Statements use `?` placeholders, numbered by the PostgreSQL connection.
 *
 * recordCell's insert-or-update runs in one transaction: `INSERT … ON CONFLICT DO NOTHING` creates the row exactly
 * once whoever races, and the lock on the row read afterwards (PostgreSQL's `FOR UPDATE`, SQLite's write lock taken
 * by BEGIN IMMEDIATE) makes the succeeded-row check and its update atomic.
 */
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
import { type DeviceRow, fromDeviceRow } from './devices.js';
import type { SqlDialect } from './sql-dialect.js';
import {
  artifactBytes,
  checkDeviceInventory,
  checkFinishState,
  checkSweepStart,
  type CellRowMeta,
  experimentJsonText,
  fromRegressionRow,
  noSweepError,
  readOnlyError,
  type RecordCellResult,
  type RegressionRow,
  type RegressionVerdict,
  type ResultsBackend,
  type ResultsStore,
} from './store.js';
import type { SweepRecord, SweepStart, SweepState } from './sweep.js';

/** A value bound to a `?` placeholder. */
export type SqlValue = string | number | Buffer | null;

/** One database connection (or a transaction on one), as the shared store uses it. */
export interface SqlBackend {
  readonly backend: ResultsBackend;
  readonly dialect: SqlDialect;
  /** The SQLite file, or the PostgreSQL URL without its password: for messages. */
  readonly location: string;
  readonly readonly: boolean;
  /** The rows of a query. */
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Runs a statement; how many rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /** Runs `fn` on a connection inside one write transaction, or inside the transaction already open. */
  atomically<T>(fn: (tx: SqlBackend) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const CELL_KEY = 'sweep_id = ? AND cell_id = ? AND repeat = ?';
const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

export class SqlResultsStore implements ResultsStore {
  readonly backend: ResultsBackend;
  readonly location: string;
  private readonly d: SqlDialect;

  constructor(private readonly db: SqlBackend) {
    this.backend = db.backend;
    this.location = db.location;
    this.d = db.dialect;
  }

  private checkWritable(): void {
    if (this.db.readonly) throw readOnlyError(this.location);
  }

  close(): Promise<void> {
    return this.db.close();
  }

  transaction<T>(fn: (tx: ResultsStore) => Promise<T>): Promise<T> {
    return this.db.atomically((tx) => fn(new SqlResultsStore(tx)));
  }

  async upsertSweep(start: SweepStart): Promise<void> {
    this.checkWritable();
    checkSweepStart(start);
    const { least, collate } = this.d;
    await this.db.run(
      `INSERT INTO sweeps (sweep_id, experiment_name, experiment_json, workflow_id, simulated, started_at, finished_at, state, planned_cells)
       VALUES (?, ?, ?, ?, ?, ?, NULL, 'running', ?)
       ON CONFLICT (sweep_id) DO UPDATE SET
         experiment_name = excluded.experiment_name,
         experiment_json = excluded.experiment_json,
         workflow_id = COALESCE(excluded.workflow_id, sweeps.workflow_id),
         simulated = excluded.simulated,
         planned_cells = excluded.planned_cells,
         started_at = ${least}(sweeps.started_at${collate}, excluded.started_at${collate}),
         finished_at = NULL,
         state = 'running'`,
      [
        start.sweepId,
        start.experimentName,
        experimentJsonText(start),
        start.workflowId ?? null,
        start.simulated ? 1 : 0,
        start.startedAt,
        start.plannedCells,
      ],
    );
  }

  async finishSweep(sweepId: string, state: SweepState, finishedAt: string): Promise<void> {
    this.checkWritable();
    checkFinishState(sweepId, state);
    const changed = await this.db.run('UPDATE sweeps SET state = ?, finished_at = ? WHERE sweep_id = ?', [
      state,
      finishedAt,
      sweepId,
    ]);
    if (changed === 0) throw noSweepError(sweepId, this.location);
  }

  async getSweep(sweepId: string): Promise<SweepRecord | null> {
    const [row] = await this.db.all<SweepRow>('SELECT * FROM sweeps WHERE sweep_id = ?', [sweepId]);
    return row === undefined ? null : fromSweepRow(row);
  }

  async listSweeps(): Promise<SweepRecord[]> {
    const { collate, sweepsInsertionOrder } = this.d;
    const rows = await this.db.all<SweepRow>(
      `SELECT * FROM sweeps ORDER BY started_at${collate} DESC, ${sweepsInsertionOrder} DESC`,
    );
    return rows.map(fromSweepRow);
  }

  async recordCell(record: CellRecord): Promise<RecordCellResult> {
    this.checkWritable();
    validateCellRecord(record);
    const row = toCellRow(record) as unknown as Record<string, SqlValue>;
    const recordedAt = new Date().toISOString();
    const key = [record.sweepId, record.cellId, record.repeat];
    return this.db.atomically(async (tx) => {
      const inserted = await tx.run(
        `INSERT INTO cells (${CELL_COLUMNS.join(', ')}, recorded_at, attempts) ` +
          `VALUES (${placeholders(CELL_COLUMNS.length + 1)}, 1) ON CONFLICT (sweep_id, cell_id, repeat) DO NOTHING`,
        [...CELL_COLUMNS.map((c) => row[c] ?? null), recordedAt],
      );
      if (inserted === 1) return { inserted: true, replaced: false, attempts: 1 };
      const [existing] = await tx.all<{ status: string; attempts: number }>(
        `SELECT status, attempts FROM cells WHERE ${CELL_KEY}${this.d.forUpdate}`,
        key,
      );
      if (existing!.status === 'succeeded') {
        // The first successful measurement stands: a retried or resumed step must not replace real numbers.
        await tx.run(`UPDATE cells SET attempts = attempts + 1 WHERE ${CELL_KEY}`, key);
        return { inserted: false, replaced: false, attempts: existing!.attempts + 1 };
      }
      await tx.run(
        `UPDATE cells SET ${CONTENT_COLUMNS.map((c) => `${c} = ?`).join(', ')}, recorded_at = ?, ` +
          `attempts = attempts + 1 WHERE ${CELL_KEY}`,
        [...CONTENT_COLUMNS.map((c) => row[c] ?? null), recordedAt, ...key],
      );
      return { inserted: false, replaced: true, attempts: existing!.attempts + 1 };
    });
  }

  async getCell(sweepId: string, cellId: string, repeat: number): Promise<CellRecord | null> {
    const [row] = await this.db.all<CellRow>(`SELECT * FROM cells WHERE ${CELL_KEY}`, [sweepId, cellId, repeat]);
    return row === undefined ? null : fromCellRow(row);
  }

  async getCellMeta(sweepId: string, cellId: string, repeat: number): Promise<CellRowMeta | null> {
    const [row] = await this.db.all<{ attempts: number; recorded_at: string }>(
      `SELECT attempts, recorded_at FROM cells WHERE ${CELL_KEY}`,
      [sweepId, cellId, repeat],
    );
    return row === undefined ? null : { attempts: row.attempts, recordedAt: row.recorded_at };
  }

  async listCells(sweepId: string): Promise<CellRecord[]> {
    const rows = await this.db.all<CellRow>(
      `SELECT * FROM cells WHERE sweep_id = ? ORDER BY position, repeat, cell_id${this.d.collate}`,
      [sweepId],
    );
    return rows.map(fromCellRow);
  }

  async completedCellKeys(sweepId: string): Promise<string[]> {
    const rows = await this.db.all<{ cell_id: string }>(
      `SELECT cell_id FROM cells WHERE sweep_id = ? AND status = 'succeeded' ORDER BY position, repeat, cell_id${this.d.collate}`,
      [sweepId],
    );
    return rows.map((r) => r.cell_id);
  }

  async countRows(sweepId: string): Promise<number> {
    const [row] = await this.db.all<{ n: number }>(
      'SELECT CAST(COUNT(*) AS INTEGER) AS n FROM cells WHERE sweep_id = ?',
      [sweepId],
    );
    return row!.n;
  }

  async duplicateKeys(sweepId: string): Promise<string[]> {
    const rows = await this.db.all<{ cell_id: string }>(
      `SELECT cell_id FROM cells WHERE sweep_id = ? GROUP BY cell_id HAVING COUNT(*) > 1 ORDER BY cell_id${this.d.collate}`,
      [sweepId],
    );
    return rows.map((r) => r.cell_id);
  }

  async putArtifact(sweepId: string, cellId: string, name: string, content: Buffer | string): Promise<void> {
    this.checkWritable();
    const bytes = artifactBytes(sweepId, cellId, name, content);
    await this.db.run(
      `INSERT INTO artifacts (sweep_id, cell_id, name, content, size, recorded_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (sweep_id, cell_id, name) DO UPDATE SET content = excluded.content, size = excluded.size, recorded_at = excluded.recorded_at`,
      [sweepId, cellId, name, bytes, bytes.length, new Date().toISOString()],
    );
  }

  async getArtifact(sweepId: string, cellId: string, name: string): Promise<Buffer | null> {
    const [row] = await this.db.all<{ content: Buffer }>(
      'SELECT content FROM artifacts WHERE sweep_id = ? AND cell_id = ? AND name = ?',
      [sweepId, cellId, name],
    );
    return row?.content ?? null;
  }

  async listStoredArtifacts(sweepId: string, cellId: string): Promise<string[]> {
    const rows = await this.db.all<{ name: string }>(
      `SELECT name FROM artifacts WHERE sweep_id = ? AND cell_id = ? ORDER BY name${this.d.collate}`,
      [sweepId, cellId],
    );
    return rows.map((r) => r.name);
  }

  async recordRegression(verdict: RegressionVerdict): Promise<void> {
    this.checkWritable();
    await this.db.run(
      `INSERT INTO regressions (sweep_id, baseline_id, regression, comparison_json, compared_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (sweep_id) DO UPDATE SET
         baseline_id = excluded.baseline_id,
         regression = excluded.regression,
         comparison_json = excluded.comparison_json,
         compared_at = excluded.compared_at`,
      [
        verdict.sweepId,
        verdict.baseline,
        verdict.regression ? 1 : 0,
        JSON.stringify(verdict.comparison),
        verdict.comparedAt,
      ],
    );
  }

  async getRegression(sweepId: string): Promise<RegressionVerdict | null> {
    const [row] = await this.db.all<RegressionRow>('SELECT * FROM regressions WHERE sweep_id = ?', [sweepId]);
    return row === undefined ? null : fromRegressionRow(row);
  }

  async registerDevice(inventory: DeviceInventory, worker: string, seenAt: string): Promise<void> {
    this.checkWritable();
    checkDeviceInventory(inventory);
    // A restarted worker (a new identity) registers anew; last-seen only moves forward, comparing ISO strings.
    const { greatest, collate } = this.d;
    await this.db.run(
      `INSERT INTO devices (device_id, simulated, model, l4t_release, memory_total_mb, inventory_json, worker,
                            registered_at, last_seen_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (device_id) DO UPDATE SET
         simulated = excluded.simulated, model = excluded.model, l4t_release = excluded.l4t_release,
         memory_total_mb = excluded.memory_total_mb, inventory_json = excluded.inventory_json,
         worker = excluded.worker,
         registered_at = CASE WHEN devices.worker = excluded.worker THEN devices.registered_at
                              ELSE excluded.registered_at END,
         last_seen_at = ${greatest}(devices.last_seen_at${collate}, excluded.last_seen_at${collate})`,
      [
        inventory.deviceId,
        inventory.simulated ? 1 : 0,
        inventory.model,
        inventory.l4tRelease,
        inventory.memoryTotalMb,
        JSON.stringify(inventory),
        worker,
        seenAt,
        seenAt,
      ],
    );
  }

  async markDeviceSeen(deviceId: string, worker: string, seenAt: string): Promise<boolean> {
    this.checkWritable();
    const { greatest, collate } = this.d;
    const changed = await this.db.run(
      `UPDATE devices SET last_seen_at = ${greatest}(last_seen_at${collate}, ?${collate}), worker = ? WHERE device_id = ?`,
      [seenAt, worker, deviceId],
    );
    return changed > 0;
  }

  async listDevices(): Promise<DeviceRecord[]> {
    const rows = await this.db.all<DeviceRow>(
      `SELECT device_id, inventory_json, worker, registered_at, last_seen_at FROM devices ORDER BY device_id${this.d.collate}`,
    );
    return rows.map(fromDeviceRow);
  }
}
