/**
 * Forward-only schema migrations of the results database, tracked with `PRAGMA user_version`.
 *
 * Version N of the schema is reached by applying MIGRATIONS[0..N-1] in order, each in its own transaction that
 * also bumps user_version, so a crash mid-migration leaves the database at the previous version and the next
 * open simply retries. To change the schema, append a migration; never edit one that has shipped.
 */
import type Database from 'better-sqlite3';

export interface Migration {
  /** The user_version this migration produces. */
  version: number;
  description: string;
  up(db: Database.Database): void;
}

const v1: Migration = {
  version: 1,
  description: 'sweeps and cells tables',
  up(db) {
    db.exec(`
      CREATE TABLE sweeps (
        sweep_id        TEXT PRIMARY KEY NOT NULL,
        experiment_name TEXT NOT NULL,
        experiment_json TEXT NOT NULL,
        workflow_id     TEXT,
        simulated       INTEGER NOT NULL CHECK (simulated IN (0, 1)),
        started_at      TEXT NOT NULL,
        finished_at     TEXT,
        state           TEXT NOT NULL CHECK (state IN ('running', 'completed', 'failed', 'cancelled')),
        planned_cells   INTEGER NOT NULL CHECK (planned_cells >= 0)
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
        output_throughput      REAL,
        request_throughput     REAL,
        mean_ttft_ms           REAL,
        mean_tpot_ms           REAL,
        mean_itl_ms            REAL,
        p99_ttft_ms            REAL,
        p99_tpot_ms            REAL,
        total_token_throughput REAL,
        duration               REAL,
        completed              REAL,
        failed                 REAL,
        energy_j               REAL,
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
    `);
  },
};

const v2: Migration = {
  version: 2,
  description: 'validity verdict, energy status, thermal summary and thorbench version of each cell',
  up(db) {
    // Rows recorded before carry NULL: the store judges them when read (store/cell-row.ts).
    db.exec(`
      ALTER TABLE cells ADD COLUMN valid INTEGER CHECK (valid IN (0, 1));
      ALTER TABLE cells ADD COLUMN verdict_json TEXT;
      ALTER TABLE cells ADD COLUMN energy_json TEXT;
      ALTER TABLE cells ADD COLUMN thermal_json TEXT;
      ALTER TABLE cells ADD COLUMN thorbench_version TEXT;
    `);
  },
};

const v3: Migration = {
  version: 3,
  description: 'devices registered by their workers (store/devices.ts)',
  up(db) {
    db.exec(`
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
    `);
  },
};

const v4: Migration = {
  version: 4,
  description: 'regression verdicts of sweeps compared against a baseline (scheduled regression watch)',
  up(db) {
    db.exec(`
      CREATE TABLE regressions (
        sweep_id        TEXT PRIMARY KEY NOT NULL,
        baseline_id     TEXT NOT NULL,
        regression      INTEGER NOT NULL CHECK (regression IN (0, 1)),
        comparison_json TEXT NOT NULL,
        compared_at     TEXT NOT NULL
      );
    `);
  },
};

const v5: Migration = {
  version: 5,
  description: 'the device a cell was moved off, and why (failover)',
  up(db) {
    db.exec(`ALTER TABLE cells ADD COLUMN moved_from_json TEXT;`);
  },
};

const v6: Migration = {
  version: 6,
  description: 'artifacts a remote device sent for a cell',
  up(db) {
    db.exec(`
      CREATE TABLE artifacts (
        sweep_id    TEXT NOT NULL,
        cell_id     TEXT NOT NULL,
        name        TEXT NOT NULL,
        content     BLOB NOT NULL,
        size        INTEGER NOT NULL CHECK (size >= 0),
        recorded_at TEXT NOT NULL,
        PRIMARY KEY (sweep_id, cell_id, name)
      );
    `);
  },
};

/** In version order; the PostgreSQL list (store/postgres-migrations.ts) has the same versions. Append only. */
export const MIGRATIONS: readonly Migration[] = [v1, v2, v3, v4, v5, v6];

/** The schema version this build of thorbench reads and writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings the database up to SCHEMA_VERSION. Each step runs under BEGIN IMMEDIATE and re-reads the version inside
 * the transaction, so two processes opening a fresh file at once apply each migration exactly once.
 */
export function migrate(db: Database.Database, dbPath: string): void {
  const found = schemaVersion(db);
  if (found > SCHEMA_VERSION) {
    throw new Error(
      `results database ${dbPath} has schema version ${found}, newer than this thorbench understands (${SCHEMA_VERSION}); ` +
        'upgrade thorbench, or point it at another database file',
    );
  }
  for (const migration of MIGRATIONS) {
    const step = db.transaction(() => {
      if (schemaVersion(db) >= migration.version) return;
      migration.up(db);
      db.pragma(`user_version = ${migration.version}`);
    });
    step.immediate();
  }
}
