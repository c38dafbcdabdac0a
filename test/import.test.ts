/**
 * `thorbench import` through the CLI, as a user runs it: the guide's 43 real printed blocks import to their expected
 * values exactly; vLLM 0.33 --save-result JSON with and without per-request arrays imports (arrays are recomputed and
 * kept); a file that is not a vLLM result is refused with exit 2 naming the file and line, and nothing is recorded.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cellIdFromFile, parseLabels, repeatOf } from '../cli/commands/import.js';
import { metricsDetail } from '../cli/progress.js';
import type { CellRecord } from '../schema/outcome.js';
import { parseCsv } from './helpers/csv.js';
import { tempDir } from './helpers/files.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = path.join(root, 'bin', 'thorbench.js');
const fixtures = path.join(root, 'fixtures');
const textDir = path.join(fixtures, 'vllm-bench-text');
const texts = readdirSync(textDir)
  .filter((f) => f.endsWith('.txt'))
  .sort();

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function thorbench(args: string[], results: string): Promise<Ran> {
  return new Promise((resolve) => {
    const env = { ...process.env, THORBENCH_RESULTS: results, TEMPORAL_ADDRESS: '' };
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: root, env, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

async function reportJson(
  sweep: string,
  results: string,
): Promise<{ sweep: Record<string, unknown>; cells: CellRecord[] }> {
  const r = await thorbench(['report', sweep, '--format', 'json'], results);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { sweep: Record<string, unknown>; cells: CellRecord[] };
}

const savedMetricKeys = (obj: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(obj).filter(
      ([k, v]) =>
        !Array.isArray(v) && /_ms$|_tokens$|throughput|^duration$|^completed$|^failed$|^max_|^request_/.test(k),
    ),
  );

describe('thorbench import', { timeout: 300_000 }, () => {
  it('is in thorbench --help and has its own --help', async () => {
    const results = tempDir('import-help');
    assert.match((await thorbench(['--help'], results)).stdout, /^\s+import\s+Record vllm bench serve results/m);
    const h = await thorbench(['import', '--help'], results);
    assert.equal(h.code, 0);
    assert.match(
      h.stdout,
      /Usage: thorbench import <files\.\.\.> --into <sweep> \[--cell <cell-id>\] \[--label key=value,\.\.\.\]/,
    );
  });

  it('imports all 43 printed blocks of the guide to their .expected.json values exactly', async () => {
    const results = tempDir('import-text');
    const r = await thorbench(['import', ...texts.map((f) => path.join(textDir, f)), '--into', 'guide'], results);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /sweep guide: 43 of 43 results imported \(new sweep\)/);
    const { sweep, cells } = await reportJson('guide', results);
    assert.equal(sweep.state, 'completed');
    assert.equal(sweep.simulated, false);
    assert.equal(cells.length, 43);
    for (const f of texts) {
      const id = f.replace(/\.txt$/, '');
      const cell = cells.find((c) => c.cellId === id);
      assert.ok(cell, id);
      assert.deepEqual(cell.metrics, JSON.parse(readFileSync(path.join(textDir, `${id}.expected.json`), 'utf8')), id);
      assert.equal(cell.status, 'succeeded');
      assert.equal(cell.harness?.kind, 'import');
      assert.equal(cell.simulated, false);
      assert.equal(cell.device, null);
      assert.equal(
        readFileSync(path.join(cell.artifactsDir!, 'vllm-result.txt'), 'utf8'),
        readFileSync(path.join(textDir, f), 'utf8').replace(/\n*$/, '\n'),
      );
    }
  });

  it('reads several blocks of one log as .b1, .b2, … in order, and labels fill the cell fields', async () => {
    const results = tempDir('import-log');
    const chosen = texts.slice(0, 3);
    const log = path.join(results, 'Whole Log.txt');
    writeFileSync(
      log,
      chosen.map((f) => `INFO starting\n${readFileSync(path.join(textDir, f), 'utf8')}\nINFO done\n`).join(''),
    );
    const r = await thorbench(
      [
        'import',
        log,
        '--into',
        'logs',
        '--label',
        'power=MAXN,clocks=locked',
        '--label',
        'model=qwen3-8b-fp8,quantization=fp8,size=8.9G,scenario=high-load',
      ],
      results,
    );
    assert.equal(r.code, 0, r.stderr);
    const { cells } = await reportJson('logs', results);
    assert.deepEqual(
      cells.map((c) => c.cellId),
      ['whole-log.b1', 'whole-log.b2', 'whole-log.b3'],
    );
    chosen.forEach((f, i) =>
      assert.deepEqual(
        cells[i]!.metrics,
        JSON.parse(readFileSync(path.join(textDir, f.replace(/\.txt$/, '.expected.json')), 'utf8')),
      ),
    );
    const c = cells[0]!;
    assert.deepEqual(
      [c.power, c.clocks, c.modelId, c.quantization, c.modelSize, c.scenario],
      ['maxn', 'locked', 'qwen3-8b-fp8', 'fp8', '8.9G', 'high-load'],
    );
    const md = await thorbench(['report', 'logs'], results);
    assert.match(md.stdout, /imported/i);
  });

  it('imports --save-result JSON with arrays: recomputed identically, arrays kept as artifacts', async () => {
    const results = tempDir('import-json');
    const file = path.join(fixtures, 'vllm-0.33-client', 'c64.save-detailed.json');
    const r = await thorbench(['import', file, '--into', 'vj', '--cell', 'maxn.locked.qwen3.c64.r1'], results);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /128 per-request records, recomputed identically/);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const { cells } = await reportJson('vj', results);
    const cell = cells[0]!;
    assert.equal(cell.cellId, 'maxn.locked.qwen3.c64.r1');
    assert.equal(cell.repeat, 1);
    assert.equal(cell.modelId, 'qwen3'); // vLLM's model_id when no label says otherwise
    assert.deepEqual(savedMetricKeys(cell.metrics as unknown as Record<string, unknown>), savedMetricKeys(saved));
    const requests = JSON.parse(readFileSync(path.join(cell.artifactsDir!, 'requests.json'), 'utf8')) as Record<
      string,
      unknown[]
    >;
    assert.deepEqual(requests.ttfts, saved.ttfts);
    assert.deepEqual(requests.itls, saved.itls);
    assert.deepEqual(requests.start_times, saved.start_times);
    const recomputed = JSON.parse(readFileSync(path.join(cell.artifactsDir!, 'recomputed.json'), 'utf8')) as {
      differences: unknown[];
    };
    assert.deepEqual(recomputed.differences, []);
    assert.equal(
      readFileSync(path.join(cell.artifactsDir!, 'vllm-result.json'), 'utf8').trim(),
      readFileSync(file, 'utf8').trim(),
    );
    const again = await thorbench(['import', file, '--into', 'vj', '--cell', 'maxn.locked.qwen3.c64.r1'], results);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /unchanged maxn\.locked\.qwen3\.c64\.r1/);
  });

  it('imports --save-result JSON without arrays, and --append-result files (one JSON per line)', async () => {
    const results = tempDir('import-summary');
    const summary = path.join(fixtures, 'vllm-0.33-client-slo', 'c1.save-result.json');
    const detailed = path.join(fixtures, 'vllm-0.33-client-slo', 'slo-c8.save-detailed.json');
    const appended = path.join(results, 'appended.json');
    writeFileSync(
      appended,
      [summary, detailed].map((f) => JSON.stringify(JSON.parse(readFileSync(f, 'utf8')))).join('\n'),
    );
    const r = await thorbench(['import', summary, appended, '--into', 'js'], results);
    assert.equal(r.code, 0, r.stderr);
    const { cells } = await reportJson('js', results);
    assert.deepEqual(
      cells.map((c) => c.cellId),
      ['c1.save-result', 'appended.b1', 'appended.b2'],
    );
    const s = JSON.parse(readFileSync(summary, 'utf8')) as Record<string, unknown>;
    assert.deepEqual(savedMetricKeys(cells[0]!.metrics as unknown as Record<string, unknown>), savedMetricKeys(s));
    assert.equal(existsSync(path.join(cells[0]!.artifactsDir!, 'requests.json')), false);
    const d = JSON.parse(readFileSync(detailed, 'utf8')) as Record<string, number>;
    assert.equal(cells[2]!.metrics!['p99.9_ttft_ms'], d['p99.9_ttft_ms']);
    assert.ok(d.request_goodput! > 0);
    assert.equal(cells[2]!.metrics!.request_goodput, d.request_goodput);
  });

  it('imports vLLM output without P99, ITL or TPOT lines, and reports show "—" for them', async () => {
    // Real vLLM 0.33 output run with --metric-percentiles 50,90 --percentile-metrics ttft,tpot, and with
    // --metric-percentiles 90 --percentile-metrics ttft (fixtures/vllm-0.33-client-percentiles/README.md).
    const results = tempDir('import-percentiles');
    const dir = path.join(fixtures, 'vllm-0.33-client-percentiles');
    const files = [
      'p50-90.printed.txt',
      'p50-90.save-detailed.json',
      'ttft-p90.printed.txt',
      'ttft-p90.save-result.json',
    ];
    for (const [run, scenario] of [
      ['p50-90', 'p50-90'],
      ['ttft-p90', 'ttft-only'],
    ]) {
      const chosen = files.filter((f) => f.startsWith(`${run}.`)).map((f) => path.join(dir, f));
      const r = await thorbench(['import', ...chosen, '--into', 'pct', '--label', `scenario=${scenario}`], results);
      assert.equal(r.code, 0, r.stderr);
      if (run === 'p50-90') assert.match(r.stdout, /24 per-request records, recomputed identically/);
    }
    const { cells } = await reportJson('pct', results);
    const metrics = (id: string): Record<string, unknown> =>
      cells.find((c) => c.cellId === id)!.metrics as unknown as Record<string, unknown>;
    const latencyKeys = (id: string): string[] => Object.keys(metrics(id)).filter((k) => k.endsWith('_ms'));
    assert.deepEqual(latencyKeys('p50-90.printed'), [
      ...['mean', 'median', 'p50', 'p90'].map((s) => `${s}_ttft_ms`),
      ...['mean', 'median', 'p50', 'p90'].map((s) => `${s}_tpot_ms`),
    ]);
    assert.deepEqual(latencyKeys('ttft-p90.printed'), ['mean_ttft_ms', 'median_ttft_ms', 'p90_ttft_ms']);
    // What vLLM printed is what it saved, to the two decimals it prints; what it saved is recorded as saved.
    for (const [run, file] of [
      ['p50-90', 'p50-90.save-detailed.json'],
      ['ttft-p90', 'ttft-p90.save-result.json'],
    ] as const) {
      const saved = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Record<string, unknown>;
      for (const [key, value] of Object.entries(metrics(`${run}.printed`)))
        assert.equal(value, Number((saved[key] as number).toFixed(2)), `${run} ${key}`);
      const recorded = metrics(cellIdFromFile(file));
      for (const [key, value] of Object.entries(savedMetricKeys(saved))) assert.equal(recorded[key], value, key);
    }
    // With per-request arrays the recomputation fills what the run did not save; without them nothing is added.
    assert.equal(typeof metrics('p50-90.save-detailed').p99_itl_ms, 'number');
    assert.equal('mean_tpot_ms' in metrics('ttft-p90.save-result'), false);

    const reports: Record<string, string> = {};
    for (const format of ['md', 'html', 'csv']) {
      const out = await thorbench(['report', 'pct', '--format', format], results);
      assert.equal(out.code, 0, out.stderr);
      assert.doesNotMatch(out.stdout, /NaN|undefined/, format);
      reports[format] = out.stdout;
    }
    const ttftOnly = reports.md!.slice(reports.md!.indexOf('### ttft-only'));
    assert.match(ttftOnly, /\| 7\.02 \| 112\.33 \| 60\.64 \| — \|/, 'no mean TPOT in the TTFT-only run');
    const [header, ...rows] = parseCsv(reports.csv!);
    const row = rows.find((l) => l[header!.indexOf('cell_id')] === 'p50-90.printed')!;
    assert.equal(row[header!.indexOf('p99_ttft_ms')], '');
    assert.equal(row[header!.indexOf('p90_ttft_ms')], '288.74');
    const rec = await thorbench(['recommend', 'pct'], results);
    assert.equal(rec.code, 0, rec.stderr);
    assert.match(rec.stdout, /p50-90\.printed \| 311 tok\/s \| — \| 19\.9 ms/);
    assert.equal(
      metricsDetail(cells.find((c) => c.cellId === 'ttft-p90.printed')!.metrics!),
      '112.33 tok/s, TTFT 60.64 ms, TPOT —',
    );
  });

  it('refuses a file that is not a vLLM result with exit 2, naming the file and line; records nothing', async () => {
    const results = tempDir('import-bad');
    const good = path.join(textDir, texts[0]!);
    const notes = path.join(results, 'notes.txt');
    writeFileSync(notes, '\n\nsome notes about the run\n');
    let r = await thorbench(['import', good, notes, '--into', 'bad'], results);
    assert.equal(r.code, 2);
    assert.ok(r.stderr.includes(`${notes}:3: not a vllm bench serve result`), r.stderr);
    assert.match(r.stderr, /Nothing was imported/);
    assert.equal((await thorbench(['report', 'bad', '--format', 'json'], results)).code, 2, 'no sweep was created');
    assert.equal(existsSync(path.join(results, 'bad')), false, 'no artifacts were written');

    const broken = path.join(results, 'broken.txt');
    const lines = readFileSync(good, 'utf8').split('\n');
    const at = lines.findIndex((l) => l.startsWith('Mean TPOT'));
    lines[at] = 'Mean TPOT (ms):                          fast';
    writeFileSync(broken, `prefix line\n${lines.join('\n')}`);
    r = await thorbench(['import', broken, '--into', 'bad'], results);
    assert.equal(r.code, 2);
    assert.ok(
      r.stderr.includes(
        `${broken}:${at + 2}: not a vllm bench serve result block: "Mean TPOT (ms)" should be a number`,
      ),
      r.stderr,
    );

    const json = path.join(results, 'other.json');
    writeFileSync(json, '{\n  "name": "an experiment",\n  "matrix": {}\n}\n');
    r = await thorbench(['import', json, '--into', 'bad'], results);
    assert.equal(r.code, 2);
    assert.ok(r.stderr.includes(`${json}:1: not a vllm bench serve result`), r.stderr);
    const truncated = path.join(results, 'truncated.json');
    writeFileSync(truncated, '{\n  "duration": 1.5,\n  "completed": \n');
    r = await thorbench(['import', truncated, '--into', 'bad'], results);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /truncated\.json:\d+: not valid JSON/);
  });

  it('refuses bad labels, no --into, a cell id holding other numbers; re-importing is a no-op', async () => {
    const results = tempDir('import-conflict');
    const a = path.join(textDir, texts[0]!);
    const b = path.join(textDir, texts[1]!);
    let r = await thorbench(['import', a, '--into', 's', '--label', 'clocks=on'], results);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /clocks must be "locked" \(jetson_clocks\) or "default"/);
    r = await thorbench(['import', a, '--into', 's', '--label', 'colour=red'], results);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown label "colour"/);
    assert.equal((await thorbench(['import', a], results)).code, 2);
    assert.equal((await thorbench(['import', a, '--into', 's', '--cell', 'x.r2'], results)).code, 0);
    r = await thorbench(['import', a, '--into', 's', '--cell', 'x.r2'], results);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /unchanged x\.r2/);
    r = await thorbench(['import', b, '--into', 's', '--cell', 'x.r2'], results);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /already has cell "x\.r2"/);
    const { cells } = await reportJson('s', results);
    assert.equal(cells.length, 1);
    assert.equal(cells[0]!.repeat, 2);
  });
});

describe('import helpers', () => {
  it('cell ids from file names, repeats from .rN, labels from key=value lists', () => {
    assert.equal(cellIdFromFile('/x/Qwen3 8B FP8 run.txt'), 'qwen3-8b-fp8-run');
    assert.equal(cellIdFromFile('maxn.locked.m.s.r3.json'), 'maxn.locked.m.s.r3');
    assert.equal(repeatOf('maxn.locked.m.s.r3'), 3);
    assert.equal(repeatOf('c8.save-detailed'), 1);
    assert.deepEqual(parseLabels(['power=120W, clocks=default', 'size=8.9G']), {
      power: '120W',
      clocks: 'default',
      size: '8.9G',
    });
    assert.throws(() => parseLabels(['quantization=int3']), /quantization must be one of bf16/);
    assert.throws(() => parseLabels(['model']), /model must be/);
  });
});
