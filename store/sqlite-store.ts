/**
 * The SQLite results store: one file (default `results/thorbench.db`) beside the sweep worker.
 *
 * Why SQLite in WAL mode: the worker writes while `thorbench status`/`report` read from another process; WAL lets
 * readers see the last committed state without blocking the writer, and busy_timeout makes a second writer wait
 * instead of failing. Writes are rare (one per cell), so synchronous=FULL is kept: a Thor that loses power right
 * after a cell was recorded must not lose that record, or the cell would be benchmarked again.
 *
 * The statements are the shared ones of store/sql-store.ts; this file opens the file and runs them. better-sqlite3
 * is synchronous; the ResultsStore interface is asynchronous for PostgreSQL's sake. Every statement runs to
 * completion before it returns, so the only interleaving to guard against is another caller's statement running
 * while a transaction awaits its function: those callers wait for the transaction to end (`gate`).
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { checkReadable, migrate, schemaVersion } from './migrations.js';
import { SQLITE } from './sql-dialect.js';
import { type SqlBackend, SqlResultsStore, type SqlValue } from './sql-store.js';
import type { OpenResultsStoreOptions, ResultsStore } from './store.js';

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
      checkReadable(dbPath, schemaVersion(db));
    } else {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      migrate(db, dbPath);
    }
  } catch (err) {
    db.close();
    throw err;
  }
  return new SqlResultsStore(new SqliteBackend(new SqliteFile(db, dbPath), false));
}

/** The open file: one connection, its prepared statements, and the transaction in progress, if any. */
class SqliteFile {
  private readonly statements = new Map<string, Database.Statement>();
  /** Set while a transaction is open; other callers wait for it before touching the connection. */
  openTx: Promise<void> | null = null;

  constructor(
    readonly db: Database.Database,
    readonly location: string,
  ) {}

  prepare(sql: string): Database.Statement {
    let stmt = this.statements.get(sql);
    if (stmt === undefined) {
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  async waitForTx(): Promise<void> {
    while (this.openTx) await this.openTx;
  }
}

/**
 * The file as the store sees it (`inTransaction` false), or as a transaction's store sees it (true): the store's
 * statements wait for a transaction in progress, a transaction's statements join it.
 */
class SqliteBackend implements SqlBackend {
  readonly backend = 'sqlite' as const;
  readonly dialect = SQLITE;
  readonly location: string;
  readonly readonly: boolean;

  constructor(
    private readonly file: SqliteFile,
    private readonly inTransaction: boolean,
  ) {
    this.location = file.location;
    this.readonly = file.db.readonly;
  }

  /** Null when the statement may run at once: then it runs before the caller's next await, as a whole. */
  private gate(): Promise<void> | null {
    return !this.inTransaction && this.file.openTx ? this.file.waitForTx() : null;
  }

  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    const wait = this.gate();
    if (wait) await wait;
    return this.file.prepare(sql).all(...params) as T[];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    const wait = this.gate();
    if (wait) await wait;
    return this.file.prepare(sql).run(...params).changes;
  }

  async atomically<T>(fn: (tx: SqlBackend) => Promise<T>): Promise<T> {
    // Only a transaction's view is inTransaction: nested transactions join the open one.
    if (this.inTransaction) return fn(this);
    const { file } = this;
    await file.waitForTx();
    let release = () => {};
    file.openTx = new Promise<void>((resolve) => (release = resolve));
    // IMMEDIATE takes the write lock up front, so two writers never deadlock upgrading a read lock.
    try {
      file.db.exec('BEGIN IMMEDIATE');
      const result = await fn(new SqliteBackend(file, true));
      file.db.exec('COMMIT');
      return result;
    } catch (err) {
      if (file.db.inTransaction) file.db.exec('ROLLBACK');
      throw err;
    } finally {
      file.openTx = null;
      release();
    }
  }

  async close(): Promise<void> {
    if (this.inTransaction) throw new Error('close the store, not its transaction');
    if (this.file.db.open) this.file.db.close();
  }
}
