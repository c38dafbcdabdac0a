/** The results package: the store (SQLite or PostgreSQL), raw artifacts and reports. */
export * from './store.js';
export * from './sweep.js';
export * from './artifacts.js';
export { SCHEMA_VERSION } from './migrations.js';
