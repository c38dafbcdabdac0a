import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planSweep } from '../plan/plan.js';
import { shardByDevice } from '../plan/shard.js';
import { Experiment } from '../schema/experiment.js';

function plan(models: number, scenarios: number, powers = ['MAXN']) {
  return planSweep(
    Experiment.parse({
      name: 'shard',
      matrix: {
        power: powers.map((mode) => ({ mode })),
        clocks: ['default', 'locked'],
        model: Array.from({ length: models }, (_, i) => ({ id: `m${i}`, path: `M/m${i}`, quantization: 'fp8' })),
        scenario: Array.from({ length: scenarios }, (_, i) => ({
          name: `s${i}`,
          inputLen: 8,
          outputLen: 8,
          numPrompts: 1,
        })),
      },
    }),
  );
}

describe('shardByDevice', () => {
  it('keeps every engine group on one device and deals the groups out in turn', () => {
    // Two reboot epochs of one power mode each: an engine group per power mode and model.
    const p = plan(3, 2, ['MAXN', '90W']);
    const shards = shardByDevice(p.cells, ['a', 'b']);
    const groupsOn = (d: string) => [...new Set(shards.get(d)!.map((c) => c.engineGroup))];
    assert.deepEqual(groupsOn('a'), ['maxn.m0', 'maxn.m2', '90w.m1']);
    assert.deepEqual(groupsOn('b'), ['maxn.m1', '90w.m0', '90w.m2']);
    for (const [d, cells] of shards) {
      for (const c of cells) {
        const elsewhere = [...shards]
          .filter(([o]) => o !== d)
          .some(([, other]) => other.some((x) => x.engineGroup === c.engineGroup));
        assert.equal(elsewhere, false, `${c.engineGroup} is split`);
      }
    }
  });

  it('puts each cell in exactly one shard, in plan order', () => {
    const p = plan(4, 3);
    const shards = shardByDevice(p.cells, ['a', 'b', 'c']);
    const all = [...shards.values()].flat();
    assert.deepEqual(all.map((c) => c.id).sort(), p.cells.map((c) => c.id).sort());
    for (const cells of shards.values()) {
      const positions = cells.map((c) => c.position);
      assert.deepEqual(
        positions,
        [...positions].sort((x, y) => x - y),
      );
    }
  });

  it('gives one device everything and leaves devices without a group empty', () => {
    const p = plan(2, 1);
    assert.deepEqual(
      shardByDevice(p.cells, ['only'])
        .get('only')!
        .map((c) => c.id),
      p.cells.map((c) => c.id),
    );
    const wide = shardByDevice(p.cells, ['a', 'b', 'c']);
    assert.deepEqual([...wide.keys()], ['a', 'b', 'c']);
    assert.equal(wide.get('c')!.length, 0);
  });

  it('refuses to shard over no device', () => {
    assert.throws(() => shardByDevice(plan(1, 1).cells, []), /no devices/);
  });
});
