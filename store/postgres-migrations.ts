/**
 * Runs the results database's migrations (store/migrations.ts, the same list as SQLite's) on PostgreSQL.
 *
 * The version is kept in `thorbench_schema` (one row per applied migration). Each migration runs in its own
 * transaction under an advisory lock, and re-reads the version inside it, so sweep worker, device workers and CLI
 * opening a fresh database at once apply each migration exactly once.
 */
import type pg from 'pg';
import { checkNotNewer, type Migration, MIGRATIONS } from './migrations.js';
import { POSTGRES } from './sql-dialect.js';

/** Any constant: the advisory lock that serialises migrations across processes. */
const MIGRATION_LOCK = 7_246_001;

/** Runs `fn` between BEGIN and COMMIT on `client`, rolling back when it throws. */
export async function inTransaction<T>(client: pg.ClientBase, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

export async function postgresSchemaVersion(client: pg.ClientBase): Promise<number> {
  const exists = await client.query<{ t: string | null }>(`SELECT to_regclass('thorbench_schema')::text AS t`);
  if (exists.rows[0]?.t == null) return 0;
  const { rows } = await client.query<{ v: number | null }>('SELECT MAX(version) AS v FROM thorbench_schema');
  return rows[0]?.v ?? 0;
}

/** Brings the database up to `migrations` (default: every one), or refuses one newer than this thorbench. */
export async function migratePostgres(
  client: pg.ClientBase,
  location: string,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<void> {
  const found = await postgresSchemaVersion(client);
  checkNotNewer(location, found, migrations.at(-1)?.version ?? 0, 'point THORBENCH_RESULTS_URL at another database');
  for (const migration of migrations) {
    if (found >= migration.version) continue;
    await inTransaction(client, async () => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query(`CREATE TABLE IF NOT EXISTS thorbench_schema (
        version     INTEGER PRIMARY KEY,
        description TEXT NOT NULL,
        applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
      )`);
      if ((await postgresSchemaVersion(client)) < migration.version) {
        await client.query(migration.sql(POSTGRES));
        await client.query('INSERT INTO thorbench_schema (version, description) VALUES ($1, $2)', [
          migration.version,
          migration.description,
        ]);
      }
    });
  }
}
