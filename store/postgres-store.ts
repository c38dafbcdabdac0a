/**
 * The PostgreSQL results store, selected by THORBENCH_RESULTS_URL=postgres://…: one database a whole lab reaches
 * over the network, so the sweep worker records cells, device workers send their artifacts, and `thorbench
 * status`/`report` read from any machine.
 *
 * Same tables, same statements, same rules as the SQLite store: both run store/sql-store.ts. This file opens the
 * pool, migrates, and runs the statements on the pool or, in a transaction, on one client of it.
 */
import pg from 'pg';
import { checkReadable } from './migrations.js';
import { inTransaction, migratePostgres, postgresSchemaVersion } from './postgres-migrations.js';
import { POSTGRES } from './sql-dialect.js';
import { type SqlBackend, SqlResultsStore, type SqlValue } from './sql-store.js';
import { type OpenResultsStoreOptions, redactUrl, type ResultsStore } from './store.js';

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
    if (options.readonly) checkReadable(location, await postgresSchemaVersion(client));
    else await migratePostgres(client, location);
  } catch (err) {
    client.release();
    await pool.end().catch(() => undefined);
    throw err;
  }
  client.release();
  return new SqlResultsStore(new PostgresBackend(pool, pool, location, options.readonly ?? false));
}

/** The store's `?` placeholders as PostgreSQL's `$1, $2, …` (thorbench's statements hold no other `?`). */
export function numberedPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** The pool as the store sees it, or one client of it holding a transaction (`db` is then that client). */
class PostgresBackend implements SqlBackend {
  readonly backend = 'postgres' as const;
  readonly dialect = POSTGRES;

  constructor(
    private readonly pool: pg.Pool,
    private readonly db: pg.Pool | pg.PoolClient,
    readonly location: string,
    readonly readonly: boolean,
  ) {}

  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return (await this.db.query(numberedPlaceholders(sql), [...params])).rows as T[];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return (await this.db.query(numberedPlaceholders(sql), [...params])).rowCount ?? 0;
  }

  async atomically<T>(fn: (tx: SqlBackend) => Promise<T>): Promise<T> {
    // A transaction's statements join it.
    if (this.db !== this.pool) return fn(this);
    const client = await this.pool.connect();
    try {
      return await inTransaction(client, () =>
        fn(new PostgresBackend(this.pool, client, this.location, this.readonly)),
      );
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    if (this.db !== this.pool) throw new Error('close the store, not its transaction');
    if (!this.pool.ended) await this.pool.end();
  }
}
