/**
 * Forward-only schema migrations of the results database, one list for both stores: SQLite tracks the version in
 * `PRAGMA user_version` (`migrate` below), PostgreSQL in its `thorbench_schema` table (store/postgres-migrations.ts).
 * A migration is written once; where the two databases spell a type differently it takes the word from the
 * dialect (store/sql-dialect.ts), so both hold the same tables and pass the same tests. Text columns keep timestamps
 * exactly as recorded (ISO strings) and booleans stay 0/1 integers in both, so store/cell-row.ts maps the rows of
 * either.
 *
 * Version N of the schema is reached by applying MIGRATIONS[0..N-1] in order, each in its own transaction that
 * also records the version, so a crash mid-migration leaves the database at the previous version and the next
 * open simply retries. To change the schema, append a migration; never edit one that has shipped.
 */
import type Database from 'better-sqlite3';
import { SQLITE, type SqlDialect } from './sql-dialect.js';

export interface Migration {
  /** The schema version this migration produces. */
  version: number;
  description: string;
  /** Its statements in the dialect of the database it runs on. */
  sql(d: SqlDialect): string;
}

const v1: Migration = {
  version: 1,
  description: 'sweeps and cells tables',
  sql: (d) => `
    CREATE TABLE sweeps (
      sweep_id        TEXT PRIMARY KEY NOT NULL,
      experiment_name TEXT NOT NULL,
      experiment_json TEXT NOT NULL,
      workflow_id     TEXT,
      simulated       INTEGER NOT NULL CHECK (simulated IN (0, 1)),
      started_at      TEXT NOT NULL,
      finished_at     TEXT,
      state           TEXT NOT NULL CHECK (state IN ('running', 'completed', 'failed', 'cancelled')),
      planned_cells   INTEGER NOT NULL CHECK (planned_cells >= 0)${d.sweepsOrderColumn}
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
      output_throughput      ${d.real},
      request_throughput     ${d.real},
      mean_ttft_ms           ${d.real},
      mean_tpot_ms           ${d.real},
      mean_itl_ms            ${d.real},
      p99_ttft_ms            ${d.real},
      p99_tpot_ms            ${d.real},
      total_token_throughput ${d.real},
      duration               ${d.real},
      completed              ${d.real},
      failed                 ${d.real},
      energy_j               ${d.real},
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

const v2: Migration = {
  version: 2,
  description: 'validity verdict, energy status, thermal summary and thorbench version of each cell',
  // Rows recorded before carry NULL: the store judges them when read (store/cell-row.ts).
  sql: () => `
    ALTER TABLE cells ADD COLUMN valid INTEGER CHECK (valid IN (0, 1));
    ALTER TABLE cells ADD COLUMN verdict_json TEXT;
    ALTER TABLE cells ADD COLUMN energy_json TEXT;
    ALTER TABLE cells ADD COLUMN thermal_json TEXT;
    ALTER TABLE cells ADD COLUMN thorbench_version TEXT;
  `,
};

const v3: Migration = {
  version: 3,
  description: 'devices registered by their workers (store/devices.ts)',
  sql: () => `
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

const v4: Migration = {
  version: 4,
  description: 'regression verdicts of sweeps compared against a baseline (scheduled regression watch)',
  sql: () => `
    CREATE TABLE regressions (
      sweep_id        TEXT PRIMARY KEY NOT NULL,
      baseline_id     TEXT NOT NULL,
      regression      INTEGER NOT NULL CHECK (regression IN (0, 1)),
      comparison_json TEXT NOT NULL,
      compared_at     TEXT NOT NULL
    );
  `,
};

const v5: Migration = {
  version: 5,
  description: 'the device a cell was moved off, and why (failover)',
  sql: () => `ALTER TABLE cells ADD COLUMN moved_from_json TEXT;`,
};

const v6: Migration = {
  version: 6,
  description: 'artifacts a remote device sent for a cell',
  sql: (d) => `
    CREATE TABLE artifacts (
      sweep_id    TEXT NOT NULL,
      cell_id     TEXT NOT NULL,
      name        TEXT NOT NULL,
      content     ${d.blob} NOT NULL,
      size        INTEGER NOT NULL CHECK (size >= 0),
      recorded_at TEXT NOT NULL,
      PRIMARY KEY (sweep_id, cell_id, name)
    );
  `,
};

/** In version order. Append only. */
export const MIGRATIONS: readonly Migration[] = [v1, v2, v3, v4, v5, v6];

/** The schema version this build of thorbench reads and writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Refuses a database a newer thorbench migrated; `elsewhere` says how to point thorbench at another one. */
export function checkNotNewer(location: string, found: number, latest: number, elsewhere: string): void {
  if (found > latest) {
    throw new Error(
      `results database ${location} has schema version ${found}, newer than this thorbench understands (${latest}); ` +
        `upgrade thorbench, or ${elsewhere}`,
    );
  }
}

/** Refuses to read a database at another schema version than this thorbench's (read-only opens never migrate). */
export function checkReadable(location: string, version: number): void {
  if (version !== SCHEMA_VERSION) {
    throw new Error(
      `results database ${location} has schema version ${version} but this thorbench reads version ${SCHEMA_VERSION}; ` +
        (version < SCHEMA_VERSION
          ? 'open it once for writing (any sweep or `thorbench report`) to migrate it'
          : 'upgrade thorbench'),
    );
  }
}

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings a SQLite database up to `migrations` (default: every one), or refuses one newer than this thorbench. Each
 * step runs under BEGIN IMMEDIATE and re-reads the version inside the transaction, so two processes opening a fresh
 * file at once apply each migration exactly once.
 */
export function migrate(db: Database.Database, dbPath: string, migrations: readonly Migration[] = MIGRATIONS): void {
  checkNotNewer(dbPath, schemaVersion(db), migrations.at(-1)?.version ?? 0, 'point it at another database file');
  for (const migration of migrations) {
    const step = db.transaction(() => {
      if (schemaVersion(db) >= migration.version) return;
      db.exec(migration.sql(SQLITE));
      db.pragma(`user_version = ${migration.version}`);
    });
    step.immediate();
  }
}
