/**
 * Files in tests: the repository root (tests run from dist/test, two levels below it), temporary directories, and
 * the real captures in fixtures/ that both the parsers' tests and the simulator read.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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

/** Absolute path of a capture in fixtures/, e.g. fixturePath('thor', 'nvpmodel-q.maxn.txt'). */
export function fixturePath(...parts: string[]): string {
  return repoPath('fixtures', ...parts);
}

/** The text of a capture in fixtures/. */
export function fixture(...parts: string[]): string {
  return repoText('fixtures', ...parts);
}
