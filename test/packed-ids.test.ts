import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { packByValue, packIds, unpackByValue, unpackIds } from '../plan/packed-ids.js';
import { planSweep } from '../plan/plan.js';
import { Experiment } from '../schema/experiment.js';
import type { CellStatus } from '../schema/outcome.js';
import { mulberry32 } from '../activities/harness/prng.js';
import { repoJson } from './helpers/files.js';

/** Ids with long shared prefixes, prefixes of each other, duplicates, the empty id and characters beyond ASCII. */
function randomIds(seed: number, count: number): string[] {
  const random = mulberry32(seed);
  const parts = ['maxn', '120w', 'locked', 'default', 'qwen3-8b-fp8', 'é', '𝔘', ':', '0', '', '.'];
  return Array.from({ length: count }, () =>
    Array.from({ length: Math.floor(random() * 6) }, () => parts[Math.floor(random() * parts.length)]).join('.'),
  );
}

/** The plan of the guide's full matrix with repeats enough for 10,080 cells. */
function bigPlanIds(): string[] {
  const exp = Experiment.parse({ ...(repoJson('experiments', 'thor-full-matrix.json') as object), repeats: 28 });
  return planSweep(exp).cells.map((c) => c.id);
}

describe('packed ids', () => {
  it('give back the set of ids they were given, sorted', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const ids = randomIds(seed, seed % 40);
      assert.deepEqual(unpackIds(packIds(ids)), [...new Set(ids)].sort(), `seed ${seed}`);
      assert.deepEqual(unpackIds(JSON.parse(JSON.stringify(packIds(ids))) as string[]), [...new Set(ids)].sort());
    }
    assert.deepEqual(packIds([]), []);
    assert.deepEqual(packIds(['a.b.r1', 'a.b.r2', 'a.c.r1']), ['0:a.b.r1', '5:2', '2:c.r1']);
  });

  it('refuse an entry that packIds cannot have written, naming it', () => {
    for (const bad of [['x'], ['1:a'], ['0:ab', '3:c'], ['-1:a'], [':a'], ['1e0:a']]) {
      assert.throws(() => unpackIds(bad), /packed id \d+ \(.*\) does not follow/, JSON.stringify(bad));
    }
  });

  it('pack a map by value and refuse an id under two values', () => {
    const statuses: CellStatus[] = ['succeeded', 'failed', 'skipped', 'cancelled'];
    const random = mulberry32(7);
    const byId = Object.fromEntries(
      randomIds(8, 300).map((id) => [id, statuses[Math.floor(random() * statuses.length)]!]),
    );
    assert.deepEqual(unpackByValue(packByValue(byId)), byId);
    assert.deepEqual(packByValue({}), {});
    assert.throws(() => unpackByValue({ failed: ['0:a'], succeeded: ['0:a'] }), /"a" is both failed and succeeded/);
  });

  it('carry 10,000 finished cells of the guide matrix in a fifth of the bytes, far below 512 KB', () => {
    const ids = bigPlanIds();
    assert.equal(ids.length, 10_080);
    const finished = Object.fromEntries(ids.map((id, i) => [id, i % 50 === 0 ? 'failed' : 'succeeded']));
    const whole = JSON.stringify(finished).length;
    const packed = JSON.stringify(packByValue(finished)).length;
    assert.ok(whole > 512 * 1024, `the whole ids take ${whole} bytes`);
    assert.ok(packed * 5 < whole && packed < 100 * 1024, `packed ${packed} bytes against ${whole}`);
    assert.deepEqual(unpackByValue(packByValue(finished)), finished);
    // What a run reads back from the results store.
    assert.ok(JSON.stringify(packIds(ids)).length * 5 < JSON.stringify(ids).length);
  });
});
