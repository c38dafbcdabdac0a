import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FINISH_LOG_KEEP, carriedFinishLog, emptyFinishLog, finishedSince, logFinished } from '../plan/finish-log.js';

const id = (n: number) => `maxn.locked.qwen3-8b-fp8.chat.r${n}`;

describe('finish log', () => {
  it('answers each position with the cell that finished there, as far back as it keeps', () => {
    const log = emptyFinishLog(0);
    for (let n = 0; n < 5 * FINISH_LOG_KEEP + 7; n++) {
      logFinished(log, id(n));
      assert.ok(log.ids.length >= Math.min(n + 1, FINISH_LOG_KEEP) && log.ids.length < 2 * FINISH_LOG_KEEP);
      const { ids, from } = finishedSince(log, 0);
      assert.equal(from + ids.length, n + 1, 'the answer ends with the last cell');
      ids.forEach((cell, i) => assert.equal(cell, id(from + i)));
    }
    assert.deepEqual(finishedSince(log, 5 * FINISH_LOG_KEEP + 5), {
      ids: [id(5 * FINISH_LOG_KEEP + 5), id(5 * FINISH_LOG_KEEP + 6)],
      from: 5 * FINISH_LOG_KEEP + 5,
    });
    assert.deepEqual(finishedSince(log, 10 ** 9), { ids: [], from: 10 ** 9 }, 'nothing past the end');
  });

  it('goes on across continue-as-new with the positions it had, carrying FINISH_LOG_KEEP cells', () => {
    const log = emptyFinishLog(3); // three cells finished before this log began (an older carry)
    for (let n = 3; n < 3 + FINISH_LOG_KEEP + 20; n++) logFinished(log, id(n));
    const carried = carriedFinishLog(log);
    assert.equal(carried.ids.length, FINISH_LOG_KEEP);
    const next = JSON.parse(JSON.stringify(carried)) as typeof carried;
    logFinished(next, id(3 + FINISH_LOG_KEEP + 20));
    const { ids, from } = finishedSince(next, 3 + FINISH_LOG_KEEP + 18);
    assert.deepEqual(ids, [id(3 + FINISH_LOG_KEEP + 18), id(3 + FINISH_LOG_KEEP + 19), id(3 + FINISH_LOG_KEEP + 20)]);
    assert.equal(from, 3 + FINISH_LOG_KEEP + 18);
    assert.equal(finishedSince(next, 0).from, 3 + 20, 'the oldest kept is the first the carry holds');
  });
});
