/**
 * Crash-safe state files for the simulator. Several fake commands (and engine processes) run at once and any of
 * them can be SIGKILLed by a simulated reboot or `docker rm -f`, so:
 *  - every write is atomic (store/atomic-file.ts: readers see the old or the new content, never a torn one);
 *  - read-modify-write sequences hold an exclusive lock file (O_EXCL create). A lock left by a process that died
 *    holding it is taken over once its owner is gone (or after 30 s whatever the pid says, since critical
 *    sections last milliseconds and pids can be reused).
 * Everything is synchronous: the fake commands are short-lived, and the engine holds the lock only briefly.
 */
import fs from 'node:fs';
import path from 'node:path';
import { jsonText, writeFileAtomicSync } from '../store/atomic-file.js';

const sleeper = new Int32Array(new SharedArrayBuffer(4));

export function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomicSync(file, jsonText(value));
}

/** The parsed file, or undefined when it does not exist. A corrupt file is an error naming the file. */
export function readJsonFile<T>(file: string): T | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new Error(
      `simulator state file ${file} is not valid JSON (${(err as Error).message}); delete the simulated device directory to start over`,
      {
        cause: err,
      },
    );
  }
}

/**
 * Every `*<suffix>` JSON file in dir, parsed (none when dir does not exist). A corrupt file is handed to
 * `onCorrupt` when given (to skip or delete it), and is an error otherwise.
 */
export function readJsonFiles<T>(dir: string, suffix: string, onCorrupt?: (file: string) => void): T[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: T[] = [];
  for (const name of names) {
    if (!name.endsWith(suffix)) continue;
    const file = path.join(dir, name);
    try {
      const value = readJsonFile<T>(file);
      if (value !== undefined) out.push(value);
    } catch (err) {
      if (!onCorrupt) throw err;
      onCorrupt(file);
    }
  }
  return out;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const LOCK_TIMEOUT_MS = 20_000;
const LOCK_FORCE_STALE_MS = 30_000;

/** Runs fn while holding the lock file. Reentrant within one process. */
export function withLock<T>(lockFile: string, fn: () => T): T {
  if (heldLocks.has(lockFile)) return fn();
  acquire(lockFile);
  heldLocks.add(lockFile);
  try {
    return fn();
  } finally {
    heldLocks.delete(lockFile);
    fs.rmSync(lockFile, { force: true });
  }
}

const heldLocks = new Set<string>();

function acquire(lockFile: string): void {
  fs.mkdirSync(path.dirname(lockFile), { recursive: true });
  const start = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = fs.openSync(lockFile, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (isStale(lockFile)) {
      // Move it aside first so that only one contender removes a given stale lock.
      const aside = `${lockFile}.stale.${process.pid}.${attempt}`;
      try {
        fs.renameSync(lockFile, aside);
        fs.rmSync(aside, { force: true });
      } catch {
        // Someone else took it over first; try again.
      }
      continue;
    }
    if (Date.now() - start > LOCK_TIMEOUT_MS) {
      throw new Error(
        `simulator state is locked by ${describeOwner(lockFile)} for more than ${LOCK_TIMEOUT_MS / 1000} s: if no simulator command is running, delete ${lockFile}`,
      );
    }
    sleepSync(Math.min(20, 1 + attempt));
  }
}

function isStale(lockFile: string): boolean {
  let stat: fs.Stats;
  let owner: number;
  try {
    stat = fs.statSync(lockFile);
    owner = Number.parseInt(fs.readFileSync(lockFile, 'utf8'), 10);
  } catch {
    return false;
  }
  const age = Date.now() - stat.mtimeMs;
  if (age > LOCK_FORCE_STALE_MS) return true;
  // An empty file is a lock being created right now, unless it has stayed empty for a while.
  if (!Number.isInteger(owner) || owner <= 0) return age > 1000;
  return !pidAlive(owner);
}

function describeOwner(lockFile: string): string {
  try {
    return `pid ${fs.readFileSync(lockFile, 'utf8').trim() || '?'}`;
  } catch {
    return 'another process';
  }
}
