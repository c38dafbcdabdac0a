/**
 * A real, throw-away PostgreSQL server for the results-store tests: `initdb` into a temporary directory, started
 * with `pg_ctl` on a free port of 127.0.0.1 (its unix socket in the same directory, so nothing on the machine is
 * touched), stopped and deleted by `stop()`. PostgreSQL refuses to run as root, so as root the binaries run as
 * the `postgres` user (Debian's package creates it) on a directory that user owns.
 *
 * The binaries come from THORBENCH_PG_BIN, else the newest /usr/lib/postgresql/<version>/bin (Debian's
 * `postgresql` package; .ci/run installs it). When they are missing, `startPostgres` returns null outside CI so
 * a developer's run can skip with a message, and throws in CI (CI=true), where the PostgreSQL tests must run.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { tempDir } from './files.js';
import { freePort } from './net.js';

const run = promisify(execFile);

export interface TestPostgres {
  /** postgres://thorbench@127.0.0.1:<port>/postgres — the server's maintenance database. */
  url: string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

/** The directory of the PostgreSQL binaries, or null when this machine has none. */
export function postgresBinDir(): string | null {
  const fromEnv = process.env.THORBENCH_PG_BIN;
  if (fromEnv) return fromEnv;
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return null;
  const versions = fs
    .readdirSync(root)
    .filter((v) => fs.existsSync(path.join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], 'bin') : null;
}

export const POSTGRES_MISSING =
  'PostgreSQL binaries not found (no THORBENCH_PG_BIN, no /usr/lib/postgresql/<version>/bin): ' +
  'install them with `apt-get install -y postgresql` to run the PostgreSQL store tests';

/**
 * Starts a server, or returns null (binaries missing, not in CI). Throws with the server's log when it is
 * installed but does not start, and in CI when it is not installed.
 */
export async function startPostgres(): Promise<TestPostgres | null> {
  const bin = postgresBinDir();
  if (bin === null) {
    if (process.env.CI) throw new Error(`${POSTGRES_MISSING} (CI must run them; .ci/run installs the package)`);
    return null;
  }
  const dir = tempDir('postgres');
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'server.log');
  const asRoot = process.getuid?.() === 0;
  // As root, every command runs as `postgres`, which must own the directory (and reach it: tmp dirs are 0700).
  const argv = (cmd: string, args: string[]): [string, string[]] =>
    asRoot ? ['runuser', ['-u', 'postgres', '--', path.join(bin, cmd), ...args]] : [path.join(bin, cmd), args];
  if (asRoot) {
    fs.chmodSync(dir, 0o755);
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    fs.chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const port = await freePort();
  const fail = (what: string, err: unknown): Error => {
    const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n') : '';
    const detail = (err as { stderr?: string }).stderr || (err as Error).message;
    return new Error(
      `PostgreSQL test server: ${what} failed (${bin}): ${detail}${log ? `\nserver log:\n${log}` : ''}`,
      { cause: err },
    );
  };
  try {
    await run(...argv('initdb', ['-D', dataDir, '-U', 'thorbench', '--auth=trust', '--encoding=UTF8', '--no-sync']));
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw fail('initdb', err);
  }
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  try {
    await run(...argv('pg_ctl', ['-D', dataDir, '-o', options, '-l', logFile, '-w', '-t', '60', 'start']));
  } catch (err) {
    const error = fail('pg_ctl start', err);
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const url = `postgres://thorbench@127.0.0.1:${port}/postgres`;
  return {
    url,
    async createDatabase(name: string): Promise<string> {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
      } finally {
        await client.end();
      }
      return `postgres://thorbench@127.0.0.1:${port}/${name}`;
    },
    async stop(): Promise<void> {
      await run(...argv('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop'])).catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
