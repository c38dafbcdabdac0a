/**
 * The PostgreSQL results store, selected by THORBENCH_RESULTS_URL=postgres://…: one database a whole lab reaches
 * over the network, so the sweep worker records cells, device workers send their artifacts, and `thorbench
 * status`/`report` read from any machine.
 *
 * Same tables, same rules as the SQLite store (store/sqlite-store.ts). recordCell's insert-or-update runs in one
 * transaction: `INSERT … ON CONFLICT DO NOTHING` creates the row exactly once whoever races, and the row lock of
 * `SELECT … FOR UPDATE` makes the succeeded-row check and its update atomic.
 */
import pg from 'pg';
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
import { migratePostgres, POSTGRES_MIGRATIONS, postgresSchemaVersion } from './postgres-migrations.js';
import {
  artifactBytes,
  checkDeviceInventory,
  checkFinishState,
  checkSweepStart,
  type CellRowMeta,
  experimentJsonText,
  fromRegressionRow,
  noSweepError,
  type OpenResultsStoreOptions,
  readOnlyError,
  type RecordCellResult,
  redactUrl,
  type RegressionRow,
  type RegressionVerdict,
  type ResultsStore,
} from './store.js';
import type { SweepRecord, SweepStart, SweepState } from './sweep.js';

const SCHEMA_VERSION = POSTGRES_MIGRATIONS.at(-1)?.version ?? 0;

/** SQLite compares text byte by byte; "C" makes PostgreSQL do the same whatever the database's locale. */
const C = 'COLLATE "C"';

const INSERT_CELL =
  `INSERT INTO cells (${CELL_COLUMNS.join(', ')}, recorded_at, attempts) ` +
  `VALUES (${CELL_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')}, $${CELL_COLUMNS.length + 1}, 1) ` +
  'ON CONFLICT (sweep_id, cell_id, repeat) DO NOTHING';
const REPLACE_CELL =
  `UPDATE cells SET ${CONTENT_COLUMNS.map((c, i) => `${c} = $${i + 4}`).join(', ')}, ` +
  `recorded_at = $${CONTENT_COLUMNS.length + 4}, attempts = attempts + 1 WHERE sweep_id = $1 AND cell_id = $2 AND repeat = $3`;

export async function openPostgresStore(url: string, options: OpenResultsStoreOptions = {}): Promise<ResultsStore> {
  const location = redactUrl(url);
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  // An idle connection the server drops (restart, network) is replaced on the next query; without a listener
  // the pool's error event would end the process.
  pool.on('error', () => undefined);
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new Error(
      `cannot reach the results database ${location}: ${(err as Error).message}; ` +
        'check THORBENCH_RESULTS_URL (postgres://user:password@host:port/database) and that PostgreSQL is running',
      { cause: err },
    );
  }
  try {
    if (options.readonly) {
      const version = await postgresSchemaVersion(client);
      if (version !== SCHEMA_VERSION) {
        throw new Error(
          `results database ${location} has schema version ${version} but this thorbench reads version ${SCHEMA_VERSION}; ` +
            (version < SCHEMA_VERSION
              ? 'open it once for writing (any sweep or `thorbench report`) to migrate it'
              : 'upgrade thorbench'),
        );
      }
    } else {
      await migratePostgres(client, location);
    }
  } catch (err) {
    client.release();
    await pool.end().catch(() => undefined);
    throw err;
  }
  client.release();
  return new PostgresStore(pool, location, options.readonly ?? false);
}

/** Runs queries on the pool, or on one client inside a transaction. */
type Queryable = pg.Pool | pg.PoolClient;

class PostgresResultsStore implements ResultsStore {
  readonly backend = 'postgres' as const;

  constructor(
    protected readonly db: Queryable,
    readonly location: string,
    protected readonly readonly: boolean,
    /** True for a transaction's view: statements join it instead of opening their own. */
    private readonly inTransaction: boolean,
  ) {}

  private checkWritable(): void {
    if (this.readonly) throw readOnlyError(this.location);
  }

  /** Runs `fn` with one client in a transaction (or in the transaction already open). */
  protected async atomically<T>(fn: (client: Queryable) => Promise<T>): Promise<T> {
    if (this.inTransaction) return fn(this.db);
    const client = await (this.db as pg.Pool).connect();
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    throw new Error('close the store, not its transaction');
  }

  async transaction<T>(fn: (tx: ResultsStore) => Promise<T>): Promise<T> {
    return fn(this);
  }

  async upsertSweep(start: SweepStart): Promise<void> {
    this.checkWritable();
    checkSweepStart(start);
    await this.db.query(
      `INSERT INTO sweeps (sweep_id, experiment_name, experiment_json, workflow_id, simulated, started_at, finished_at, state, planned_cells)
       VALUES ($1, $2, $3, $4, $5, $6, NULL, 'running', $7)
       ON CONFLICT (sweep_id) DO UPDATE SET
         experiment_name = excluded.experiment_name,
         experiment_json = excluded.experiment_json,
         workflow_id = COALESCE(excluded.workflow_id, sweeps.workflow_id),
         simulated = excluded.simulated,
         planned_cells = excluded.planned_cells,
         started_at = LEAST(sweeps.started_at ${C}, excluded.started_at ${C}),
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
    const res = await this.db.query('UPDATE sweeps SET state = $2, finished_at = $3 WHERE sweep_id = $1', [
      sweepId,
      state,
      finishedAt,
    ]);
    if (res.rowCount === 0) throw noSweepError(sweepId, this.location);
  }

  async getSweep(sweepId: string): Promise<SweepRecord | null> {
    const { rows } = await this.db.query<SweepRow>('SELECT * FROM sweeps WHERE sweep_id = $1', [sweepId]);
    return rows[0] === undefined ? null : fromSweepRow(rows[0]);
  }

  async listSweeps(): Promise<SweepRecord[]> {
    const { rows } = await this.db.query<SweepRow>(`SELECT * FROM sweeps ORDER BY started_at ${C} DESC, seq DESC`);
    return rows.map(fromSweepRow);
  }

  async recordCell(record: CellRecord): Promise<RecordCellResult> {
    this.checkWritable();
    validateCellRecord(record);
    const row = toCellRow(record) as unknown as Record<string, unknown>;
    const recordedAt = new Date().toISOString();
    const key = [record.sweepId, record.cellId, record.repeat];
    return this.atomically(async (db) => {
      const inserted = await db.query(INSERT_CELL, [...CELL_COLUMNS.map((c) => row[c] ?? null), recordedAt]);
      if (inserted.rowCount === 1) return { inserted: true, replaced: false, attempts: 1 };
      const { rows } = await db.query<{ status: string; attempts: number }>(
        'SELECT status, attempts FROM cells WHERE sweep_id = $1 AND cell_id = $2 AND repeat = $3 FOR UPDATE',
        key,
      );
      const existing = rows[0]!;
      if (existing.status === 'succeeded') {
        // The first successful measurement stands: a retried or resumed step must not replace real numbers.
        await db.query(
          'UPDATE cells SET attempts = attempts + 1 WHERE sweep_id = $1 AND cell_id = $2 AND repeat = $3',
          key,
        );
        return { inserted: false, replaced: false, attempts: existing.attempts + 1 };
      }
      await db.query(REPLACE_CELL, [...key, ...CONTENT_COLUMNS.map((c) => row[c] ?? null), recordedAt]);
      return { inserted: false, replaced: true, attempts: existing.attempts + 1 };
    });
  }

  async getCell(sweepId: string, cellId: string, repeat: number): Promise<CellRecord | null> {
    const { rows } = await this.db.query<CellRow>(
      'SELECT * FROM cells WHERE sweep_id = $1 AND cell_id = $2 AND repeat = $3',
      [sweepId, cellId, repeat],
    );
    return rows[0] === undefined ? null : fromCellRow(rows[0]);
  }

  async getCellMeta(sweepId: string, cellId: string, repeat: number): Promise<CellRowMeta | null> {
    const { rows } = await this.db.query<{ attempts: number; recorded_at: string }>(
      'SELECT attempts, recorded_at FROM cells WHERE sweep_id = $1 AND cell_id = $2 AND repeat = $3',
      [sweepId, cellId, repeat],
    );
    return rows[0] === undefined ? null : { attempts: rows[0].attempts, recordedAt: rows[0].recorded_at };
  }

  async listCells(sweepId: string): Promise<CellRecord[]> {
    const { rows } = await this.db.query<CellRow>(
      `SELECT * FROM cells WHERE sweep_id = $1 ORDER BY position, repeat, cell_id ${C}`,
      [sweepId],
    );
    return rows.map(fromCellRow);
  }

  async completedCellKeys(sweepId: string): Promise<string[]> {
    const { rows } = await this.db.query<{ cell_id: string }>(
      `SELECT cell_id FROM cells WHERE sweep_id = $1 AND status = 'succeeded' ORDER BY position, repeat, cell_id ${C}`,
      [sweepId],
    );
    return rows.map((r) => r.cell_id);
  }

  async countRows(sweepId: string): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM cells WHERE sweep_id = $1', [
      sweepId,
    ]);
    return rows[0]!.n;
  }

  async duplicateKeys(sweepId: string): Promise<string[]> {
    const { rows } = await this.db.query<{ cell_id: string }>(
      `SELECT cell_id FROM cells WHERE sweep_id = $1 GROUP BY cell_id HAVING COUNT(*) > 1 ORDER BY cell_id ${C}`,
      [sweepId],
    );
    return rows.map((r) => r.cell_id);
  }

  async putArtifact(sweepId: string, cellId: string, name: string, content: Buffer | string): Promise<void> {
    this.checkWritable();
    const bytes = artifactBytes(sweepId, cellId, name, content);
    await this.db.query(
      `INSERT INTO artifacts (sweep_id, cell_id, name, content, size, recorded_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (sweep_id, cell_id, name) DO UPDATE SET content = excluded.content, size = excluded.size, recorded_at = excluded.recorded_at`,
      [sweepId, cellId, name, bytes, bytes.length, new Date().toISOString()],
    );
  }

  async getArtifact(sweepId: string, cellId: string, name: string): Promise<Buffer | null> {
    const { rows } = await this.db.query<{ content: Buffer }>(
      'SELECT content FROM artifacts WHERE sweep_id = $1 AND cell_id = $2 AND name = $3',
      [sweepId, cellId, name],
    );
    return rows[0]?.content ?? null;
  }

  async listStoredArtifacts(sweepId: string, cellId: string): Promise<string[]> {
    const { rows } = await this.db.query<{ name: string }>(
      `SELECT name FROM artifacts WHERE sweep_id = $1 AND cell_id = $2 ORDER BY name ${C}`,
      [sweepId, cellId],
    );
    return rows.map((r) => r.name);
  }

  async recordRegression(verdict: RegressionVerdict): Promise<void> {
    this.checkWritable();
    await this.db.query(
      `INSERT INTO regressions (sweep_id, baseline_id, regression, comparison_json, compared_at) VALUES ($1, $2, $3, $4, $5)
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
    const { rows } = await this.db.query<RegressionRow>('SELECT * FROM regressions WHERE sweep_id = $1', [sweepId]);
    return rows[0] === undefined ? null : fromRegressionRow(rows[0]);
  }

  async registerDevice(inventory: DeviceInventory, worker: string, seenAt: string): Promise<void> {
    this.checkWritable();
    checkDeviceInventory(inventory);
    // Same rules as the SQLite statement (store/devices.ts); GREATEST compares the ISO strings byte by byte.
    await this.db.query(
      `INSERT INTO devices (device_id, simulated, model, l4t_release, memory_total_mb, inventory_json, worker,
                            registered_at, last_seen_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
       ON CONFLICT (device_id) DO UPDATE SET
         simulated = excluded.simulated, model = excluded.model, l4t_release = excluded.l4t_release,
         memory_total_mb = excluded.memory_total_mb, inventory_json = excluded.inventory_json,
         worker = excluded.worker,
         registered_at = CASE WHEN devices.worker = excluded.worker THEN devices.registered_at
                              ELSE excluded.registered_at END,
         last_seen_at = GREATEST(devices.last_seen_at ${C}, excluded.last_seen_at ${C})`,
      [
        inventory.deviceId,
        inventory.simulated ? 1 : 0,
        inventory.model,
        inventory.l4tRelease,
        inventory.memoryTotalMb,
        JSON.stringify(inventory),
        worker,
        seenAt,
      ],
    );
  }

  async markDeviceSeen(deviceId: string, worker: string, seenAt: string): Promise<boolean> {
    this.checkWritable();
    const res = await this.db.query(
      `UPDATE devices SET last_seen_at = GREATEST(last_seen_at ${C}, $3 ${C}), worker = $2 WHERE device_id = $1`,
      [deviceId, worker, seenAt],
    );
    return (res.rowCount ?? 0) > 0;
  }

  async listDevices(): Promise<DeviceRecord[]> {
    const { rows } = await this.db.query<DeviceRow>(
      `SELECT device_id, inventory_json, worker, registered_at, last_seen_at FROM devices ORDER BY device_id ${C}`,
    );
    return rows.map(fromDeviceRow);
  }
}

/** The open store: owns the pool; each transaction gets a client of its own. */
class PostgresStore extends PostgresResultsStore {
  constructor(
    private readonly pool: pg.Pool,
    location: string,
    readonly: boolean,
  ) {
    super(pool, location, readonly, false);
  }

  override async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }

  override async transaction<T>(fn: (tx: ResultsStore) => Promise<T>): Promise<T> {
    return this.atomically((client) => fn(new PostgresResultsStore(client, this.location, this.readonly, true)));
  }
}
