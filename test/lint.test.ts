/**
 * The guardrails of eslint.config.js, through ESLint's own API on the real files: workflow, schema and plan code
 * cannot import Node built-ins, process or database libraries, or the side-effect layers (activities/, store/,
 * server/, sim/) other than as types; promises are not left floating.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';
import { REPO_ROOT, repoPath } from './helpers/files.js';

const SANDBOX_RULE = '@typescript-eslint/no-restricted-imports';
const eslint = new ESLint({ cwd: REPO_ROOT });

/** Lints `file` (a path in the repository) as if `prefix` stood at its top; returns `rule: message` lines. */
async function problems(file: string, prefix: string): Promise<string[]> {
  const text = `${prefix}\n${readFileSync(repoPath(file), 'utf8')}`;
  const [result] = await eslint.lintText(text, { filePath: repoPath(file) });
  return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('lint rules', { timeout: 120_000 }, () => {
  it('the workflow sandbox file lints clean as it is', async () => {
    assert.deepEqual(await problems('workflows/sweep.ts', ''), []);
  });

  it("refuses `import { readFileSync } from 'node:fs'` in workflows/sweep.ts, naming the rule", async () => {
    const found = await problems('workflows/sweep.ts', "import { readFileSync } from 'node:fs';\nvoid readFileSync;");
    assert.equal(found.length, 1, found.join('\n'));
    assert.match(
      found[0]!,
      /^@typescript-eslint\/no-restricted-imports: 'node:fs' import is restricted .*deterministic/,
    );
  });

  it('refuses built-ins, execa, databases and the side-effect layers in workflows, schema and plan', async () => {
    const refused: [string, string][] = [
      ['workflows/cell.ts', "import fs from 'fs';"],
      ['workflows/cell.ts', "import { execa } from 'execa';"],
      ['schema/experiment.ts', "import Database from 'better-sqlite3';"],
      ['schema/outcome.ts', "import pg from 'pg';"],
      ['plan/plan.ts', "import { run } from '../activities/exec.js';"],
      ['plan/plan.ts', "import { openResultsStore } from '../store/store.js';"],
      ['workflows/sweep.ts', "import { ensureDevServer } from '../server/dev-server.js';"],
      ['workflows/sweep.ts', "export { ensureSimDevice } from '../sim/device.js';"],
    ];
    for (const [file, line] of refused) {
      const found = await problems(file, line);
      assert.ok(
        found.some((p) => p.startsWith(`${SANDBOX_RULE}:`)),
        `${file} with ${line}: ${found.join('; ')}`,
      );
    }
  });

  it('allows type-only imports from those layers, and value imports elsewhere', async () => {
    const typeOnly =
      "import type { DeviceProfile } from '../activities/device-profile.js';\nexport type P = DeviceProfile;";
    assert.deepEqual(await problems('workflows/sweep.ts', typeOnly), []);
    const activities = await problems(
      'activities/telemetry.ts',
      "import { readFileSync } from 'node:fs';\nvoid readFileSync;",
    );
    assert.deepEqual(activities, []);
  });

  it('reports a promise nobody awaits', async () => {
    const found = await problems('activities/telemetry.ts', 'async function later(): Promise<void> {}\nlater();');
    assert.ok(
      found.some((p) => p.startsWith('@typescript-eslint/no-floating-promises:')),
      found.join('; '),
    );
  });
});
