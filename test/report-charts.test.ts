/**
 * The report's charts: each spec builder is a pure function checked on its data, every spec compiles with
 * Vega-Lite, and the renderer draws them to SVG offline.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TopLevelSpec } from 'vega-lite';
import { compile } from 'vega-lite';
import {
  barData,
  cellSampleKey,
  chartLabel,
  latencyCdfData,
  paretoFront,
  powerClocksChart,
  quantileSorted,
  reportCharts,
  timelineData,
  timelineLanes,
  tradeoffData,
} from '../report/charts.js';
import { samplesFromArtifact } from '../cli/report-samples.js';
import { buildComparison, comparisonCsv, comparisonJson } from '../report/compare.js';
import { renderHtmlReport } from '../report/html.js';
import { renderMarkdownReport } from '../report/markdown.js';
import { buildReportModel } from '../report/model.js';
import { changeSummary, fmtChange, powerClocksComparisons, powerClocksTable } from '../report/power-clocks.js';
import { namespaceSvgIds, renderChartSvg } from '../report/render.js';
import { cellsOf, experimentOf, fullMatrixSweep, guidePowerMetrics, sweepOf } from './helpers/report-sweeps.js';

const full = () => {
  const { sweep, cells } = fullMatrixSweep();
  return { sweep, cells, model: buildReportModel({ sweep, cells }) };
};

describe('chart data', () => {
  it('labels rows by what varies', () => {
    const { model } = full();
    const group = model.sections[0]!.rows[0]!;
    assert.equal(chartLabel(model.dims, group), 'Qwen3-8B-FP8 · MAXN · clocks default');
    assert.equal(chartLabel({ power: false, clocks: true, model: false, repeats: false }, group), 'clocks default');
    assert.equal(chartLabel({ power: false, clocks: false, model: false, repeats: false }, group), 'Qwen3-8B-FP8');
  });

  it('bars carry the mean and its 95 % interval over repeats, and the outcome of a row without values', () => {
    const { model } = full();
    const data = barData(model, [['mean', 'output_throughput']]);
    assert.equal(data.length, 16, 'one bar per row: 2 power × 2 clocks × 2 models × 2 scenarios');
    const fp8 = data.find((d) => d.scenario === 'high-load' && d.label === 'Qwen3-8B-FP8 · MAXN · clocks locked')!;
    assert.equal(fp8.runs, 2);
    // Two runs 298.07 and 1.02 × 298.07: s = 0.02 × 298.07 / √2, t(0.975, 1 df) = 12.7062, half-width = t·s/√2.
    const half = (12.706204736174707 * (0.02 * 298.07)) / 2;
    assert.ok(Math.abs(fp8.value! - 298.07 * 1.01) < 1e-9);
    assert.ok(Math.abs(fp8.lo! - (fp8.value! - half)) < 1e-6, String(fp8.lo));
    assert.ok(Math.abs(fp8.hi! - (fp8.value! + half)) < 1e-6, String(fp8.hi));
    // The AWQ 120W low-load row lost one repeat: its spread is one run, its bar still drawn.
    const awq = data.find((d) => d.scenario === 'low-load' && d.label === 'Qwen3-8B-AWQ · 120W · clocks default')!;
    assert.equal(awq.runs, 1);
    assert.equal(awq.lo, awq.hi);
  });

  it('says "not measured" where a succeeded row lacks the metric, and the outcome where nothing succeeded', () => {
    const { sweep, cells } = full();
    const edited = cells.map((c) =>
      c.cellId.startsWith('maxn.default.qwen3-8b-fp8.high-load') && c.metrics
        ? { ...c, metrics: { ...c.metrics, energy_per_output_token_j: null } }
        : c,
    );
    const failed = edited.map((c) =>
      c.cellId.startsWith('maxn.default.qwen3-8b-awq.high-load')
        ? {
            ...c,
            status: 'failed' as const,
            metrics: null,
            failure: { type: 'EngineCrashed' as const, message: 'x', retryable: false, step: 'benchmark' as const },
          }
        : c,
    );
    const data = barData(buildReportModel({ sweep, cells: failed }), [['mean', 'energy_per_output_token_j']]);
    const note = (label: string) => data.find((d) => d.scenario === 'high-load' && d.label === label)!.note;
    assert.equal(note('Qwen3-8B-FP8 · MAXN · clocks default'), 'not measured');
    assert.equal(note('Qwen3-8B-AWQ · MAXN · clocks default'), 'failed: EngineCrashed');
    assert.equal(note('Qwen3-8B-FP8 · MAXN · clocks locked'), null);
  });

  it('finds the Pareto front: nothing else has more throughput at no more latency', () => {
    const pts = [
      { latency: 10, throughput: 50 },
      { latency: 20, throughput: 80 },
      { latency: 15, throughput: 40 }, // dominated by the first
      { latency: 30, throughput: 80 }, // same throughput, more latency: dominated
      { latency: 40, throughput: 120 },
      { latency: 10, throughput: 45 }, // same latency, less throughput: dominated
    ];
    assert.deepEqual(paretoFront(pts), [0, 1, 4]);
    assert.deepEqual(paretoFront([]), []);
  });

  it('marks the front per scenario and latency metric, one point per succeeded cell', () => {
    const { model, cells } = full();
    const data = tradeoffData(model);
    assert.equal(data.length, cells.filter((c) => c.status === 'succeeded').length * 2);
    const front = data.filter((d) => d.scenario === 'low-load' && d.latencyMetric === 'Mean TPOT (ms)' && d.pareto);
    // FP8 at MAXN with locked clocks has both the most throughput and the least TPOT: it alone is the front.
    assert.deepEqual(
      front.map((d) => d.cellId),
      ['maxn.locked.qwen3-8b-fp8.low-load.r2'],
    );
  });

  it('timeline bars come from the step timings of each cell', () => {
    const { model } = full();
    const data = timelineData(model);
    assert.equal(data.length, model.cells.length * 2);
    const first = data[0]!;
    assert.deepEqual(
      [first.step, first.start, first.end, first.seconds],
      ['startEngine', '2025-10-01T08:00:00.000Z', '2025-10-01T08:01:00.000Z', 60],
    );
    assert.ok(data.some((d) => d.result === 'failed: EngineCrashed'));
  });

  it('a sweep past TIMELINE_CELL_LANES cells gets a lane per device and a bar per cell', async () => {
    const { exp } = fullMatrixSweep();
    const big = experimentOf({ ...exp, repeats: 75 }); // 16 configurations × 75 = 1,200 cells
    const sweep = sweepOf(big);
    const cells = cellsOf(big, sweep, (p) =>
      p.repeat === 7 ? null : guidePowerMetrics(p.powerKey, p.clocks, 'high-load'),
    );
    const model = buildReportModel({ sweep, cells });
    assert.equal(timelineLanes(model), 'devices');
    const data = timelineData(model);
    assert.equal(data.length, 1_200, 'a bar per cell');
    assert.deepEqual(new Set(data.map((d) => d.lane)), new Set([cells[0]!.device!.deviceId]));
    assert.deepEqual(new Set(data.map((d) => d.result)), new Set(['succeeded', 'failed']));
    const first = data.find((d) => d.cellId === cells[0]!.cellId)!;
    assert.deepEqual([first.start, first.end], [cells[0]!.startedAt, cells[0]!.finishedAt], 'first step to last');
    const chart = reportCharts(model).find((c) => c.id === 'timeline')!;
    assert.match(await renderChartSvg(chart), /<svg[^>]*>.*one lane per device \(1200 cells/s);
    // Lanes keep their order through a field: Vega-Lite makes a sort array one nested expression per value, which
    // past about a thousand values is too deep to parse.
    const perCell = reportCharts(full().model).find((c) => c.id === 'timeline')!;
    const compiled = JSON.stringify(compile(perCell.spec).spec);
    assert.ok(compiled.includes('laneOrder') && !compiled.includes('datum[\\"lane\\"]==='), 'no expression per lane');
  });

  it('latency distributions come from the per-request samples when read, else from the recorded percentiles', () => {
    const { model, cells } = full();
    const first = cells[0]!;
    const samples = new Map([[cellSampleKey(first), { ttftsMs: [40, 10, 30, 20], itlsMs: [5, 5, 6, 8, 0] }]]);
    const data = latencyCdfData(model, samples);
    const own = data.filter((d) => d.source === 'requests');
    assert.equal(own.length, 2 * 103);
    const ttft = own.filter((d) => d.metric === 'TTFT');
    assert.equal(ttft[0]!.ms, 10);
    assert.equal(ttft.at(-1)!.ms, 40);
    assert.equal(ttft.find((d) => d.fraction === 0.5)!.ms, 25, 'linear interpolation, like numpy');
    assert.equal(own.filter((d) => d.metric === 'ITL')[0]!.ms, 0.1, 'a 0 ms gap sits at the log axis floor');
    const other = data.filter(
      (d) =>
        d.source === 'percentiles' &&
        d.metric === 'TTFT' &&
        d.label === 'Qwen3-8B-FP8 · MAXN · clocks locked' &&
        d.scenario === 'high-load',
    );
    assert.deepEqual(
      other.map((d) => d.fraction),
      [0.5, 0.99],
    );
    assert.equal(quantileSorted([1, 2, 3, 4], 0.99), 3.9699999999999998);
  });
});

describe('per-request samples', () => {
  it("read vLLM's --save-detailed arrays (seconds) as milliseconds, ITLs pooled", () => {
    const samples = samplesFromArtifact({
      ttfts: [0.5, 0.25, null],
      itls: [[0.01, 0.02], [], [0.005]],
      errors: ['', '', 'x'],
    });
    assert.deepEqual(samples, { ttftsMs: [500, 250], itlsMs: [10, 20, 5] });
    assert.equal(samplesFromArtifact({ metrics: {} }), null, 'no arrays: the recorded percentiles are used');
    assert.equal(samplesFromArtifact(null), null);
  });
});

describe('power mode × clocks comparison', () => {
  it('writes the relative changes as the guide does: +18.5 % throughput, −43 % TPOT', () => {
    const { model } = full();
    const cmp = powerClocksComparisons(model);
    const maxnHigh = cmp.find(
      (c) => c.scenario === 'high-load' && c.modelId === 'qwen3-8b-fp8' && c.label === 'MAXN: jetson_clocks no → yes',
    )!;
    assert.equal(fmtChange(maxnHigh.changes[0]!.change), '+18.5 %');
    assert.equal(changeSummary(maxnHigh), '+18.5 % throughput, −10.7 % TTFT, −16.2 % TPOT');
    const maxnLow = cmp.find(
      (c) => c.scenario === 'low-load' && c.modelId === 'qwen3-8b-fp8' && c.label === 'MAXN: jetson_clocks no → yes',
    )!;
    assert.equal(fmtChange(maxnLow.changes[2]!.change), '−42.9 %');
    assert.ok(maxnLow.changes[2]!.better && maxnLow.changes[0]!.better);
    const labels = [...new Set(cmp.map((c) => c.label))];
    assert.deepEqual(labels, [
      'MAXN: jetson_clocks no → yes',
      '120W: jetson_clocks no → yes',
      'jetson_clocks no: MAXN → 120W',
      'jetson_clocks yes: MAXN → 120W',
    ]);
    assert.equal(cmp.length, 4 * 2 * 2);
    assert.equal(fmtChange(0), '±0.0 %');
    assert.equal(fmtChange(null), '—');
  });

  it('is a Markdown table and a chart', () => {
    const { sweep, cells, model } = full();
    const table = powerClocksTable(model);
    assert.deepEqual(table.headers, [
      'Scenario',
      'Model',
      'Comparison',
      'Output throughput (tok/s)',
      'Mean TTFT (ms)',
      'Mean TPOT (ms)',
      'Change',
    ]);
    const md = renderMarkdownReport({ sweep, cells });
    assert.ok(md.includes('## Power mode × jetson_clocks'));
    // The FP8 high-load row: the means over both repeats.
    assert.match(
      md,
      /\| high-load \| Qwen3-8B-FP8 \(FP8\) \| MAXN: jetson_clocks no → yes \| 254\.08 → 301\.05 \(\+18\.5 %\) \|/,
    );
    const chart = powerClocksChart(model)!;
    const values = (chart.spec as { data: { values: Array<{ text: string }> } }).data.values;
    assert.ok(values.some((v) => v.text === '+18.5 % throughput'));
  });

  it('is absent when neither power mode nor clocks vary', () => {
    const { sweep, cells } = full();
    const one = cells.filter((c) => c.power === 'maxn' && c.clocks === 'locked');
    const model = buildReportModel({ sweep: { ...sweep, experimentJson: '{}' }, cells: one });
    assert.deepEqual(powerClocksComparisons(model), []);
    assert.equal(powerClocksChart(model), null);
  });
});

describe('chart rendering', () => {
  it('every spec of a sweep that varies power, clocks, model and scenario compiles, and there are 8 of them', () => {
    const { model } = full();
    const charts = reportCharts(model);
    assert.deepEqual(
      charts.map((c) => c.id),
      ['throughput', 'ttft', 'tpot', 'power-clocks', 'tradeoff', 'energy', 'latency-distributions', 'timeline'],
    );
    for (const c of charts) assert.ok(compile(c.spec).spec.marks, `${c.id} compiles to Vega marks`);
  });

  it('the HTML report has one non-empty SVG per chart, with unique ids across the page', async () => {
    const { sweep, cells } = full();
    const html = await renderHtmlReport({ sweep, cells });
    const figures = [...html.matchAll(/<figure class="chart" id="chart-([a-z-]+)"[^>]*>([^]*?)<\/figure>/g)];
    // The eight report charts, and the recommendation's Pareto chart for each of the two scenarios.
    assert.equal(figures.length, 10);
    for (const [, id, svg] of figures) {
      assert.match(svg!, /^<svg /, id);
      const items = (svg!.match(/<(path|line|text)\b/g) ?? []).length;
      assert.ok(items > 20, `${id}: ${items} drawn items`);
    }
    const ids = [...html.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]);
    assert.equal(new Set(ids).size, ids.length, 'no id twice on the page');
    for (const [, ref] of html.matchAll(/url\(#([^)]+)\)/g)) assert.ok(ids.includes(ref), `url(#${ref}) resolves`);
    assert.ok(html.includes('Power mode × jetson_clocks'));
  });

  it('draws only what there is: no chart for an empty sweep, only the timeline when every cell failed', async () => {
    const { sweep, cells } = full();
    const empty = await renderHtmlReport({ sweep, cells: [] });
    assert.ok(!empty.includes('<svg'));
    assert.match(empty, /No cell has been recorded yet/);
    const failed = cells.map((c) => ({ ...c, status: 'failed' as const, metrics: null }));
    assert.deepEqual(
      reportCharts(buildReportModel({ sweep, cells: failed })).map((c) => c.id),
      ['timeline'],
    );
  });

  it('refuses any data that is not inline: the report never loads anything', async () => {
    const spec = {
      data: { url: 'https://example.com/data.json' },
      mark: 'bar',
      encoding: { x: { field: 'a', type: 'quantitative' } },
    } as TopLevelSpec;
    await assert.rejects(
      renderChartSvg({ id: 'x', title: 'x', description: 'x', spec }),
      /refusing to load https:\/\/example\.com\/data\.json/,
    );
  });

  it('namespaces SVG ids and their references', () => {
    const svg = '<clipPath id="clip1"><rect/></clipPath><g clip-path="url(#clip1)"></g><use href="#clip1"/>';
    assert.equal(
      namespaceSvgIds(svg, 'c'),
      '<clipPath id="c-clip1"><rect/></clipPath><g clip-path="url(#c-clip1)"></g><use href="#c-clip1"/>',
    );
  });

  it('Markdown links the chart files it is given', () => {
    const { sweep, cells } = full();
    const md = renderMarkdownReport(
      { sweep, cells },
      {
        charts: [
          { id: 'throughput', title: 'Output token throughput', file: 'chart-throughput.svg' },
          { id: 'timeline', title: 'Sweep timeline', file: 'chart-timeline.svg' },
        ],
      },
    );
    assert.ok(md.includes('![Output token throughput](chart-throughput.svg)'));
    assert.ok(md.indexOf('![Sweep timeline](chart-timeline.svg)') > md.indexOf('## Timeline'));
    assert.ok(!renderMarkdownReport({ sweep, cells }).includes('!['), 'no images without files');
  });
});

describe('comparison formats', () => {
  it('csv and json carry a, b, the delta and the relative delta per metric', () => {
    const { sweep, cells } = full();
    const faster = cells.map((c) =>
      c.metrics ? { ...c, metrics: { ...c.metrics, output_throughput: c.metrics.output_throughput * 1.1 } } : c,
    );
    const cmp = buildComparison({ sweep, cells }, { sweep: { ...sweep, sweepId: 'b' }, cells: faster });
    const json = comparisonJson(cmp) as {
      cells: Array<{
        cell: string;
        repeat: number;
        metrics: Record<string, { a: number; b: number; delta: number; relative: number }>;
      }>;
    };
    const first = json.cells[0]!;
    assert.equal(first.cell, 'maxn.default.qwen3-8b-fp8.high-load.r1');
    assert.ok(Math.abs(first.metrics.output_throughput!.relative - 0.1) < 1e-12);
    assert.equal(first.metrics.mean_ttft_ms!.delta, 0);
    assert.ok('energy_per_output_token_j' in first.metrics);
    const csv = comparisonCsv(cmp).split('\r\n');
    const header = csv[0]!.split(',');
    assert.deepEqual(header.slice(0, 8), [
      'sweep_a',
      'sweep_b',
      'cell_id',
      'repeat',
      'request_throughput_a',
      'request_throughput_b',
      'request_throughput_delta',
      'request_throughput_relative',
    ]);
    assert.equal(csv.length, json.cells.length + 2, 'header, one line per cell, final CRLF');
    assert.equal(json.cells.length, cells.filter((c) => c.status === 'succeeded').length);
  });
});
