import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CellRecord } from '../schema/outcome.js';
import { planSweep } from '../plan/plan.js';
import {
  compareSweeps,
  CSV_COLUMNS,
  modelDisplayName,
  quantizationLabel,
  renderCsv,
  renderHtmlReport,
  renderJsonStatus,
  renderMarkdownReport,
  SIMULATED_NOTICE,
  sizeLabel,
} from '../report/index.js';
import {
  cellsOf,
  assertGuideTables,
  GUIDE_POWER_TABLE,
  GUIDE_QUANTIZATION_TABLE,
  guideMetrics,
  guidePowerMetrics,
  metrics,
  sweepOf,
} from './helpers/report-sweeps.js';
import { parseCsv } from './helpers/csv.js';
import { section, tableRows } from './helpers/markdown.js';
import { experiment } from './helpers/experiment.js';

/** The guide's model list (its table of models, sizes and sources). */
const MODELS = [
  { id: 'qwen3-8b-bf16', path: 'Qwen/Qwen3-8B', quantization: 'bf16', size: '16G' },
  { id: 'qwen3-8b-fp8', path: 'Qwen/Qwen3-8B-FP8', quantization: 'fp8', size: '8.9G' },
  { id: 'qwen3-8b-fp4', path: 'nv-community/Qwen3-8B-FP4', quantization: 'fp4', size: '6G' },
  { id: 'qwen3-8b-gptq-int4', path: 'JunHowie/Qwen3-8B-GPTQ-Int4', quantization: 'gptq-int4', size: '5.7G' },
  { id: 'qwen3-8b-gptq-int8', path: 'JunHowie/Qwen3-8B-GPTQ-Int8', quantization: 'gptq-int8', size: '9G' },
  { id: 'qwen3-8b-awq', path: 'Qwen/Qwen3-8B-AWQ', quantization: 'awq', size: '5.7G' },
  { id: 'qwen3-8b-int4-w4a16', path: 'okwinds/Qwen3-8B-Int4-W4A16', quantization: 'w4a16', size: '5.7G' },
  { id: 'qwen3-8b-int8-w8a16', path: 'okwinds/Qwen3-8B-Int8-W8A16', quantization: 'w8a16', size: '8.9G' },
  { id: 'qwen3-8b-gguf-q5km', path: 'Qwen/Qwen3-8B-GGUF/Qwen3-8B-Q5_K_M.gguf', quantization: 'gguf', size: '5.5G' },
] as const;

const SCENARIOS = [
  { name: 'high-load', inputLen: 2048, outputLen: 128, numPrompts: 100, maxConcurrency: 8 },
  { name: 'low-load', inputLen: 2048, outputLen: 128, numPrompts: 10, maxConcurrency: 1 },
] as const;

/** The guide's power sweep: MAXN and 120W. */
const BOTH_POWER_MODES = [{ mode: 'MAXN' }, { mode: '120W' }];
/** FP8 and FP4 at MAXN with locked clocks, high load. */
const FP8_FP4_HIGH_LOAD = { clocks: ['locked'], models: [MODELS[1], MODELS[2]], scenarios: [SCENARIOS[0]] } as const;

function quantizationSweep(simulated = false) {
  const exp = experiment('qwen3-8b-quantization', { clocks: ['locked'], models: MODELS, scenarios: SCENARIOS });
  const sweep = sweepOf(exp, { simulated });
  // The guide's own printed blocks, parsed: no hand-typed numbers.
  const cells = cellsOf(exp, sweep, (p) => guideMetrics(`quantization__${p.model.id}.maxn-clocks.${p.scenario.name}`));
  return { exp, sweep, cells };
}

/** The lines of the section that starts with `heading`, up to the next heading. */
describe('report labels', () => {
  it('names models, quantizations and sizes the way the guide does', () => {
    assert.equal(modelDisplayName('qwen3-8b-fp4', 'nv-community/Qwen3-8B-FP4'), 'Qwen3-8B-FP4');
    assert.equal(modelDisplayName('qwen3-8b-gguf-q5km', 'Qwen/Qwen3-8B-GGUF/Qwen3-8B-Q5_K_M.gguf'), 'Qwen3-8B-GGUF');
    assert.equal(modelDisplayName('my-model', null), 'my-model');
    assert.equal(quantizationLabel('gguf', 'Qwen/Qwen3-8B-GGUF/Qwen3-8B-Q5_K_M.gguf'), 'GGUF(Q5_K_M)');
    assert.equal(quantizationLabel('gguf', 'Qwen/Qwen3-8B-GGUF'), 'GGUF');
    assert.equal(quantizationLabel('gptq-int8', null), 'GPTQ(Int8)');
    assert.equal(sizeLabel('8.9G'), '8.9 G');
    assert.equal(sizeLabel('16 GB'), '16 G');
    assert.equal(sizeLabel(null), '—');
  });
});

describe('markdown report', () => {
  it("reproduces the guide's quantization tables row for row", () => {
    const { sweep, cells } = quantizationSweep();
    const md = renderMarkdownReport({ sweep, cells });
    assertGuideTables(md, GUIDE_QUANTIZATION_TABLE);
    assert.match(md, /^# thorbench report: qwen3-8b-quantization\n/);
    assert.match(
      md,
      /- \*\*Device:\*\* NVIDIA Jetson AGX Thor Developer Kit \(thor-01\), L4T R38\.2\.1, simulated: no/,
    );
    assert.match(md, /18 planned · 18 succeeded · 0 failed · 0 skipped · 0 cancelled · 0 pending/);
    assert.ok(section(md, '## Failures').includes('None: every recorded cell succeeded.'));
    assert.ok(!md.includes(SIMULATED_NOTICE), 'a hardware sweep carries no simulator notice');
    assert.ok(!md.includes('Energy (J/token)'), 'no energy columns without energy data');
  });

  it("reproduces the guide's power mode × jetson_clocks table", () => {
    const exp = experiment('power-clocks', { power: BOTH_POWER_MODES, models: [MODELS[1]], scenarios: SCENARIOS });
    const sweep = sweepOf(exp);
    const cells = cellsOf(exp, sweep, (p) => guidePowerMetrics(p.powerKey, p.clocks, p.scenario.name));
    const md = renderMarkdownReport({ sweep, cells });
    assertGuideTables(md, GUIDE_POWER_TABLE);
    assert.ok(!md.includes('🚀'), 'the power table has no rocket, like the guide');
  });

  it('shows every varying column when power and models both vary, with energy when measured', () => {
    const exp = experiment('both', {
      power: BOTH_POWER_MODES,
      clocks: ['locked'],
      models: [MODELS[0], MODELS[1]],
      scenarios: [SCENARIOS[0]],
    });
    const sweep = sweepOf(exp);
    const cells = cellsOf(exp, sweep, (p) =>
      metrics(1, p.model.id === 'qwen3-8b-fp8' ? 298.07 : 82.47, 500, 22.59, {
        energy_per_output_token_j: 0.29861,
        output_throughput_per_w: 3.3456,
      }),
    );
    const lines = section(renderMarkdownReport({ sweep, cells }), '### high-load');
    assert.ok(
      lines.includes(
        '| Power mode | jetson_clocks | Model | Quantization | Size | Request throughput (req/s) | Output token throughput (tok/s) | Mean TTFT (ms) | Mean TPOT (ms) | Energy (J/token) | Efficiency (tok/s/W) |',
      ),
    );
    // Rows in the experiment's order (power mode, then model), though the plan ran one engine per model across
    // MAXN and 120W, each model starting where the last one ended.
    assert.deepEqual(tableRows(lines), [
      '| MAXN | yes | Qwen3-8B | BF16 | 16 G | 1.00 | 82.47 | 500.00 | 22.59 | 0.299 | 3.35 |',
      '| MAXN | yes | Qwen3-8B-FP8 🚀 | FP8 | 8.9 G | 1.00 | 298.07 | 500.00 | 22.59 | 0.299 | 3.35 |',
      '| 120W | yes | Qwen3-8B | BF16 | 16 G | 1.00 | 82.47 | 500.00 | 22.59 | 0.299 | 3.35 |',
      '| 120W | yes | Qwen3-8B-FP8 | FP8 | 8.9 G | 1.00 | 298.07 | 500.00 | 22.59 | 0.299 | 3.35 |',
    ]);
  });

  it('folds repeats into a mean ± the half-width of its 95 % confidence interval and counts successful runs', () => {
    const exp = experiment('repeats', { ...FP8_FP4_HIGH_LOAD, repeats: 3 });
    const sweep = sweepOf(exp);
    const tok: Record<number, number> = { 1: 290, 2: 298.07, 3: 300 };
    const cells = cellsOf(exp, sweep, (p) =>
      p.model.id === 'qwen3-8b-fp4' && p.repeat === 2 ? null : metrics(2, tok[p.repeat]!, 500, 22),
    );
    const md = renderMarkdownReport({ sweep, cells });
    assert.deepEqual(tableRows(section(md, '### high-load')), [
      // 290, 298.07, 300: s = 5.3047, t(0.975, 2) = 4.302653 → ± 13.18; 290, 300: t(0.975, 1) = 12.7062 → ± 63.53
      '| Qwen3-8B-FP8 🚀 | FP8 | 8.9 G | 2.00 ± 0.00 | 296.02 ± 13.18 | 500.00 ± 0.00 | 22.00 ± 0.00 | 3/3 ok |',
      '| Qwen3-8B-FP4 | FP4 | 6 G | 2.00 ± 0.00 | 295.00 ± 63.53 | 500.00 ± 0.00 | 22.00 ± 0.00 | 2/3 ok |',
    ]);
    assert.match(md, /means over the successful repeats ± the half-width of the 95 % confidence interval/);
  });

  it('lists every failed cell with its typed reason, step, exit status and engine log', () => {
    const exp = experiment('crashes', FP8_FP4_HIGH_LOAD);
    const sweep = sweepOf(exp, { simulated: true, state: 'failed' });
    const cells = cellsOf(exp, sweep, (p) =>
      p.model.id === 'qwen3-8b-fp4' ? null : metrics(2.33, 298.07, 495.44, 22.59),
    );
    const crashed = cells.find((c) => c.modelId === 'qwen3-8b-fp4')!;
    crashed.failure = {
      type: 'EngineOOMKilled',
      message: 'container "thorbench-engine" was OOM-killed | exit 137',
      retryable: true,
      step: 'startEngine',
    };
    crashed.engine = {
      ...crashed.engine!,
      exitCode: 137,
      oomKilled: true,
      logTail: 'INFO Loading safetensors\n```\ntorch.OutOfMemoryError: CUDA out of memory\nKilled',
    };
    const skipped: CellRecord = {
      ...crashed,
      cellId: 'maxn.locked.qwen3-8b-fp4.high-load.r2',
      repeat: 2,
      status: 'skipped',
      engine: null,
      failure: {
        type: 'ModelNotFound',
        message: 'no such directory /data/models/x',
        retryable: false,
        step: 'startEngine',
      },
    };
    const md = renderMarkdownReport({ sweep, cells: [...cells, skipped] });

    const top = md.split('\n').slice(0, 4).join('\n');
    assert.ok(top.includes(SIMULATED_NOTICE), 'a simulated sweep says so at the top');
    assert.ok(
      tableRows(section(md, '### high-load')).includes(
        '| Qwen3-8B-FP4 | FP4 | 6 G | skipped: ModelNotFound | — | — | — | 0/2 ok |',
      ),
    );

    const failure = section(md, '### `maxn.locked.qwen3-8b-fp4.high-load.r1` — failed: EngineOOMKilled');
    assert.ok(failure.includes('- **Reason:** EngineOOMKilled'));
    assert.ok(failure.includes('- **Message:** container "thorbench-engine" was OOM-killed | exit 137'));
    assert.ok(failure.includes('- **Retryable:** yes'));
    assert.ok(failure.includes('- **Failed step:** startEngine'));
    assert.ok(failure.includes('- **Engine exit status:** 137; OOM-killed: yes'));
    const fenceStart = failure.indexOf('````text');
    assert.ok(fenceStart > 0, 'the log is fenced with a fence longer than the ``` inside it');
    assert.deepEqual(failure.slice(fenceStart + 1, fenceStart + 6), [
      'INFO Loading safetensors',
      '```',
      'torch.OutOfMemoryError: CUDA out of memory',
      'Killed',
      '````',
    ]);

    const skippedSection = section(md, '### `maxn.locked.qwen3-8b-fp4.high-load.r2` — skipped: ModelNotFound');
    assert.ok(skippedSection.includes('- **Retryable:** no'));
    assert.ok(
      skippedSection.includes('- **Engine exit status:** engine still running or never started; OOM-killed: —'),
    );
    assert.match(md, /3 planned · 1 succeeded · 1 failed · 1 skipped · 0 cancelled · 0 pending/);
  });

  it('shows the timeline: planned position against actual start, and time per step', () => {
    const { sweep, cells } = quantizationSweep();
    // The sweep was resumed: the last planned cell ran first.
    const last = cells.at(-1)!;
    last.startedAt = '2025-10-01T07:00:00.000Z';
    last.finishedAt = '2025-10-01T07:01:45.000Z';
    const md = renderMarkdownReport({ sweep, cells });
    const timeline = tableRows(section(md, '## Timeline'));
    assert.equal(timeline.length, 18);
    assert.equal(timeline[0], `| #18 | #1 | ${last.cellId} | succeeded | 2025-10-01T07:00:00.000Z | 1 min 45 s |`);
    assert.equal(
      timeline[1],
      '| #1 | #2 | maxn.locked.qwen3-8b-bf16.high-load.r1 | succeeded | 2025-10-01T08:00:00.000Z | 1 min 45 s |',
    );
    assert.deepEqual(tableRows(section(md, '### Time per step')), [
      '| startEngine | 18 | 0 | 0 | 18 min 00 s | 1 min 00 s |',
      '| benchmark | 18 | 0 | 0 | 13 min 30 s | 45.0 s |',
    ]);
  });

  it('renders an empty sweep without inventing anything', () => {
    const { sweep } = quantizationSweep();
    const md = renderMarkdownReport({ sweep: { ...sweep, state: 'running', finishedAt: null }, cells: [] });
    assert.match(md, /No cell has been recorded yet\./);
    assert.match(md, /18 planned · 0 succeeded · 0 failed · 0 skipped · 0 cancelled · 18 pending/);
    assert.match(md, /Nothing has run yet\./);
  });
});

describe('csv', () => {
  it('writes one row per cell with every metric key, quoting per RFC 4180', () => {
    const { cells } = quantizationSweep();
    const tricky = {
      ...cells[0]!,
      status: 'failed' as const,
      metrics: null,
      failure: {
        type: 'EngineCrashed' as const,
        message: 'said "no", then\r\ncrashed, twice',
        retryable: false,
        step: 'benchmark' as const,
      },
    };
    const csv = renderCsv([tricky, ...cells.slice(1)]);
    assert.ok(csv.endsWith('\r\n'));
    const rows = parseCsv(csv);
    assert.deepEqual(rows[0], [...CSV_COLUMNS]);
    for (const key of [
      'duration',
      'output_throughput',
      'mean_ttft_ms',
      'p99_itl_ms',
      'energy_per_output_token_j',
      'output_throughput_per_w',
    ]) {
      assert.ok(rows[0]!.includes(key), `column ${key}`);
    }
    assert.equal(rows.length, cells.length + 1);
    assert.ok(rows.every((r) => r.length === CSV_COLUMNS.length));
    const col = (name: string) => CSV_COLUMNS.indexOf(name);
    assert.equal(rows[1]![col('failure_message')], 'said "no", then\r\ncrashed, twice');
    assert.ok(csv.includes('"said ""no"", then\r\ncrashed, twice"'));
    assert.equal(rows[1]![col('output_throughput')], '');
    const fp8 = rows.find((r) => r[col('cell_id')] === 'maxn.locked.qwen3-8b-fp8.high-load.r1')!;
    assert.equal(fp8[col('output_throughput')], '298.07');
    assert.equal(fp8[col('status')], 'succeeded');
  });

  it('adds a column for every other percentile key the cells have, by metric then percentile', () => {
    const { cells } = quantizationSweep();
    const extra = { 'p99.9_itl_ms': 41.5, p50_ttft_ms: 400, p90_ttft_ms: 450 };
    const withPct = cells.map((c, i) => (i === 0 && c.metrics ? { ...c, metrics: { ...c.metrics, ...extra } } : c));
    const rows = parseCsv(renderCsv(withPct));
    assert.deepEqual(rows[0], [...CSV_COLUMNS, 'p50_ttft_ms', 'p90_ttft_ms', 'p99.9_itl_ms']);
    assert.ok(rows.every((r) => r.length === CSV_COLUMNS.length + 3));
    const first = rows.find((r) => r[CSV_COLUMNS.indexOf('cell_id')] === withPct[0]!.cellId)!;
    assert.deepEqual(first.slice(-3), ['400', '450', '41.5']);
    assert.deepEqual(rows[2]!.slice(-3), ['', '', '']);
  });
});

describe('moved cells (failover)', () => {
  const movedFrom = {
    deviceId: 'thor-b',
    reason: 'no worker of thorbench-device-thor-b picked up benchmark within 5 s (DeviceLost)',
    at: '2025-10-01T10:05:00.000Z',
  };

  it('CSV and JSON say which device a moved cell left, why and when; other cells leave the columns empty', () => {
    const { cells } = quantizationSweep();
    const moved = { ...cells[0]!, movedFrom };
    const rows = parseCsv(renderCsv([moved, ...cells.slice(1)]));
    const col = (name: string) => CSV_COLUMNS.indexOf(name);
    const row = rows.find((r) => r[col('cell_id')] === moved.cellId)!;
    assert.deepEqual(
      [row[col('moved_from_device')], row[col('moved_reason')], row[col('moved_at')]],
      [movedFrom.deviceId, movedFrom.reason, movedFrom.at],
    );
    assert.ok(
      rows
        .slice(1)
        .filter((r) => r !== row)
        .every((r) => r[col('moved_from_device')] === ''),
    );
    assert.deepEqual(JSON.parse(JSON.stringify(moved)).movedFrom, movedFrom);
  });

  it('Markdown adds a short "Moved cells" note only when a cell moved', () => {
    const { sweep, cells } = quantizationSweep();
    assert.ok(!renderMarkdownReport({ sweep, cells }).includes('## Moved cells'));
    const md = renderMarkdownReport({ sweep, cells: [{ ...cells[0]!, movedFrom }, ...cells.slice(1)] });
    assert.match(md, /## Moved cells\n\n1 cell\(s\) moved off a lost device and ran elsewhere:/);
    assert.ok(md.includes(`\`${cells[0]!.cellId}\`: \`thor-b\` → `), md);
    assert.ok(md.includes('picked up benchmark within 5 s (DeviceLost)'));
  });
});

describe('html report', () => {
  it('is self-contained and escapes every string from the sweep', async () => {
    const { sweep, cells } = quantizationSweep(true);
    const evil = '<script>alert(1)</script>';
    const hostile = cells.map((c, i) =>
      i === 0
        ? {
            ...c,
            modelId: `m${evil}`,
            scenario: `s${evil}`,
            status: 'failed' as const,
            metrics: null,
            failure: {
              type: 'EngineCrashed' as const,
              message: `msg ${evil} & "quotes"`,
              retryable: false,
              step: 'benchmark' as const,
            },
          }
        : c,
    );
    const html = await renderHtmlReport({ sweep: { ...sweep, experimentName: `exp${evil}` }, cells: hostile });
    assert.ok(!/<script/i.test(html), 'no raw <script> anywhere');
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.ok(html.includes('msg &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;'));
    const external = /\b(src|href)="(?!#)/i.test(html) || /<link/i.test(html) || /url\((?!#)/.test(html);
    assert.ok(!external, 'no external assets, only in-page links');
    assert.match(html, /^<!DOCTYPE html>/);
    assert.ok(html.includes(SIMULATED_NOTICE.replace(/'/g, '&#39;')));
  });

  it('has the tables and a chart per view, drawn by Vega as inline SVG', async () => {
    const { sweep, cells } = quantizationSweep();
    const html = await renderHtmlReport({ sweep, cells });
    const charts = [...html.matchAll(/<figure class="chart" id="chart-([a-z-]+)"/g)].map((m) => m[1]);
    // One power mode and one clocks setting: no power × clocks chart, and no energy was measured.
    assert.deepEqual(charts, [
      'throughput',
      'ttft',
      'tpot',
      'tradeoff',
      'latency-distributions',
      'pareto-high-load',
      'pareto-low-load',
      'timeline',
    ]);
    assert.equal((html.match(/<svg /g) ?? []).length, 8);
    assert.ok(
      html.includes(
        '<tr class="best"><td>Qwen3-8B-FP8 🚀</td><td>FP8</td><td>8.9 G</td><td>2.33</td><td>298.07</td><td>495.44</td><td>22.59</td></tr>',
      ),
    );
    assert.ok(
      html.includes(
        '<td>Qwen3-8B-GGUF</td><td>GGUF(Q5_K_M)</td><td>5.5 G</td><td>0.06</td><td>7.91</td><td>43688.41</td><td>670.56</td>',
      ),
    );
    // The throughput chart draws one bar per row of both tables (9 models × 2 scenarios).
    const throughput = /<figure class="chart" id="chart-throughput"[^]*?<\/figure>/.exec(html)![0];
    const groups = [...throughput.matchAll(/<g class="mark-rect role-mark[^>]*>([^]*?)<\/g>/g)];
    const bars = groups.map((m) => (m[1]!.match(/<path /g) ?? []).length);
    assert.deepEqual(bars, [9, 9]);
  });
});

describe('status json', () => {
  it('lists recorded cells with vLLM metric keys and planned cells as pending', () => {
    const { exp, sweep, cells } = quantizationSweep();
    const recorded = cells.slice(0, 3);
    recorded[2] = {
      ...recorded[2]!,
      status: 'failed',
      metrics: null,
      failure: { type: 'EngineCrashed', message: 'boom', retryable: false, step: 'benchmark' },
    };
    const plan = planSweep(exp);
    const status = renderJsonStatus({
      sweep: { ...sweep, state: 'running', finishedAt: null },
      cells: recorded,
      planned: plan.cells.map((c) => c.id),
    });
    assert.equal(status.sweepId, sweep.sweepId);
    assert.equal(status.experiment, 'qwen3-8b-quantization');
    assert.equal(status.state, 'running');
    assert.equal(status.simulated, false);
    assert.deepEqual(status.counts, {
      succeeded: 2,
      failed: 1,
      skipped: 0,
      cancelled: 0,
      planned: 18,
      recorded: 3,
      pending: 15,
    });
    assert.equal(status.cells.length, 18);
    assert.deepEqual(status.cells[0], {
      id: 'maxn.locked.qwen3-8b-bf16.high-load.r1',
      repeat: 1,
      status: 'succeeded',
      position: 0,
      power: 'maxn',
      clocks: 'locked',
      model: 'qwen3-8b-bf16',
      quantization: 'bf16',
      scenario: 'high-load',
      failure: null,
      metrics: cells[0]!.metrics,
      verdict: { valid: true, reasons: [] },
    });
    assert.equal(status.cells[0]!.metrics?.output_throughput, 82.47);
    assert.equal(status.cells[2]!.failure?.type, 'EngineCrashed');
    const pending = status.cells.find((c) => c.id === 'maxn.locked.qwen3-8b-gguf-q5km.low-load.r1');
    assert.deepEqual(pending, {
      id: 'maxn.locked.qwen3-8b-gguf-q5km.low-load.r1',
      repeat: 1,
      status: 'pending',
      position: 17,
      power: 'maxn',
      clocks: 'locked',
      model: 'qwen3-8b-gguf-q5km',
      quantization: 'gguf',
      scenario: 'low-load',
      failure: null,
      metrics: null,
      verdict: null,
    });
    // The plan's own cells work as well as their ids.
    const fromPlan = renderJsonStatus({ sweep, cells: recorded, planned: plan.cells });
    assert.deepEqual(fromPlan.cells, status.cells);
    assert.deepEqual(JSON.parse(JSON.stringify(status)), status, 'plain JSON');
  });
});

describe('comparing sweeps', () => {
  it('puts the same cells side by side with absolute and relative deltas', () => {
    const a = quantizationSweep();
    const b = quantizationSweep(true);
    const bCells = b.cells.map((c) =>
      c.modelId === 'qwen3-8b-fp8' && c.scenario === 'high-load'
        ? { ...c, metrics: { ...c.metrics!, output_throughput: 149.04, mean_tpot_ms: 45.18 } }
        : c,
    );
    const text = compareSweeps(
      { sweep: a.sweep, cells: a.cells },
      { sweep: { ...b.sweep, sweepId: 'sim-run' }, cells: bCells.slice(0, 17) },
    );
    assert.match(text, /## Comparison: sim-run \(b\) against qwen3-8b-quantization-20251001 \(a\)/);
    const rows = tableRows(text.split('\n'));
    assert.equal(rows.length, 17);
    const fp8 = rows.find((r) => r.startsWith('| maxn.locked.qwen3-8b-fp8.high-load.r1 |'))!;
    assert.ok(fp8.includes('| 298.07 → 149.04 (−149.03, −50.0 %) |'), fp8);
    assert.ok(fp8.includes('| 22.59 → 45.18 (+22.59, +100.0 %) |'), fp8);
    assert.ok(fp8.includes('| 495.44 → 495.44 (±0.00, ±0.0 %) |'), fp8);
    assert.match(text, /Not compared: 1 cell\(s\) only in a, 0 only in b, 0 in both but not succeeded in both\./);
  });
});
