/**
 * The design lives in the repository: no file refers to design documents kept elsewhere (a design file or the
 * "reference" notes the project started from), and every docs/ page a file names exists.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT, repoPath } from './helpers/files.js';

/** Not the repository's own text: dependencies, build output, runtime state, captured tool output. */
const SKIPPED_DIRS = new Set(['.git', 'node_modules', 'dist', '.thorbench', 'results', 'fixtures', 'histories']);
const TEXT_FILE = /\.(ts|js|json|md|sh|yml|yaml|service|txt)$|^(run|thorbench|sudoers|Dockerfile)$/;

function repositoryFiles(dir = REPO_ROOT): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) files.push(...repositoryFiles(full));
    } else if (TEXT_FILE.test(entry.name) || dir.endsWith(`${path.sep}bin`)) {
      files.push(full);
    }
  }
  return files;
}

// Spelled in pieces so that this file does not match itself.
const OUTSIDE_DOCUMENTS = [
  ['DESIGN', '.md'],
  ['DESIGN', ' §'],
  ['reference', ' §'],
  ['reference/', 'jetson-thor'],
  ['reference/', 'llm-serving'],
  ['reference/', 'temporal.md'],
  ['/work/', 'shared'],
].map((parts) => parts.join(''));

describe('documentation', () => {
  const files = repositoryFiles();

  it('reads the whole repository', () => {
    for (const f of ['README.md', 'workflows/sweep.ts', 'sim/README.md', '.ci/run', 'docs/architecture.md']) {
      assert.ok(files.includes(repoPath(f)), `${f} is checked`);
    }
  });

  it('no file refers to a design document outside the repository', () => {
    const found: string[] = [];
    for (const file of files) {
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          for (const needle of OUTSIDE_DOCUMENTS) {
            if (line.includes(needle)) found.push(`${path.relative(REPO_ROOT, file)}:${i + 1}: ${needle}`);
          }
        });
    }
    assert.deepEqual(found, []);
  });

  it('every docs/ page a file names exists', () => {
    const missing: string[] = [];
    for (const file of files) {
      for (const [, page] of readFileSync(file, 'utf8').matchAll(/\bdocs\/([\w-]+\.md)/g)) {
        if (!existsSync(repoPath('docs', page!))) missing.push(`${path.relative(REPO_ROOT, file)} names docs/${page}`);
      }
    }
    assert.deepEqual(missing, []);
  });
});
