/**
 * The workflow bundle is made once per build and kept beside the compiled code (workers/bundle.ts): a process finds
 * the bundle of the current build by its key and uses it instead of running webpack again.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { bundleKey, workflowBundle } from '../workers/bundle.js';
import { repoPath } from './helpers/files.js';

describe('workflow bundle cache', () => {
  it('keeps the bundle of this build under its key and hands it out again', async () => {
    const key = bundleKey();
    assert.match(key, /^[0-9a-f]{32}$/);
    assert.equal(bundleKey(), key, 'the same build, the same key');
    const made = await workflowBundle();
    assert.match(made.code, /sweep/);
    const file = repoPath('dist', '.workflow-bundle', `${key}.json`);
    const kept = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof made;
    assert.equal(kept.code, made.code);
    assert.equal(kept.sourceMap, made.sourceMap);
    assert.deepEqual(
      fs.readdirSync(path.dirname(file)).filter((f) => f.endsWith('.json')),
      [`${key}.json`],
      'only the current build is kept',
    );
  });
});
