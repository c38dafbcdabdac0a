/**
 * `thorbench status <sweep> [--json]`: where a sweep stands. Cells and metrics come from the results database;
 * while the workflow runs, its `progress` query adds the cells not recorded yet (pending or running).
 */
import { openResultsStore } from '../../store/store.js';
import type { CellRecord } from '../../schema/outcome.js';
import { progressQuery, type SweepProgress } from '../../workflows/messages.js';
import { type CliEnv, connectTemporal } from '../context.js';
import { EXIT_INVALID, ExitError } from '../errors.js';

export interface StatusJson {
  sweepId: string;
  experiment: string | null;
  /** running | completed | failed | cancelled | terminated | timed_out | unknown */
  state: string;
  simulated: boolean | null;
  counts: Record<string, number>;
  cells: {
    id: string;
    repeat: number | null;
    status: string;
    position: number | null;
    failure: CellRecord['failure'];
    metrics: CellRecord['metrics'];
  }[];
}

async function workflowView(env: CliEnv, sweepId: string): Promise<{ state: string; progress: SweepProgress | null } | null> {
  try {
    const conn = await connectTemporal(env, { startServer: false });
    try {
      const handle = conn.client.workflow.getHandle(sweepId);
      const d = await handle.describe();
      const state = d.status.name.toLowerCase();
      const progress = state === 'running' ? await handle.query(progressQuery).catch(() => null) : null;
      return { state, progress };
    } finally {
      await conn.close();
    }
  } catch {
    return null;
  }
}

export async function statusJson(env: CliEnv, sweepId: string): Promise<StatusJson> {
  const store = openResultsStore(env.dbFile);
  try {
    const sweep = store.getSweep(sweepId);
    const recorded = store.listCells(sweepId);
    const view = await workflowView(env, sweepId);
    if (!sweep && !view) throw new ExitError(`no sweep "${sweepId}" in ${env.dbFile} or on the Temporal server`, EXIT_INVALID);
    const byId = new Map(recorded.map((c) => [c.cellId, c]));
    const cells: StatusJson['cells'] = recorded.map((c) => ({ id: c.cellId, repeat: c.repeat, status: c.status, position: c.position, failure: c.failure, metrics: c.metrics }));
    for (const p of view?.progress?.cells ?? []) {
      if (!byId.has(p.id)) cells.push({ id: p.id, repeat: null, status: p.status, position: null, failure: null, metrics: null });
    }
    const counts: Record<string, number> = {};
    for (const c of cells) counts[c.status] = (counts[c.status] ?? 0) + 1;
    return {
      sweepId,
      experiment: sweep?.experimentName ?? view?.progress?.experiment ?? null,
      state: view?.state ?? sweep?.state ?? 'unknown',
      simulated: sweep?.simulated ?? null,
      counts,
      cells,
    };
  } finally {
    store.close();
  }
}

export async function status(opts: { sweepId: string; json: boolean; env: CliEnv; out: (line: string) => void }): Promise<void> {
  const s = await statusJson(opts.env, opts.sweepId);
  if (opts.json) {
    opts.out(JSON.stringify(s, null, 2));
    return;
  }
  opts.out(`${s.sweepId} (${s.experiment ?? 'unknown experiment'}): ${s.state}${s.simulated ? ' — simulated Thor' : ''}`);
  opts.out(`  ${Object.entries(s.counts).map(([k, v]) => `${k} ${v}`).join(', ') || 'no cells recorded yet'}`);
  for (const c of s.cells) {
    const m = c.metrics;
    const detail = m
      ? `${m.output_throughput.toFixed(2)} tok/s, TTFT ${m.mean_ttft_ms.toFixed(2)} ms, TPOT ${m.mean_tpot_ms.toFixed(2)} ms`
      : (c.failure ? `${c.failure.type}: ${c.failure.message}` : '');
    opts.out(`  ${c.status.padEnd(9)} ${c.id}${detail ? `  ${detail}` : ''}`);
  }
}
