/**
 * Forward-only schema migrations of the PostgreSQL results database, version for version the same tables as the
 * SQLite ones (store/migrations.ts), so both stores hold the same rows and pass the same tests.
 *
 * The version is kept in `thorbench_schema` (one row per applied migration). Each migration runs in its own
 * transaction under an advisory lock, and re-reads the version inside it, so sweep worker, device workers and CLI
 * opening a fresh database at once apply each migration exactly once. Text columns keep timestamps exactly as
 * recorded (ISO strings), and booleans stay 0/1 integers, so store/cell-row.ts maps rows for both stores.
 * To change the schema, append a migration here and in store/migrations.ts; never edit one that has shipped.
 */
import type pg from 'pg';

export interface PostgresMigration {
  /** The schema version this migration produces. */
  version: number;
  description: string;
  sql: string;
}

const v1: PostgresMigration = {
  version: 1,
  description: 'sweeps and cells tables',
  sql: `
    CREATE TABLE sweeps (
      sweep_id        TEXT PRIMARY KEY NOT NULL,
      experiment_name TEXT NOT NULL,
      experiment_json TEXT NOT NULL,
      workflow_id     TEXT,
      simulated       INTEGER NOT NULL CHECK (simulated IN (0, 1)),
      started_at      TEXT NOT NULL,
      finished_at     TEXT,
      state           TEXT NOT NULL CHECK (state IN ('running', 'completed', 'failed', 'cancelled')),
      planned_cells   INTEGER NOT NULL CHECK (planned_cells >= 0),
      -- SQLite lists sweeps started at the same instant by rowid; this keeps the same order.
      seq             BIGSERIAL NOT NULL
    );

    CREATE TABLE cells (
      sweep_id          TEXT NOT NULL,
      cell_id           TEXT NOT NULL,
      repeat            INTEGER NOT NULL CHECK (repeat >= 1),
      experiment_name   TEXT NOT NULL,
      status            TEXT NOT NULL CHECK (status IN ('succeeded', 'failed', 'skipped', 'cancelled')),
      failure_type      TEXT,
      failure_message   TEXT,
      failure_retryable INTEGER CHECK (failure_retryable IN (0, 1)),
      failure_step      TEXT,
      position          INTEGER NOT NULL,
      power             TEXT NOT NULL,
      clocks            TEXT NOT NULL CHECK (clocks IN ('locked', 'default')),
      model_id          TEXT NOT NULL,
      quantization      TEXT NOT NULL,
      model_size        TEXT,
      scenario          TEXT NOT NULL,
      output_throughput      DOUBLE PRECISION,
      request_throughput     DOUBLE PRECISION,
      mean_ttft_ms           DOUBLE PRECISION,
      mean_tpot_ms           DOUBLE PRECISION,
      mean_itl_ms            DOUBLE PRECISION,
      p99_ttft_ms            DOUBLE PRECISION,
      p99_tpot_ms            DOUBLE PRECISION,
      total_token_throughput DOUBLE PRECISION,
      duration               DOUBLE PRECISION,
      completed              DOUBLE PRECISION,
      failed                 DOUBLE PRECISION,
      energy_j               DOUBLE PRECISION,
      metrics_json   TEXT,
      steps_json     TEXT NOT NULL,
      device_json    TEXT,
      engine_json    TEXT,
      harness_json   TEXT,
      artifacts_dir  TEXT,
      simulated      INTEGER NOT NULL CHECK (simulated IN (0, 1)),
      started_at     TEXT NOT NULL,
      finished_at    TEXT NOT NULL,
      recorded_at    TEXT NOT NULL,
      attempts       INTEGER NOT NULL DEFAULT 1 CHECK (attempts >= 1),
      PRIMARY KEY (sweep_id, cell_id, repeat)
    );

    CREATE INDEX cells_by_position ON cells (sweep_id, position, repeat);
    CREATE INDEX cells_by_status ON cells (sweep_id, status);
  `,
};

const v2: PostgresMigration = {
  version: 2,
  description: 'validity verdict, energy status, thermal summary and thorbench version of each cell',
  sql: `
    ALTER TABLE cells ADD COLUMN valid INTEGER CHECK (valid IN (0, 1));
    ALTER TABLE cells ADD COLUMN verdict_json TEXT;
    ALTER TABLE cells ADD COLUMN energy_json TEXT;
    ALTER TABLE cells ADD COLUMN thermal_json TEXT;
    ALTER TABLE cells ADD COLUMN thorbench_version TEXT;
  `,
};

const v3: PostgresMigration = {
  version: 3,
  description: 'devices registered by their workers (store/devices.ts)',
  sql: `
    CREATE TABLE devices (
      device_id       TEXT PRIMARY KEY NOT NULL,
      simulated       INTEGER NOT NULL CHECK (simulated IN (0, 1)),
      model           TEXT NOT NULL,
      l4t_release     TEXT,
      memory_total_mb INTEGER,
      inventory_json  TEXT NOT NULL,
      worker          TEXT NOT NULL,
      registered_at   TEXT NOT NULL,
      last_seen_at    TEXT NOT NULL
    );
  `,
};

const v4: PostgresMigration = {
  version: 4,
  description: 'regression verdicts of sweeps compared against a baseline (scheduled regression watch)',
  sql: `
    CREATE TABLE regressions (
      sweep_id        TEXT PRIMARY KEY NOT NULL,
      baseline_id     TEXT NOT NULL,
      regression      INTEGER NOT NULL CHECK (regression IN (0, 1)),
      comparison_json TEXT NOT NULL,
      compared_at     TEXT NOT NULL
    );
  `,
};

const v5: PostgresMigration = {
  version: 5,
  description: 'the device a cell was moved off, and why (failover)',
  sql: `ALTER TABLE cells ADD COLUMN moved_from_json TEXT;`,
};

const v6: PostgresMigration = {
  version: 6,
  description: 'artifacts a remote device sent for a cell',
  sql: `
    CREATE TABLE artifacts (
      sweep_id    TEXT NOT NULL,
      cell_id     TEXT NOT NULL,
      name        TEXT NOT NULL,
      content     BYTEA NOT NULL,
      size        INTEGER NOT NULL CHECK (size >= 0),
      recorded_at TEXT NOT NULL,
      PRIMARY KEY (sweep_id, cell_id, name)
    );
  `,
};

/** In version order, the same versions as the SQLite list. Append only. */
export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [v1, v2, v3, v4, v5, v6];

/** Any constant: the advisory lock that serialises migrations across processes. */
const MIGRATION_LOCK = 7_246_001;

export async function postgresSchemaVersion(client: pg.ClientBase): Promise<number> {
  const exists = await client.query<{ t: string | null }>(`SELECT to_regclass('thorbench_schema')::text AS t`);
  if (exists.rows[0]?.t == null) return 0;
  const { rows } = await client.query<{ v: number | null }>('SELECT MAX(version) AS v FROM thorbench_schema');
  return rows[0]?.v ?? 0;
}

/** Brings the database up to `target` (default: every migration), or refuses one newer than this thorbench. */
export async function migratePostgres(
  client: pg.ClientBase,
  location: string,
  migrations: readonly PostgresMigration[] = POSTGRES_MIGRATIONS,
): Promise<void> {
  const latest = migrations.at(-1)?.version ?? 0;
  const found = await postgresSchemaVersion(client);
  if (found > latest) {
    throw new Error(
      `results database ${location} has schema version ${found}, newer than this thorbench understands (${latest}); ` +
        'upgrade thorbench, or point THORBENCH_RESULTS_URL at another database',
    );
  }
  for (const migration of migrations) {
    if (found >= migration.version) continue;
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query(`CREATE TABLE IF NOT EXISTS thorbench_schema (
        version     INTEGER PRIMARY KEY,
        description TEXT NOT NULL,
        applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
      )`);
      if ((await postgresSchemaVersion(client)) < migration.version) {
        await client.query(migration.sql);
        await client.query('INSERT INTO thorbench_schema (version, description) VALUES ($1, $2)', [
          migration.version,
          migration.description,
        ]);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }
}
