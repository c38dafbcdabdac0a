import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { openResultsStore, type ResultsStore } from '../store/store.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../store/migrations.js';
import { fromCellRow, toCellRow } from '../store/cell-row.js';
import { DEFAULT_VALIDITY } from '../schema/experiment.js';
import { completeRecord } from '../schema/verdict.js';
import type { BenchmarkMetrics } from '../schema/metrics.js';
import type { CellRecord } from '../schema/outcome.js';
import { tempDir } from './helpers/files.js';

const tmpRoot = tempDir('store');
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let dbCounter = 0;
const freshDbPath = (): string => path.join(tmpRoot, `case-${++dbCounter}`, 'nested', 'thorbench.db');

/** Metrics of the guide's MAXN + jetson_clocks, Qwen3-8B-FP8, high-load run (fixture quantization__qwen3-8b-fp8). */
const FP8_HIGH_LOAD: BenchmarkMetrics = {
  duration: 42.94,
  completed: 100,
  failed: 0,
  max_concurrency: 8,
  request_rate: 'inf',
  total_input_tokens: 204169,
  total_output_tokens: 12800,
  request_throughput: 2.33,
  request_goodput: null,
  output_throughput: 298.07,
  total_token_throughput: 5052.48,
  mean_ttft_ms: 495.44,
  median_ttft_ms: 455.84,
  std_ttft_ms: 101.5,
  p99_ttft_ms: 912.34,
  mean_tpot_ms: 22.59,
  median_tpot_ms: 23.0,
  std_tpot_ms: 1.1,
  p99_tpot_ms: 25.05,
  mean_itl_ms: 22.59,
  median_itl_ms: 17.88,
  std_itl_ms: 9.5,
  p99_itl_ms: 150.3,
  mean_e2el_ms: 3364.2,
  median_e2el_ms: 3320.1,
  std_e2el_ms: 120.4,
  p99_e2el_ms: 3900.7,
  energy_j: 3821.5,
  avg_power_w: 89.0,
  energy_per_output_token_j: 0.2986,
  output_throughput_per_w: 3.349,
};

function succeeded(sweepId: string, repeat = 1, position = 0): CellRecord {
  return completeRecord({
    sweepId,
    experimentName: 'qwen3-8b-quantization',
    cellId: `maxn.locked.qwen3-8b-fp8.high-load.r${repeat}`,
    repeat,
    position,
    power: 'maxn',
    clocks: 'locked',
    modelId: 'qwen3-8b-fp8',
    quantization: 'fp8',
    modelSize: '8.9G',
    scenario: 'high-load',
    status: 'succeeded',
    failure: null,
    metrics: { ...FP8_HIGH_LOAD },
    harness: { kind: 'vllm', command: ['vllm', 'bench', 'serve', '--max-concurrency', '8', '--num-prompts', '100'] },
    device: {
      deviceId: 'thor-01',
      simulated: false,
      model: 'NVIDIA Jetson AGX Thor Developer Kit',
      l4tRelease: 'R38.2.1',
      bootId: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
      powerModeName: 'MAXN',
      powerModeId: 0,
      clocksLocked: true,
    },
    engine: {
      image: 'nvcr.io/nvidia/vllm:25.09-py3',
      containerName: 'thorbench-maxn-qwen3-8b-fp8',
      command: ['vllm', 'serve', '/models/Qwen/Qwen3-8B-FP8', '--served-model-name', 'qwen3', '--gpu-memory-utilization', '0.9'],
      exitCode: null,
      oomKilled: false,
      logTail: null,
    },
    steps: [
      { step: 'flushCaches', startedAt: '2025-10-01T10:00:00.000Z', durationMs: 1200, result: { kind: 'done' } },
      { step: 'warmup', startedAt: '2025-10-01T10:00:01.200Z', durationMs: 0, result: { kind: 'skipped', reason: 'engine already warm' } },
      { step: 'benchmark', startedAt: '2025-10-01T10:03:00.000Z', durationMs: 42_940, result: { kind: 'done' } },
    ],
    artifactsDir: `results/${sweepId}/maxn.locked.qwen3-8b-fp8.high-load.r${repeat}`,
    simulated: false,
    startedAt: '2025-10-01T10:00:00.000Z',
    finishedAt: '2025-10-01T10:03:43.000Z',
  }, DEFAULT_VALIDITY, '0.1.0');
}

function failed(sweepId: string, repeat = 1): CellRecord {
  return {
    ...succeeded(sweepId, repeat),
    status: 'failed',
    metrics: null,
    harness: null,
    failure: { type: 'EngineCrashed', message: 'container exited with status 137 while loading the model', retryable: false, step: 'waitForHealth' },
    engine: {
      image: 'nvcr.io/nvidia/vllm:25.09-py3',
      containerName: 'thorbench-maxn-qwen3-8b-fp8',
      command: ['vllm', 'serve', '/models/Qwen/Qwen3-8B-FP8'],
      exitCode: 137,
      oomKilled: true,
      logTail: 'INFO loading weights\nKilled',
    },
  };
}

function withStore<T>(fn: (store: ResultsStore, dbPath: string) => T): T {
  const dbPath = freshDbPath();
  const store = openResultsStore(dbPath);
  try {
    return fn(store, dbPath);
  } finally {
    store.close();
  }
}

const sweepStart = (sweepId: string, startedAt = '2025-10-01T09:59:00.000Z') => ({
  sweepId,
  experimentName: 'qwen3-8b-quantization',
  experimentJson: { name: 'qwen3-8b-quantization', repeats: 1 },
  workflowId: `sweep-${sweepId}`,
  simulated: false,
  plannedCells: 18,
  startedAt,
});

describe('results store: schema', () => {
  it('creates parent directories and migrates a new file to the current schema in WAL mode', () => {
    withStore((_store, dbPath) => {
      const raw = new Database(dbPath, { readonly: true });
      try {
        assert.equal(raw.pragma('user_version', { simple: true }), SCHEMA_VERSION);
        assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
        const tables = (raw.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as { name: string }[]).map((t) => t.name);
        assert.deepEqual(tables, ['cells', 'devices', 'regressions', 'sweeps']);
      } finally {
        raw.close();
      }
    });
  });

  it('migrates an existing empty file', () => {
    const dbPath = freshDbPath();
    fs.mkdirSync(path.dirname(dbPath), { recursive: true });
    fs.writeFileSync(dbPath, '');
    const store = openResultsStore(dbPath);
    try {
      assert.equal(store.countRows('nothing-yet'), 0);
      assert.deepEqual(store.listSweeps(), []);
    } finally {
      store.close();
    }
    const raw = new Database(dbPath, { readonly: true });
    assert.equal(raw.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    raw.close();
  });

  it('reopening a migrated file keeps its data and does not migrate twice', () => {
    const dbPath = freshDbPath();
    const first = openResultsStore(dbPath);
    first.upsertSweep(sweepStart('s1'));
    first.recordCell(succeeded('s1'));
    first.close();
    const second = openResultsStore(dbPath);
    try {
      assert.equal(second.countRows('s1'), 1);
      assert.equal(second.getSweep('s1')?.experimentName, 'qwen3-8b-quantization');
    } finally {
      second.close();
    }
  });

  it('keeps a database written at schema version 1 readable: its cells come back judged by the default rules', () => {
    const dbPath = freshDbPath();
    fs.mkdirSync(path.dirname(dbPath), { recursive: true });
    const raw = new Database(dbPath);
    MIGRATIONS[0]!.up(raw);
    raw.pragma('user_version = 1');
    const v1Columns = (raw.prepare('PRAGMA table_info(cells)').all() as { name: string }[]).map((c) => c.name).filter((c) => c !== 'recorded_at' && c !== 'attempts');
    const insert = (record: CellRecord) => {
      const row = toCellRow(record) as unknown as Record<string, unknown>;
      const values = Object.fromEntries(v1Columns.map((c) => [c, row[c] ?? null]));
      raw.prepare(`INSERT INTO cells (${v1Columns.join(', ')}, recorded_at) VALUES (${v1Columns.map((c) => `@${c}`).join(', ')}, '2025-10-01T10:04:00.000Z')`).run(values);
    };
    raw.prepare(`INSERT INTO sweeps VALUES ('old', 'x', '{}', NULL, 0, '2025-10-01T10:00:00.000Z', NULL, 'completed', 2)`).run();
    insert({ ...succeeded('old'), device: { ...succeeded('old').device!, powerModeAfter: undefined, clocksAfter: undefined } });
    insert({ ...succeeded('old', 2, 1), status: 'failed', metrics: null, failure: { type: 'EngineCrashed', message: 'x', retryable: false, step: 'benchmark' } });
    raw.close();

    const store = openResultsStore(dbPath);
    try {
      const [ok, failed] = store.listCells('old');
      assert.deepEqual(ok!.verdict, { valid: true, reasons: [] });
      assert.equal(ok!.energy, null);
      assert.equal(ok!.thorbenchVersion, null);
      assert.deepEqual(ok!.metrics, FP8_HIGH_LOAD);
      assert.deepEqual(failed!.verdict, { valid: false, reasons: ['no benchmark result: the cell was failed (EngineCrashed)'] });
    } finally {
      store.close();
    }
    const after = new Database(dbPath, { readonly: true });
    assert.equal(after.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    after.close();
  });

  it('stores the verdict, energy, thermal summary and provenance and reads them back exactly', () => {
    withStore((store) => {
      store.upsertSweep(sweepStart('prov'));
      const base = succeeded('prov');
      const record = completeRecord(
        {
          ...base,
          verdict: undefined,
          device: {
            ...base.device!,
            powerModeAfter: { name: 'MAXN', id: 0 },
            clocksAfter: { locked: false, gpuMhz: 900, gpuMaxMhz: 1575, emcMhz: 4266, emcMaxMhz: 4266, cpuMhz: [2601, 972] },
          },
          engine: { ...base.engine!, imageDigest: `nvcr.io/nvidia/vllm@sha256:${'e'.repeat(64)}`, version: '0.10.1.1', startedForCell: true },
          energy: { status: 'unavailable', reason: 'tegrastats printed no VIN rail' },
          thermal: { samples: 12, maxTempC: 64.5, maxTempSensor: 'tj', gpuMhzMin: 900, gpuMhzMax: 1575 },
        },
        DEFAULT_VALIDITY,
        '0.1.0',
      );
      assert.equal(record.verdict.valid, false);
      store.recordCell(record);
      assert.deepEqual(store.getCell('prov', base.cellId, 1), record);
    });
  });

  it('refuses a database written by a newer thorbench, saying what to do', () => {
    const dbPath = freshDbPath();
    fs.mkdirSync(path.dirname(dbPath), { recursive: true });
    const raw = new Database(dbPath);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    raw.close();
    assert.throws(() => openResultsStore(dbPath), /schema version \d+, newer than this thorbench understands.*upgrade thorbench/);
  });

  it('read-only mode needs an existing file and refuses writes with a clear message', () => {
    const missing = path.join(tmpRoot, 'missing', 'thorbench.db');
    assert.throws(() => openResultsStore(missing, { readonly: true }), /no results database at .*run a sweep first/);
    assert.equal(fs.existsSync(path.dirname(missing)), false);

    const dbPath = freshDbPath();
    openResultsStore(dbPath).close();
    const reader = openResultsStore(dbPath, { readonly: true });
    try {
      assert.deepEqual(reader.listSweeps(), []);
      assert.throws(() => reader.recordCell(succeeded('s1')), /opened read-only/);
    } finally {
      reader.close();
    }
  });
});

describe('results store: sweeps', () => {
  it('upserts, finishes and lists sweeps newest first', () => {
    withStore((store) => {
      store.upsertSweep(sweepStart('older', '2025-10-01T08:00:00.000Z'));
      store.upsertSweep(sweepStart('newer', '2025-10-02T08:00:00.000Z'));
      assert.deepEqual(
        store.listSweeps().map((s) => s.sweepId),
        ['newer', 'older'],
      );
      const s = store.getSweep('older');
      assert.deepEqual(s, {
        sweepId: 'older',
        experimentName: 'qwen3-8b-quantization',
        experimentJson: JSON.stringify({ name: 'qwen3-8b-quantization', repeats: 1 }),
        workflowId: 'sweep-older',
        simulated: false,
        plannedCells: 18,
        startedAt: '2025-10-01T08:00:00.000Z',
        finishedAt: null,
        state: 'running',
      });
      store.finishSweep('older', 'completed', '2025-10-01T09:00:00.000Z');
      assert.equal(store.getSweep('older')?.state, 'completed');
      assert.equal(store.getSweep('older')?.finishedAt, '2025-10-01T09:00:00.000Z');
      assert.equal(store.getSweep('nope'), null);
    });
  });

  it('a resumed sweep keeps its first start time and is running again', () => {
    withStore((store) => {
      store.upsertSweep(sweepStart('s1', '2025-10-01T08:00:00.000Z'));
      store.finishSweep('s1', 'failed', '2025-10-01T08:30:00.000Z');
      store.upsertSweep({ ...sweepStart('s1', '2025-10-01T12:00:00.000Z'), workflowId: null });
      const s = store.getSweep('s1');
      assert.equal(s?.startedAt, '2025-10-01T08:00:00.000Z');
      assert.equal(s?.state, 'running');
      assert.equal(s?.finishedAt, null);
      assert.equal(s?.workflowId, 'sweep-s1', 'a resume without a workflow id keeps the known one');
      assert.equal(store.listSweeps().length, 1);
    });
  });

  it('finishSweep names the missing sweep and rejects "running"', () => {
    withStore((store) => {
      assert.throws(() => store.finishSweep('ghost', 'completed', '2025-10-01T09:00:00.000Z'), /no sweep "ghost".*call upsertSweep/);
      store.upsertSweep(sweepStart('s1'));
      assert.throws(() => store.finishSweep('s1', 'running' as 'completed', '2025-10-01T09:00:00.000Z'), /completed, failed or cancelled/);
    });
  });
});

describe('results store: cells', () => {
  it('round-trips a succeeded CellRecord exactly', () => {
    withStore((store) => {
      const record = succeeded('s1');
      assert.deepEqual(store.recordCell(record), { inserted: true, replaced: false, attempts: 1 });
      assert.deepEqual(store.getCell('s1', record.cellId, 1), record);
    });
  });

  it('round-trips the device a moved cell left, and why (failover)', () => {
    withStore((store) => {
      const movedFrom = {
        deviceId: 'thor-b',
        reason: 'no worker picked up benchmark within 5 s',
        at: '2025-10-01T10:03:00.000Z',
      };
      const record: CellRecord = { ...succeeded('s1'), movedFrom };
      store.recordCell(record);
      assert.deepEqual(store.getCell('s1', record.cellId, 1), record);
      const other = succeeded('s2');
      store.recordCell(other);
      assert.equal(store.getCell('s2', other.cellId, 1)!.movedFrom, undefined, 'a cell that never moved says nothing');
    });
  });

  it('round-trips a failed CellRecord exactly', () => {
    withStore((store) => {
      const record = failed('s1');
      store.recordCell(record);
      assert.deepEqual(store.getCell('s1', record.cellId, 1), record);
      assert.equal(store.getCell('s1', 'no.such.cell.r1', 1), null);
    });
  });

  it('reads records stored before step results and failure types were structured', () => {
    const row = toCellRow({ ...failed('s1'), failure: { type: 'EngineCrashed', message: 'm', retryable: false, step: 'startEngine' } });
    row.steps_json = JSON.stringify([
      { step: 'flushCaches', startedAt: '2025-10-01T10:00:00.000Z', durationMs: 1200, result: 'done' },
      { step: 'warmup', startedAt: '2025-10-01T10:00:01.200Z', durationMs: 0, result: 'skipped: engine already warm: reused' },
      { step: 'startEngine', startedAt: '2025-10-01T10:00:02.000Z', durationMs: 900, result: 'failed: Error' },
      { step: 'benchmark', startedAt: '2025-10-01T10:03:00.000Z', durationMs: 10, result: 'failed: HealthTimeout' },
    ]);
    row.failure_type = 'Error';
    const record = fromCellRow(row);
    assert.deepEqual(
      record.steps.map((s) => s.result),
      [
        { kind: 'done' },
        { kind: 'skipped', reason: 'engine already warm: reused' },
        { kind: 'failed', failure: 'Unexpected' },
        { kind: 'failed', failure: 'HealthTimeout' },
      ],
    );
    assert.equal(record.failure?.type, 'Unexpected', 'a type that is no FailureType member reads as Unexpected');
  });

  it('stores headline metrics as real columns for SQL queries', () => {
    withStore((store, dbPath) => {
      store.recordCell(succeeded('s1'));
      store.recordCell({ ...failed('s1', 2), cellId: 'maxn.locked.qwen3-8b-fp8.high-load.r2' });
      const raw = new Database(dbPath, { readonly: true });
      const rows = raw.prepare('SELECT cell_id, output_throughput, mean_tpot_ms, energy_j, failure_type, failure_retryable FROM cells ORDER BY cell_id').all();
      raw.close();
      assert.deepEqual(rows, [
        { cell_id: 'maxn.locked.qwen3-8b-fp8.high-load.r1', output_throughput: 298.07, mean_tpot_ms: 22.59, energy_j: 3821.5, failure_type: null, failure_retryable: null },
        { cell_id: 'maxn.locked.qwen3-8b-fp8.high-load.r2', output_throughput: null, mean_tpot_ms: null, energy_j: null, failure_type: 'EngineCrashed', failure_retryable: 0 },
      ]);
    });
  });

  it('is idempotent: recording the same key twice leaves one row with attempts 2', () => {
    withStore((store) => {
      const record = succeeded('s1');
      assert.equal(store.recordCell(record).inserted, true);
      assert.deepEqual(store.recordCell(record), { inserted: false, replaced: false, attempts: 2 });
      assert.equal(store.countRows('s1'), 1);
      assert.equal(store.getCellMeta('s1', record.cellId, 1)?.attempts, 2);
      assert.deepEqual(store.duplicateKeys('s1'), []);
    });
  });

  it('never overwrites a succeeded row, whatever comes later', () => {
    withStore((store) => {
      const first = succeeded('s1');
      store.recordCell(first);
      const later = { ...succeeded('s1'), metrics: { ...FP8_HIGH_LOAD, output_throughput: 1.23 }, finishedAt: '2025-10-02T00:00:00.000Z' };
      assert.deepEqual(store.recordCell(later), { inserted: false, replaced: false, attempts: 2 });
      assert.deepEqual(store.recordCell(failed('s1')), { inserted: false, replaced: false, attempts: 3 });
      assert.deepEqual(store.getCell('s1', first.cellId, 1), first);
      assert.deepEqual(store.completedCellKeys('s1'), [first.cellId]);
    });
  });

  it('replaces a failed row when the cell later succeeds (a user re-run)', () => {
    withStore((store) => {
      const fail = failed('s1');
      store.recordCell(fail);
      assert.deepEqual(store.completedCellKeys('s1'), []);
      const ok = succeeded('s1');
      assert.deepEqual(store.recordCell(ok), { inserted: false, replaced: true, attempts: 2 });
      assert.deepEqual(store.getCell('s1', ok.cellId, 1), ok);
      assert.deepEqual(store.completedCellKeys('s1'), [ok.cellId]);
      assert.equal(store.countRows('s1'), 1);
    });
  });

  it('lists cells in plan order and keeps sweeps apart', () => {
    withStore((store) => {
      const ids = ['c', 'a', 'b'];
      ids.forEach((id, i) => store.recordCell({ ...succeeded('s1'), cellId: `${id}.r1`, position: [2, 0, 1][i] ?? 0 }));
      store.recordCell({ ...succeeded('s2'), cellId: 'other.r1' });
      assert.deepEqual(
        store.listCells('s1').map((c) => [c.cellId, c.position]),
        [['a.r1', 0], ['b.r1', 1], ['c.r1', 2]],
      );
      assert.equal(store.countRows('s1'), 3);
      assert.equal(store.countRows('s2'), 1);
      assert.deepEqual(store.completedCellKeys('s1'), ['a.r1', 'b.r1', 'c.r1']);
    });
  });

  it('rejects records it cannot store faithfully, naming the field', () => {
    withStore((store) => {
      assert.throws(() => store.recordCell({ ...succeeded('s1'), metrics: null }), /succeeded cell must carry its metrics/);
      assert.throws(() => store.recordCell({ ...succeeded('s1'), repeat: 0 }), /repeat must be an integer >= 1/);
      assert.throws(() => store.recordCell({ ...succeeded('s1'), status: 'done' as 'succeeded' }), /status must be one of/);
      assert.throws(() => store.recordCell({ ...succeeded(''), cellId: 'x.r1' }), /sweepId must be a non-empty string/);
      assert.equal(store.countRows('s1'), 0);
    });
  });
});

describe('results store: concurrent access', () => {
  it('a reader sees committed rows while another connection holds an open write transaction', () => {
    const dbPath = freshDbPath();
    const writer = openResultsStore(dbPath);
    const reader = openResultsStore(dbPath, { readonly: true });
    const raw = new Database(dbPath);
    try {
      writer.recordCell(succeeded('s1', 1, 0));
      raw.exec('BEGIN IMMEDIATE');
      raw.prepare(`UPDATE cells SET position = 99 WHERE sweep_id = 's1'`).run();
      // The write transaction is still open: the reader must neither block nor see the uncommitted change.
      assert.equal(reader.listCells('s1')[0]?.position, 0);
      raw.exec('ROLLBACK');
      writer.recordCell({ ...succeeded('s1', 2, 1) });
      assert.equal(reader.countRows('s1'), 2);
    } finally {
      raw.close();
      reader.close();
      writer.close();
    }
  });

  it('a reader in this thread keeps working while a worker thread records cells', async () => {
    const dbPath = freshDbPath();
    const setup = openResultsStore(dbPath);
    setup.upsertSweep(sweepStart('s1'));
    const reader = openResultsStore(dbPath, { readonly: true });
    const storeUrl = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'store', 'store.js')).href;
    const total = 200;
    const base = succeeded('s1');
    const worker = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       import(workerData.storeUrl).then(({ openResultsStore }) => {
         const store = openResultsStore(workerData.dbPath);
         for (let i = 0; i < workerData.total; i++) {
           const rec = { ...workerData.base, cellId: 'cell-' + i + '.r1', position: i };
           store.recordCell(rec);
           store.recordCell(rec);
         }
         store.close();
         parentPort.postMessage('done');
       }, (err) => parentPort.postMessage('error: ' + err.message));`,
      { eval: true, workerData: { storeUrl, dbPath, total, base } },
    );
    const finished = new Promise<string>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    let done: string | null = null;
    void finished.then((m) => (done = m));
    const seen: number[] = [];
    try {
      while (done === null) {
        seen.push(reader.countRows('s1'));
        await new Promise((r) => setImmediate(r));
      }
      assert.equal(done, 'done');
      seen.push(reader.countRows('s1'));
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! >= seen[i - 1]!, 'the row count never goes backwards');
      assert.equal(seen.at(-1), total);
      assert.deepEqual(reader.duplicateKeys('s1'), []);
      assert.equal(reader.getCellMeta('s1', 'cell-7.r1', 1)?.attempts, 2);
    } finally {
      await worker.terminate();
      reader.close();
      setup.close();
    }
  });
});
