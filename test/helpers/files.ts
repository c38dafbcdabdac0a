/**
 * Files in tests: the repository root (tests run from dist/test, two levels below it), temporary directories, and
 * the real captures in fixtures/ that both the parsers' tests and the simulator read.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Absolute path of a file in the repository. */
export function repoPath(...parts: string[]): string {
  return path.join(REPO_ROOT, ...parts);
}

/** The text of a file in the repository. */
export function repoText(...parts: string[]): string {
  return readFileSync(repoPath(...parts), 'utf8');
}

/** A JSON file in the repository, parsed (an experiment, a history, an expected result). */
export function repoJson(...parts: string[]): unknown {
  return JSON.parse(repoText(...parts)) as unknown;
}

/** A new empty directory under the system's temporary directory. */
export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `thorbench-${prefix}-`));
}

/**
 * A temporary directory for one test file, removed after its tests, that hands out a path of its own to each case
 * (`next()`: `<root>/case-<n>`, not yet created).
 */
export function caseDirs(prefix: string): { root: string; next(): string } {
  const root = tempDir(prefix);
  after(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  return { root, next: () => path.join(root, `case-${++n}`) };
}

/** Absolute path of a capture in fixtures/, e.g. fixturePath('thor', 'nvpmodel-q.maxn.txt'). */
export function fixturePath(...parts: string[]): string {
  return repoPath('fixtures', ...parts);
}

/** The text of a capture in fixtures/. */
export function fixture(...parts: string[]): string {
  return repoText('fixtures', ...parts);
}
