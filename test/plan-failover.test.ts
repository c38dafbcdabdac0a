import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { engineGroups, groupsForReturningDevice, moveGroups } from '../plan/failover.js';
import { planSweep } from '../plan/plan.js';
import { Experiment } from '../schema/experiment.js';

/** models × 2 clocks × 1 scenario on MAXN: one engine group of 2 cells per model, in model order. */
function cells(models: number) {
  return planSweep(
    Experiment.parse({
      name: 'failover',
      matrix: {
        power: [{ mode: 'MAXN' }],
        clocks: ['default', 'locked'],
        model: Array.from({ length: models }, (_, i) => ({ id: `m${i}`, path: `M/m${i}`, quantization: 'fp8' })),
        scenario: [{ name: 's', inputLen: 8, outputLen: 8, numPrompts: 1 }],
      },
    }),
  ).cells;
}

const groupsOf = (cs: readonly { engineGroup: string }[] | undefined) => [
  ...new Set((cs ?? []).map((c) => c.engineGroup)),
];

describe('failover decisions', () => {
  it('splits cells into their engine groups, in order', () => {
    const c = cells(3);
    assert.deepEqual(
      engineGroups(c).map((g) => g.map((x) => x.id)),
      [0, 1, 2].map((m) => [`maxn.default.m${m}.s.r1`, `maxn.locked.m${m}.s.r1`]),
    );
  });

  it("deals a lost device's groups whole to the live devices with the fewest queued cells", () => {
    const c = cells(6);
    const lost = c.slice(0, 6); // groups m0, m1, m2
    const live = [
      { deviceId: 'b', pending: c.slice(6, 10), busyGroup: 'maxn.m3' }, // 4 queued
      { deviceId: 'c', pending: [], busyGroup: null },
    ];
    const moved = moveGroups(lost, live);
    // c (0 queued) takes m0 and m1 (then 4 = b's 4: ties go to the first live device), b takes m2.
    assert.deepEqual(groupsOf(moved.get('c')), ['maxn.m0', 'maxn.m1']);
    assert.deepEqual(groupsOf(moved.get('b')), ['maxn.m2']);
    const all = [...moved.values()].flat();
    assert.deepEqual(all.map((x) => x.id).sort(), lost.map((x) => x.id).sort(), 'every cell moves, once');
  });

  it('keeps the cells of a group together even when the group was half done', () => {
    const c = cells(2);
    const moved = moveGroups(c.slice(1), [{ deviceId: 'b', pending: [], busyGroup: null }]);
    assert.deepEqual(
      moved.get('b')!.map((x) => x.id),
      c.slice(1).map((x) => x.id),
    );
  });

  it('moves a group only to a device holding its model, or anywhere when none does', () => {
    const c = cells(2);
    const live = [
      { deviceId: 'b', pending: [], busyGroup: null },
      { deviceId: 'c', pending: c.slice(2, 4), busyGroup: null },
    ];
    const lacksM0OnB = (d: string, m: string) => !(d === 'b' && m === 'm0');
    assert.deepEqual(groupsOf(moveGroups(c.slice(0, 2), live, lacksM0OnB).get('c')), ['maxn.m0']);
    const nobody = () => false;
    assert.deepEqual(groupsOf(moveGroups(c.slice(0, 2), live, nobody).get('b')), ['maxn.m0']);
    const back = { deviceId: 'a', pending: [], busyGroup: null };
    const queued = [{ deviceId: 'b', pending: c, busyGroup: null }];
    assert.deepEqual(
      groupsForReturningDevice(back, queued, (d, m) => !(d === 'a' && m === 'm1')),
      [{ from: 'b', cells: c.slice(0, 2) }],
    );
  });

  it('moves nothing when no device is live: the cells wait for one to come back', () => {
    assert.equal(moveGroups(cells(2), []).size, 0);
  });

  it('gives a device that came back whole unstarted groups from the longest queue, in plan order', () => {
    const c = cells(5);
    const others = [{ deviceId: 'b', pending: c.slice(1), busyGroup: 'maxn.m0' }]; // 9 queued: m0's second cell, m1..m4
    const taken = groupsForReturningDevice({ deviceId: 'a', pending: [], busyGroup: null }, others);
    // Takes m4 (2 < 9), m3 (4 < 7); m2 would make it 6 ≥ 5: stop.
    assert.deepEqual(
      taken.map((t) => [t.from, t.cells[0]!.engineGroup]),
      [
        ['b', 'maxn.m3'],
        ['b', 'maxn.m4'],
      ],
    );
  });

  it("never takes a lane's busy group, and takes nothing when it would not shorten the longest queue", () => {
    const c = cells(2);
    const busyOnly = [{ deviceId: 'b', pending: c.slice(1, 2), busyGroup: 'maxn.m0' }];
    assert.deepEqual(groupsForReturningDevice({ deviceId: 'a', pending: [], busyGroup: null }, busyOnly), []);
    const even = [{ deviceId: 'b', pending: c.slice(2), busyGroup: null }]; // one group of 2
    assert.deepEqual(groupsForReturningDevice({ deviceId: 'a', pending: c.slice(0, 2), busyGroup: null }, even), []);
  });
});
