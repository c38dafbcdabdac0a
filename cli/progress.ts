/**
 * The live view of a running sweep (`thorbench run`, `thorbench status --follow`). The rendering is pure: a
 * progress snapshot and the clock in, text out, so it is tested without a terminal. On a terminal the view is
 * redrawn in place (log-update); when stdout or stderr is not a terminal (CI logs, pipes) only one plain line per
 * finished cell is printed, and nothing per second.
 */
import { createLogUpdate } from 'log-update';
import { fmt2 } from '../report/format.js';
import type { BenchmarkMetrics } from '../schema/metrics.js';
import type { CellRecord } from '../schema/outcome.js';
import type { ResultsStore } from '../store/store.js';
import type { ProgressRequest, SweepProgress } from '../workflows/messages.js';

/** "01:05", "1:02:03". */
export function clock(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const mm = String(m).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export function progressBar(done: number, total: number, width = 24): string {
  const filled = total <= 0 ? width : Math.min(width, Math.round((done / total) * width));
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

/** The one-line summary: bar, cells done/total, outcome counts, elapsed and time left. */
export function formatProgress(p: SweepProgress, elapsedMs: number, width = 24): string {
  const c = p.counts;
  const parts = [
    `${progressBar(p.done, p.total, width)} ${p.done}/${p.total} cells`,
    `ok ${c.succeeded}`,
    `failed ${c.failed}`,
    `skipped ${c.skipped}`,
  ];
  if (c.cancelled) parts.push(`cancelled ${c.cancelled}`);
  parts.push(
    `elapsed ${clock(elapsedMs)}`,
    `left ${typeof p.remainingMs === 'number' ? `~${clock(p.remainingMs)}` : '—'}`,
  );
  return parts.join(' | ');
}

/**
 * The whole terminal view: the summary line, then one line per cell in flight with its device, its step and how
 * long that step has run. `nowMs` is the caller's clock (the step's start comes from the workflow).
 */
export function renderProgressView(
  p: SweepProgress,
  opts: { elapsedMs: number; nowMs: number; width?: number },
): string {
  const lines = [`${p.sweepId}  ${formatProgress(p, opts.elapsedMs, opts.width)}`];
  if (p.state === 'starting') lines.push('  waiting for a device worker');
  for (const cur of p.current) {
    const since = cur.stepStartedAt ? Date.parse(cur.stepStartedAt) : Number.NaN;
    const step = cur.step ? `${cur.step} for ${Number.isFinite(since) ? clock(opts.nowMs - since) : '—'}` : '—';
    lines.push(`  ${cur.deviceId}  ${cur.cellId}  ${step}`);
  }
  if (p.current.length === 0 && p.state !== 'starting') lines.push(`  ${p.state}`);
  // Lost devices (failover): their work went to the others; they take work again when they come back.
  for (const lost of p.lostDevices ?? []) {
    const since = Date.parse(lost.since);
    lines.push(
      `  ${lost.deviceId}  lost for ${Number.isFinite(since) ? clock(opts.nowMs - since) : '—'}: ${lost.reason}`,
    );
  }
  return lines.join('\n');
}

const FINISHED = new Set(['succeeded', 'failed', 'skipped', 'cancelled']);

/** What a finished-cell line says after the cell id: headline metrics or the failure's type. */
export type CellDetail = (cellId: string) => string | null;

/** The finished cells a display has shown, and the number of the last line. */
export interface ShownCells {
  seen: Set<string>;
  last: number;
}

export function noCellsShown(): ShownCells {
  return { seen: new Set(), last: 0 };
}

/**
 * Lines for the cells that finished since the previous snapshot (all finished cells for the first one), e.g.
 * `[3/8] succeeded maxn.locked.qwen3-8b-fp8.high-load.r1  298.07 tok/s`; `shown` is updated. A line's number is the
 * cell's place in the sweep's finish order where the snapshot gives it (`cellsFrom`: an answer to `finishedSince`),
 * else the next after the last line's.
 */
export function finishedCellLines(
  p: Pick<SweepProgress, 'cells' | 'total' | 'cellsFrom'>,
  shown: ShownCells,
  detail: CellDetail = () => null,
): string[] {
  const lines: string[] = [];
  for (const [i, cell] of p.cells.entries()) {
    if (!FINISHED.has(cell.status) || shown.seen.has(cell.id)) continue;
    shown.seen.add(cell.id);
    const number = p.cellsFrom === undefined ? shown.last + 1 : p.cellsFrom + i + 1;
    shown.last = Math.max(shown.last, number);
    const extra = detail(cell.id) ?? (cell.failureType ? cell.failureType : null);
    lines.push(`[${number}/${p.total}] ${cell.status} ${cell.id}${extra ? `  ${extra}` : ''}`);
  }
  return lines;
}

export interface ProgressDisplay {
  update(p: SweepProgress): void;
  /** Lines for finished cells the snapshots have not shown (the final snapshot could not be read). */
  finishFrom(cells: SweepProgress['cells'], total: number): void;
  /** Leaves the last view on screen (terminal) and stops drawing. */
  done(): void;
}

export interface ProgressDisplayOptions {
  /** Where the view goes (stderr: stdout keeps the report). */
  stream: NodeJS.WriteStream;
  /** Redraw in place; false prints one line per finished cell. */
  live: boolean;
  /** When the sweep started, for the elapsed time. */
  startedAtMs: number;
  detail?: CellDetail;
  now?: () => number;
}

/** A terminal redraws only when both stdout and stderr are terminals; otherwise one line per finished cell. */
export function isLiveTerminal(
  stdout: { isTTY?: boolean } = process.stdout,
  stderr: { isTTY?: boolean } = process.stderr,
): boolean {
  return stdout.isTTY === true && stderr.isTTY === true;
}

/** A CellDetail that answers from records loaded beforehand: `load` fetches the given cells' records. */
export type StoreCellDetail = CellDetail & { load(cellIds: readonly string[]): Promise<void> };

/**
 * "298.07 tok/s, TTFT 495.44 ms, TPOT 22.59 ms"; "—" for a statistic the record lacks (an imported vLLM result run
 * with `--percentile-metrics` leaving it out).
 */
export function metricsDetail(m: BenchmarkMetrics): string {
  const ms = (v: number | null | undefined): string => (fmt2(v) === '—' ? '—' : `${fmt2(v)} ms`);
  return `${fmt2(m.output_throughput)} tok/s, TTFT ${ms(m.mean_ttft_ms)}, TPOT ${ms(m.mean_tpot_ms)}`;
}

/**
 * A finished cell's headline from the results store: "298.07 tok/s, TTFT 495.44 ms, TPOT 22.59 ms" or its failure.
 * The store answers asynchronously (it may be a network database) and a display draws synchronously, so callers
 * `load` the finished cells of a snapshot before drawing it (loadFinished); a cell not loaded shows no detail.
 */
export function cellDetailFromStore(
  store: { getCell(sweepId: string, cellId: string, repeat: number): Promise<CellRecord | null> },
  sweepId: string,
): StoreCellDetail {
  const loaded = new Map<string, CellRecord>();
  const detail = (cellId: string): string | null => {
    const cell = loaded.get(cellId);
    if (!cell) return null;
    const m = cell.metrics;
    if (cell.status === 'succeeded' && m) {
      return metricsDetail(m);
    }
    return cell.failure ? `${cell.failure.type}: ${cell.failure.message.split('\n')[0]}` : null;
  };
  return Object.assign(detail, {
    async load(cellIds: readonly string[]): Promise<void> {
      for (const cellId of cellIds) {
        if (loaded.has(cellId)) continue;
        const repeat = Number(/\.r(\d+)$/.exec(cellId)?.[1] ?? 1);
        const cell = await store.getCell(sweepId, cellId, repeat).catch(() => null);
        if (cell) loaded.set(cellId, cell);
      }
    },
  });
}

/** Progress drawn from a sweep's `progress` query every second (ProgressPoller). */
export interface ProgressPoller {
  /** Queries and draws now (after the poll in flight, if any). */
  now(): Promise<void>;
  /** Stops polling and waits for the poll in flight: nothing is drawn after it returns. */
  stop(): Promise<void>;
}

/**
 * Polls `query` every `intervalMs` and draws each answer, one poll at a time. A failed query or draw is skipped: the
 * next one draws the sweep as it stands (a worker that is not answering yet, a record not written yet). Each query
 * asks only for the cells finished since the last answer drawn (ProgressRequest), so the answers stay small however
 * large the sweep; a sweep worker that does not know the request answers with every cell, which draws the same.
 */
export function pollProgress(
  query: (request: ProgressRequest) => Promise<SweepProgress>,
  draw: (p: SweepProgress) => Promise<void>,
  intervalMs = 1_000,
): ProgressPoller {
  let inFlight: Promise<void> | null = null;
  let finishedSince = 0;
  const poll = (): Promise<void> =>
    (inFlight ??= query({ finishedSince })
      .then(async (p) => {
        await draw(p);
        if (p.cellsFrom !== undefined) finishedSince = p.cellsFrom + p.cells.length;
      })
      .catch(() => undefined)
      .finally(() => {
        inFlight = null;
      }));
  const timer = setInterval(() => void poll(), intervalMs);
  return {
    now: async () => {
      await inFlight;
      await poll();
    },
    stop: async () => {
      clearInterval(timer);
      await inFlight;
    },
  };
}

/**
 * Lines for the finished cells the snapshots have not shown, from the results store: the last progress query may go
 * unanswered (the sweep's worker has stopped, or is slow to replay the finished sweep), the records are there.
 */
export async function finishFromStore(
  store: Pick<ResultsStore, 'listCells' | 'getSweep'>,
  sweepId: string,
  detail: StoreCellDetail,
  display: ProgressDisplay,
): Promise<void> {
  const cells = await store.listCells(sweepId);
  await detail.load(cells.map((c) => c.cellId));
  const planned = Math.max((await store.getSweep(sweepId))?.plannedCells ?? 0, cells.length);
  display.finishFrom(
    cells.map((c) => ({ id: c.cellId, status: c.status })),
    planned,
  );
}

/** Loads the records of the snapshot's finished cells into `detail`, so that drawing it can show them. */
export async function loadFinished(detail: StoreCellDetail, cells: SweepProgress['cells']): Promise<void> {
  await detail.load(cells.filter((c) => FINISHED.has(c.status)).map((c) => c.id));
}

/**
 * The live view (a terminal) or one line per finished cell. After done() it draws nothing: a progress query sent
 * just before the sweep ended may answer after the command printed what comes next (the status, the report).
 */
export function createProgressDisplay(opts: ProgressDisplayOptions): ProgressDisplay {
  const display = drawingDisplay(opts);
  let closed = false;
  return {
    update: (p) => {
      if (!closed) display.update(p);
    },
    finishFrom: (cells, total) => {
      if (!closed) display.finishFrom(cells, total);
    },
    done: () => {
      if (closed) return;
      closed = true;
      display.done();
    },
  };
}

function drawingDisplay(opts: ProgressDisplayOptions): ProgressDisplay {
  const now = opts.now ?? Date.now;
  const seen = noCellsShown();
  if (!opts.live) {
    return {
      update: (p) => {
        for (const line of finishedCellLines(p, seen, opts.detail)) opts.stream.write(`${line}\n`);
      },
      finishFrom: (cells, total) => {
        for (const line of finishedCellLines({ cells, total }, seen, opts.detail)) opts.stream.write(`${line}\n`);
      },
      done: () => undefined,
    };
  }
  const draw = createLogUpdate(opts.stream, { showCursor: true });
  return {
    update: (p) => {
      const t = now();
      // Finished cells scroll up above the view and stay in the terminal's history.
      const finished = finishedCellLines(p, seen, opts.detail);
      if (finished.length > 0) {
        draw.clear();
        opts.stream.write(`${finished.join('\n')}\n`);
      }
      draw(renderProgressView(p, { elapsedMs: t - opts.startedAtMs, nowMs: t }));
    },
    finishFrom: (cells, total) => {
      const finished = finishedCellLines({ cells, total }, seen, opts.detail);
      if (finished.length === 0) return;
      draw.clear();
      opts.stream.write(`${finished.join('\n')}\n`);
    },
    done: () => draw.done(),
  };
}
