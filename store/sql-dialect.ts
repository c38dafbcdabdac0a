/**
 * What differs between the two SQL databases the results store runs on, as data: the migrations
 * (store/migrations.ts) and the store's statements (store/sql-store.ts) are written once and take these words
 * where SQLite and PostgreSQL spell a thing differently. Everything else in thorbench's SQL is common to both.
 */
export interface SqlDialect {
  readonly name: 'sqlite' | 'postgres';
  /** Column type of a floating-point metric. */
  readonly real: string;
  /** Column type of raw bytes (artifacts). */
  readonly blob: string;
  /**
   * Appended to the `sweeps` columns: PostgreSQL has no rowid, so a `seq` column keeps the order in which sweeps
   * were first recorded (SQLite lists sweeps started at the same instant by rowid).
   */
  readonly sweepsOrderColumn: string;
  /** The expression that orders sweeps by when they were first recorded. */
  readonly sweepsInsertionOrder: string;
  /**
   * Appended to a text expression to compare it byte by byte: SQLite's default BINARY collation already does; "C"
   * makes PostgreSQL do the same whatever the database's locale.
   */
  readonly collate: string;
  /** The smallest and the largest of their arguments (SQLite's scalar MIN/MAX). */
  readonly least: string;
  readonly greatest: string;
  /** Appended to a SELECT inside a transaction to lock the rows it reads (SQLite's write lock covers the file). */
  readonly forUpdate: string;
}

export const SQLITE: SqlDialect = {
  name: 'sqlite',
  real: 'REAL',
  blob: 'BLOB',
  sweepsOrderColumn: '',
  sweepsInsertionOrder: 'rowid',
  collate: '',
  least: 'MIN',
  greatest: 'MAX',
  forUpdate: '',
};

export const POSTGRES: SqlDialect = {
  name: 'postgres',
  real: 'DOUBLE PRECISION',
  blob: 'BYTEA',
  sweepsOrderColumn: ',\n      seq             BIGSERIAL NOT NULL',
  sweepsInsertionOrder: 'seq',
  collate: ' COLLATE "C"',
  least: 'LEAST',
  greatest: 'GREATEST',
  forUpdate: ' FOR UPDATE',
};
