/**
 * The live view of a sweep: the pure renderer (what a terminal shows at each redraw), the finished-cell lines a
 * non-terminal gets, and the display that chooses between them.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import {
  clock,
  createProgressDisplay,
  finishFromStore,
  finishedCellLines,
  noCellsShown,
  formatProgress,
  isLiveTerminal,
  pollProgress,
  renderProgressView,
} from '../cli/progress.js';
import type { CellRecord } from '../schema/outcome.js';
import type { SweepRecord } from '../store/sweep.js';
import type { CurrentCell, ProgressRequest, SweepProgress } from '../workflows/messages.js';
import { sleep } from './helpers/wait.js';

function snapshot(over: Partial<SweepProgress> = {}): SweepProgress {
  return {
    sweepId: 'demo-sim-1a2b3c4d',
    experiment: 'demo-sim',
    state: 'running',
    devices: ['sim'],
    total: 8,
    done: 3,
    counts: { succeeded: 2, failed: 1, skipped: 0, cancelled: 0 },
    current: [
      {
        deviceId: 'sim',
        cellId: 'maxn.locked.qwen3-8b-fp8.high-load.r1',
        step: 'benchmark',
        stepStartedAt: '2026-11-29T08:00:00.000Z',
      },
    ],
    cells: [
      { id: 'maxn.default.qwen3-8b-fp8.low-load.r1', status: 'succeeded' },
      { id: 'maxn.default.qwen3-8b-fp8.high-load.r1', status: 'succeeded' },
      { id: 'maxn.locked.qwen3-8b-fp8.low-load.r1', status: 'failed', failureType: 'EngineCrashed' },
      { id: 'maxn.locked.qwen3-8b-fp8.high-load.r1', status: 'running' },
      { id: 'maxn.default.qwen3-8b-awq.low-load.r1', status: 'pending' },
    ],
    remainingMs: 125_000,
    ...over,
  };
}

const NOW = Date.parse('2026-11-29T08:00:12.000Z');

/** A stream that records what is written, optionally posing as a terminal. */
function sink(tty: boolean): Writable & { text: () => string; isTTY?: boolean; columns?: number; rows?: number } {
  const chunks: string[] = [];
  const s = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  }) as Writable & { text: () => string; isTTY?: boolean; columns?: number; rows?: number };
  s.text = () => chunks.join('');
  if (tty) Object.assign(s, { isTTY: true, columns: 160, rows: 40 });
  return s;
}

describe('progress view', () => {
  it('shows the bar, cells done/total, failed and skipped, the cell and step in flight, elapsed and time left', () => {
    const view = renderProgressView(snapshot(), { elapsedMs: 83_000, nowMs: NOW });
    assert.equal(
      view,
      [
        'demo-sim-1a2b3c4d  [#########---------------] 3/8 cells | ok 2 | failed 1 | skipped 0 | elapsed 01:23 | left ~02:05',
        '  sim  maxn.locked.qwen3-8b-fp8.high-load.r1  benchmark for 00:12',
      ].join('\n'),
    );
  });

  it('says "—" where the workflow gives no estimate or step start', () => {
    const p = snapshot({
      remainingMs: undefined, // A sweep running older workflow code answers without a step start.
      current: [{ deviceId: 'sim', cellId: 'c.r1', step: 'warmup' } as CurrentCell],
    });
    const view = renderProgressView(p, { elapsedMs: 3_723_000, nowMs: NOW });
    assert.match(view, /elapsed 1:02:03 \| left —$/m);
    assert.match(view, /^ {2}sim {2}c\.r1 {2}warmup for —$/m);
    assert.match(
      renderProgressView(snapshot({ remainingMs: null, state: 'starting', current: [] }), { elapsedMs: 0, nowMs: NOW }),
      /waiting for a device worker/,
    );
    assert.equal(clock(-5), '00:00');
  });

  it('names each lost device, for how long, and why', () => {
    const since = new Date(NOW - 65_000).toISOString();
    const reason = 'no worker of thorbench-device-thor-b picked up benchmark within 5 s (DeviceLost)';
    const view = renderProgressView(snapshot({ lostDevices: [{ deviceId: 'thor-b', since, reason }] }), {
      elapsedMs: 83_000,
      nowMs: NOW,
    });
    assert.match(view, new RegExp(`^ {2}thor-b {2}lost for 01:05: ${reason.replace(/[()]/g, '\\$&')}$`, 'm'));
  });

  it('fills the bar with the share of cells done', () => {
    assert.match(formatProgress(snapshot({ done: 8, total: 8 }), 0, 10), /^\[##########\] 8\/8 cells/);
    assert.match(formatProgress(snapshot({ done: 0, total: 8 }), 0, 10), /^\[----------\] 0\/8 cells/);
  });

  it('gives one line per cell that finished since the last snapshot, with what the store knows', () => {
    const seen = noCellsShown();
    const detail = (id: string) => (id.endsWith('high-load.r1') ? '298.07 tok/s' : null);
    assert.deepEqual(finishedCellLines(snapshot(), seen, detail), [
      '[1/8] succeeded maxn.default.qwen3-8b-fp8.low-load.r1',
      '[2/8] succeeded maxn.default.qwen3-8b-fp8.high-load.r1  298.07 tok/s',
      '[3/8] failed maxn.locked.qwen3-8b-fp8.low-load.r1  EngineCrashed',
    ]);
    assert.deepEqual(finishedCellLines(snapshot(), seen, detail), [], 'nothing twice');
    const next = snapshot();
    next.cells[3] = { id: 'maxn.locked.qwen3-8b-fp8.high-load.r1', status: 'succeeded' };
    assert.deepEqual(finishedCellLines(next, seen, detail), [
      '[4/8] succeeded maxn.locked.qwen3-8b-fp8.high-load.r1  298.07 tok/s',
    ]);
  });

  it('numbers the cells of an answer to finishedSince by their place in the finish order', () => {
    const shown = noCellsShown();
    const cell = (n: number) => ({ id: `maxn.default.qwen3-8b-fp8.chat.r${n}`, status: 'succeeded' as const });
    // A view that starts following a large sweep gets the last cells to finish, not all 30,000.
    const first = { total: 40_000, cells: [cell(29_999), cell(30_000)], cellsFrom: 29_998 };
    assert.deepEqual(finishedCellLines(first, shown), [
      '[29999/40000] succeeded maxn.default.qwen3-8b-fp8.chat.r29999',
      '[30000/40000] succeeded maxn.default.qwen3-8b-fp8.chat.r30000',
    ]);
    const overlap = { total: 40_000, cells: [cell(30_000), cell(30_001)], cellsFrom: 29_999 };
    assert.deepEqual(finishedCellLines(overlap, shown), [
      '[30001/40000] succeeded maxn.default.qwen3-8b-fp8.chat.r30001',
    ]);
    // Lines from the results store (no place in the finish order) go on from the last number.
    assert.deepEqual(finishedCellLines({ total: 40_000, cells: [cell(1), cell(30_001)] }, shown), [
      '[30002/40000] succeeded maxn.default.qwen3-8b-fp8.chat.r1',
    ]);
  });
});

describe('progress display', () => {
  it('off a terminal writes finished cells only, never a line per poll', () => {
    const out = sink(false);
    const display = createProgressDisplay({
      stream: out as unknown as NodeJS.WriteStream,
      live: false,
      startedAtMs: NOW - 1000,
      now: () => NOW,
    });
    for (let i = 0; i < 5; i++) display.update(snapshot()); // five polls, nothing new after the first
    display.finishFrom([{ id: 'maxn.default.qwen3-8b-awq.low-load.r1', status: 'skipped' }], 8);
    display.done();
    assert.equal(
      out.text(),
      [
        '[1/8] succeeded maxn.default.qwen3-8b-fp8.low-load.r1',
        '[2/8] succeeded maxn.default.qwen3-8b-fp8.high-load.r1',
        '[3/8] failed maxn.locked.qwen3-8b-fp8.low-load.r1  EngineCrashed',
        '[4/8] skipped maxn.default.qwen3-8b-awq.low-load.r1',
        '',
      ].join('\n'),
    );
    assert.ok(!out.text().includes('\x1b'), 'no escape sequences');
  });

  it('on a terminal redraws the view in place, with finished cells above it', () => {
    const out = sink(true);
    let t = NOW;
    const display = createProgressDisplay({
      stream: out as unknown as NodeJS.WriteStream,
      live: true,
      startedAtMs: NOW - 60_000,
      now: () => t,
    });
    display.update(snapshot());
    t += 1000;
    display.update(snapshot({ remainingMs: 124_000 }));
    display.done();
    const text = out.text();
    assert.equal(text.split('[1/8] succeeded').length, 2, 'finished lines printed once');
    assert.ok(text.includes('elapsed 01:00 | left ~02:05'));
    assert.ok(text.includes('elapsed 01:01 | left ~02:04'));
    assert.ok(text.includes('\x1b[2K'), 'the previous view is erased before the next one');
    assert.ok(text.indexOf('benchmark for 00:13') > text.indexOf('benchmark for 00:12'));
  });

  it('shows from the records the cells whose lines the last, unanswered query would have brought', async () => {
    const out = sink(false);
    const loaded: string[] = [];
    const detail = Object.assign((id: string) => (loaded.includes(id) ? 'from the store' : null), {
      load: async (cellIds: readonly string[]) => void loaded.push(...cellIds),
    });
    const display = createProgressDisplay({
      stream: out as unknown as NodeJS.WriteStream,
      live: false,
      startedAtMs: NOW,
      now: () => NOW,
      detail,
    });
    const cells = snapshot().cells.slice(0, 4);
    display.update(snapshot({ cells: cells.slice(0, 2), cellsFrom: 0 }));
    const store = {
      listCells: async () => cells.map((c) => ({ cellId: c.id, status: 'succeeded' }) as CellRecord),
      getSweep: async () => ({ plannedCells: 8 }) as SweepRecord,
    };
    await finishFromStore(store, 'demo-sim-1a2b3c4d', detail, display);
    display.done();
    assert.deepEqual(out.text().split('\n').slice(2), [
      '[3/8] succeeded maxn.locked.qwen3-8b-fp8.low-load.r1  from the store',
      '[4/8] succeeded maxn.locked.qwen3-8b-fp8.high-load.r1  from the store',
      '',
    ]);
  });

  it('draws nothing after done(), on a terminal or off one: a late answer to a progress query is dropped', () => {
    for (const live of [true, false]) {
      const out = sink(live);
      const display = createProgressDisplay({
        stream: out as unknown as NodeJS.WriteStream,
        live,
        startedAtMs: NOW - 60_000,
        now: () => NOW,
      });
      display.update(snapshot());
      display.done();
      const before = out.text();
      display.update(snapshot({ remainingMs: 0 }));
      display.finishFrom([{ id: 'maxn.default.qwen3-8b-awq.high-load.r1', status: 'succeeded' }], 8);
      display.done();
      assert.equal(out.text(), before, live ? 'on a terminal' : 'off a terminal');
    }
  });

  it('polls one query at a time, and draws nothing once stopped', async () => {
    let open = 0;
    let mostOpen = 0;
    let calls = 0;
    const drawn: number[] = [];
    const query = async (_: ProgressRequest) => {
      calls++;
      open++;
      mostOpen = Math.max(mostOpen, open);
      await sleep(30); // slower than the interval: ticks come while a query is out
      open--;
      return snapshot({ done: calls });
    };
    const poller = pollProgress(query, async (p) => void drawn.push(p.done), 5);
    await sleep(100);
    await poller.now();
    await poller.stop();
    const seen = drawn.length;
    await sleep(50);
    assert.equal(mostOpen, 1, 'never two queries at once');
    assert.ok(seen >= 2, `drew ${seen} answers`);
    assert.equal(drawn.length, seen, 'nothing drawn after stop()');
    assert.equal(calls, seen, 'every answer drawn');
  });

  it('asks for the cells finished since the last answer it drew, and again after a failed draw', async () => {
    const asked: ProgressRequest[] = [];
    const answers = [
      snapshot({ cells: [], cellsFrom: 0 }),
      snapshot({ cells: [{ id: 'a', status: 'succeeded' }], cellsFrom: 0 }),
      snapshot({ cells: [{ id: 'b', status: 'failed' }], cellsFrom: 1 }),
      snapshot({ cells: [{ id: 'b', status: 'failed' }], cellsFrom: 1 }),
      snapshot(), // a sweep worker that answers with every cell leaves the position where it was
      snapshot({ cells: [], cellsFrom: 2 }),
    ];
    let draws = 0;
    const poller = pollProgress(
      async (request) => {
        asked.push(request);
        return answers[asked.length - 1] ?? snapshot({ cells: [], cellsFrom: 2 });
      },
      async () => {
        if (++draws === 3) throw new Error('the store did not answer'); // the third answer is asked for again
      },
      1_000_000,
    );
    for (let i = 0; i < 6; i++) await poller.now();
    await poller.stop();
    assert.deepEqual(
      asked.map((r) => ('finishedSince' in r ? r.finishedSince : r)),
      [0, 0, 1, 1, 2, 2],
    );
  });

  it('redraws only when both stdout and stderr are terminals', () => {
    assert.equal(isLiveTerminal({ isTTY: true }, { isTTY: true }), true);
    assert.equal(isLiveTerminal({ isTTY: false }, { isTTY: true }), false);
    assert.equal(isLiveTerminal({ isTTY: true }, {}), false);
  });
});
