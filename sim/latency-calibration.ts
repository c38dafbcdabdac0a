/**
 * Fits the simulator's step costs (sim/latency-model.ts) to the guide's 43 result blocks and measures how close
 * the simulator comes, in virtual time (sim/virtual-run.ts), so a fit and a full check take seconds.
 *
 *   npm run build && node dist/sim/latency-calibration.js [--only=<group>,...]   fit, print constants
 *   npm run bench:sim-fidelity                                               the table of differences
 *
 * A fit group is one engine on one device setting (family, model, power, clocks): its blocks are the guide's
 * high- and low-load runs, or its three scenarios. The fit minimises the squared log errors of every metric the
 * block reports, each divided by the tolerance of its class (throughputs and means 3 %, medians 10 %, p99 20 %),
 * by Nelder–Mead over the logarithms of the step-cost parameters.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type GuideBlock, readGuideBlocks } from './guide-blocks.js';
import { type LatencyParams, calibrationKey, latencyParams, modelScaleFromPath } from './latency-model.js';
import { type VirtualRunResult, runVirtual } from './virtual-run.js';

/** Per-step jitter of the live engine (sim/engine-server.ts), used in the virtual runs too. */
export const STEP_JITTER = 0.03;

export type MetricClass = 'mean' | 'median' | 'p99';

/** The metrics a guide block reports, and the fidelity target of each. */
export const COMPARED_METRICS: readonly { key: string; cls: MetricClass }[] = [
  { key: 'duration', cls: 'mean' },
  { key: 'request_throughput', cls: 'mean' },
  { key: 'output_throughput', cls: 'mean' },
  { key: 'total_token_throughput', cls: 'mean' },
  ...(['ttft', 'tpot', 'itl'] as const).flatMap((m) => [
    { key: `mean_${m}_ms`, cls: 'mean' as const },
    { key: `median_${m}_ms`, cls: 'median' as const },
    { key: `p99_${m}_ms`, cls: 'p99' as const },
  ]),
];

export const TOLERANCE: Record<MetricClass, number> = { mean: 0.03, median: 0.1, p99: 0.2 };

/**
 * The guide block's benchmark as the virtual run takes it: its prompts with their lengths (sim/guide-blocks.ts) and
 * the tokens its model actually generated. The live tests send the same prompt lengths: whether a prompt fits beside
 * the running decodes in one step's budget decides when it gets its first token, so they must be the same in both.
 */
export function blockScenario(block: GuideBlock): GuideBlock['scenario'] {
  return { ...block.scenario, generatedTokens: block.expected.total_output_tokens };
}

/** Runs one guide block in virtual time with the given parameters (default: the shipped calibration). */
export function simulateBlock(block: GuideBlock, params?: LatencyParams): VirtualRunResult {
  const p =
    params ??
    latencyParams({
      quantization: block.quantization,
      powerModeId: block.powerModeId,
      clocksLocked: block.clocksLocked,
      modelPath: block.modelPath,
      family: block.family,
    });
  return runVirtual(p, blockScenario(block), { jitter: STEP_JITTER, jitterSeed: 7 });
}

export interface MetricDiff {
  key: string;
  cls: MetricClass;
  guide: number;
  sim: number;
  /** sim / guide − 1 */
  rel: number;
  ok: boolean;
}

/** Compares a virtual run with the block's numbers, metric by metric (only what the block reports). */
export function compareBlock(block: GuideBlock, result: VirtualRunResult): MetricDiff[] {
  const sim = result.metrics as unknown as Record<string, number>;
  const out: MetricDiff[] = [];
  for (const { key, cls } of COMPARED_METRICS) {
    const guide = block.expected[key];
    if (guide === undefined || !(guide > 0)) continue;
    const value = sim[key]!;
    const rel = value / guide - 1;
    out.push({ key, cls, guide, sim: value, rel, ok: Math.abs(rel) <= TOLERANCE[cls] });
  }
  return out;
}

/** Blocks fitted together: one engine on one device setting. */
export function fitGroups(blocks: GuideBlock[]): Map<string, GuideBlock[]> {
  const groups = new Map<string, GuideBlock[]>();
  for (const b of blocks) {
    const key = `${b.family}|${b.model}|${b.powerModeId}|${b.clocksLocked}`;
    const list = groups.get(key) ?? [];
    // The power sweep's MAXN+clocks blocks repeat the quantization sweep's FP8 blocks: fit them once.
    if (!list.some((x) => x.load === b.load)) list.push(b);
    groups.set(key, list);
  }
  return groups;
}

function loss(blocks: GuideBlock[], p: LatencyParams): number {
  let sum = 0;
  for (const b of blocks) {
    for (const d of compareBlock(b, simulateBlock(b, p))) {
      const e = Math.log(d.sim / d.guide) / TOLERANCE[d.cls];
      sum += e * e;
    }
  }
  return sum;
}

/** A starting point read off the blocks: low-load TPOT is one decode step, the ITL tail one prompt's step. */
function initialGuess(blocks: GuideBlock[]): LatencyParams {
  const low = blocks.find((b) => b.load === 'low-load')?.expected;
  const high = blocks.find((b) => b.load === 'high-load')?.expected;
  if (low && high) {
    const b = Math.max(0.1, (high.median_itl_ms! - low.mean_tpot_ms!) / 7);
    const a = Math.max(0.5, low.mean_tpot_ms! - b);
    const c = Math.max(1e-4, (high.p99_itl_ms! - high.median_itl_ms!) / 2048);
    const frontEndMs = Math.max(1, low.mean_ttft_ms! - low.mean_tpot_ms!);
    return {
      stepBaseMs: a,
      decodePerSeqMs: b,
      batchExponent: 1,
      prefillMsPerToken: c * 0.8,
      frontEndMs,
      eagerStepMs: c * 400,
      contextWeight: 0.5,
    };
  }
  // Scenarios (no low load): a chat step is mostly a decode of a full batch (256 sequences, 2^(8·0.7) ≈ 48); a
  // long-context step also carries a budget's worth (≈ 1800 tokens) of prompts.
  const chat = blocks.find((x) => x.load === 'chat')?.expected ?? blocks[0]!.expected;
  const long = blocks.find((x) => x.load === 'long-context')?.expected ?? blocks[0]!.expected;
  const decodePerSeqMs = (chat.median_itl_ms! * 0.85) / 48;
  const prefillMsPerToken = Math.max(0.01, (long.median_itl_ms! - chat.median_itl_ms!) / 1800);
  return {
    stepBaseMs: chat.median_itl_ms! * 0.15,
    decodePerSeqMs,
    batchExponent: 0.7,
    prefillMsPerToken,
    frontEndMs: 15,
    eagerStepMs: 10,
    contextWeight: 0.5,
  };
}

type Vector = number[];
const FREE = [
  'stepBaseMs',
  'decodePerSeqMs',
  'prefillMsPerToken',
  'frontEndMs',
  'batchExponent',
  'eagerStepMs',
  'contextWeight',
] as const;

function toParams(x: Vector): LatencyParams {
  return Object.fromEntries(FREE.map((k, i) => [k, Math.exp(x[i]!)])) as Record<(typeof FREE)[number], number>;
}

/** Nelder–Mead on log-parameters. Deterministic. */
function nelderMead(f: (x: Vector) => number, x0: Vector, iterations: number): { x: Vector; fx: number } {
  const n = x0.length;
  let simplex: { x: Vector; fx: number }[] = [{ x: x0, fx: f(x0) }];
  for (let i = 0; i < n; i++) {
    const x = x0.slice();
    x[i]! += 0.3;
    simplex.push({ x, fx: f(x) });
  }
  for (let it = 0; it < iterations; it++) {
    simplex.sort((a, b) => a.fx - b.fx);
    const best = simplex[0]!;
    const worst = simplex[n]!;
    const centroid = x0.map((_, j) => simplex.slice(0, n).reduce((s, v) => s + v.x[j]!, 0) / n);
    const at = (t: number): Vector => centroid.map((c, j) => c + t * (worst.x[j]! - c));
    const r = { x: at(-1), fx: 0 };
    r.fx = f(r.x);
    if (r.fx < best.fx) {
      const e = { x: at(-2), fx: 0 };
      e.fx = f(e.x);
      simplex[n] = e.fx < r.fx ? e : r;
    } else if (r.fx < simplex[n - 1]!.fx) simplex[n] = r;
    else {
      const c = { x: at(0.5), fx: 0 };
      c.fx = f(c.x);
      if (c.fx < worst.fx) simplex[n] = c;
      else
        simplex = simplex
          .map((v, i) => (i === 0 ? v : { x: v.x.map((xj, j) => best.x[j]! + 0.5 * (xj - best.x[j]!)), fx: 0 }))
          .map((v, i) => (i === 0 ? v : { ...v, fx: f(v.x) }));
    }
  }
  simplex.sort((a, b) => a.fx - b.fx);
  return simplex[0]!;
}

export interface GroupFit {
  params: LatencyParams;
  loss: number;
}

/** Fits one group's parameters, starting from `start` (default: read off the blocks). */
export function fitGroup(blocks: GuideBlock[], start?: LatencyParams, iterations = 250): GroupFit {
  const p0 = start ?? initialGuess(blocks);
  const f = (x: Vector): number => {
    const p = toParams(x);
    // A batch may cost less per sequence as it grows, never less in total; a sequence always costs something.
    if (p.batchExponent > 2.5 || p.batchExponent < 0.2 || p.decodePerSeqMs < 0.05 || p.contextWeight > 1)
      return Infinity;
    return loss(blocks, p);
  };
  let best = nelderMead(
    f,
    FREE.map((k) => Math.log(Math.max(1e-6, p0[k]))),
    iterations,
  );
  // Restarting from the optimum gets Nelder–Mead out of a collapsed simplex.
  best = nelderMead(f, best.x, iterations);
  return { params: toParams(best.x), loss: best.fx };
}

function round(x: number): number {
  return Number(x.toPrecision(5));
}

/** A table entry as sim/latency-model.ts writes it. */
export function paramsLiteral(key: string, p: LatencyParams): string {
  const numbers = FREE.map((k) => `${k}: ${round(p[k])}`);
  return [
    `  ${/^[A-Za-z]+$/.test(key) ? key : `'${key}'`}: {`,
    `    ${numbers.slice(0, 4).join(', ')},`,
    `    ${numbers.slice(4).join(', ')},`,
    '  },',
  ].join('\n');
}

/** Where a group's fit goes in sim/latency-model.ts: CALIBRATED, or FP8_POWER_FIT for FP8 at another setting. */
export function tableKey(block: GuideBlock): { table: 'CALIBRATED' | 'FP8_POWER_FIT'; key: string } {
  const tag = modelScaleFromPath(block.modelPath).tag;
  if (
    block.family === 'vllm-0.10' &&
    block.quantization === 'fp8' &&
    tag === '8B' &&
    !(block.powerModeId === 0 && block.clocksLocked)
  ) {
    return {
      table: 'FP8_POWER_FIT',
      key: `${block.powerModeId === 0 ? 'MAXN' : '120W'}${block.clocksLocked ? '-clocks' : ''}`,
    };
  }
  return { table: 'CALIBRATED', key: calibrationKey(block.family, tag, block.quantization) };
}

/** The table of differences for every block, with the shipped calibration. */
export function fidelityTable(blocks = readGuideBlocks()): { block: GuideBlock; diffs: MetricDiff[] }[] {
  return blocks.map((block) => ({ block, diffs: compareBlock(block, simulateBlock(block)) }));
}

function pct(x: number): string {
  return `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
}

export function formatFidelityTable(rows: ReturnType<typeof fidelityTable>): string {
  const keys = COMPARED_METRICS.map((m) => m.key).filter(
    (k) => !['request_throughput', 'total_token_throughput', 'duration'].includes(k),
  );
  const short = (k: string): string => k.replace(/_ms$/, '').replace('output_throughput', 'out_tput');
  const lines = [['block', ...keys.map(short)].join(' | ')];
  for (const { block, diffs } of rows) {
    const cells = keys.map((k) => {
      const d = diffs.find((x) => x.key === k);
      return d ? `${pct(d.rel)}${d.ok ? '' : '!'}` : '—';
    });
    lines.push([block.name, ...cells].join(' | '));
  }
  const worst = (cls: MetricClass): string => {
    const all = rows.flatMap((r) => r.diffs.filter((d) => d.cls === cls).map((d) => ({ d, name: r.block.name })));
    const w = all.reduce((a, b) => (Math.abs(b.d.rel) > Math.abs(a.d.rel) ? b : a));
    const within = all.filter((x) => x.d.ok).length;
    return `${cls}: ${within}/${all.length} within ${TOLERANCE[cls] * 100} %, worst ${pct(w.d.rel)} (${w.name} ${w.d.key})`;
  };
  lines.push('', `'!' = outside the target. ${(['mean', 'median', 'p99'] as const).map(worst).join('; ')}`);
  return lines.join('\n');
}

function main(): void {
  const args = process.argv.slice(2);
  const blocks = readGuideBlocks(args.find((a) => !a.startsWith('--')));
  if (args.includes('--table')) {
    console.log(formatFidelityTable(fidelityTable(blocks)));
    return;
  }
  const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length);
  const iterations = Number(args.find((a) => a.startsWith('--iterations='))?.slice('--iterations='.length) ?? 250);
  const out: Record<string, string[]> = { CALIBRATED: [], FP8_POWER_FIT: [] };
  for (const [key, group] of fitGroups(blocks)) {
    if (only && !only.split(',').some((o) => key.includes(o))) continue;
    const started = Date.now();
    // --refine also starts from the shipped constants, besides the blocks' rough reading, and keeps the better.
    const first = group[0]!;
    const shipped = latencyParams({
      quantization: first.quantization,
      powerModeId: first.powerModeId,
      clocksLocked: first.clocksLocked,
      modelPath: first.modelPath,
      family: first.family,
    });
    let fit = args.includes('--from-shipped')
      ? fitGroup(group, shipped, iterations)
      : fitGroup(group, undefined, iterations);
    if (args.includes('--refine')) {
      const refined = fitGroup(group, shipped, iterations);
      if (refined.loss < fit.loss) fit = refined;
    }
    const where = tableKey(group[0]!);
    console.error(`${key}: loss ${fit.loss.toFixed(2)} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    out[where.table]!.push(paramsLiteral(where.key, fit.params));
  }
  for (const [table, entries] of Object.entries(out))
    if (entries.length) console.log(`${table}:\n${entries.join('\n')}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) main();
