import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import pg from 'pg';
import {
  MAX_STORED_ARTIFACT_BYTES,
  readCellArtifact,
  readCellArtifactData,
  storeArtifacts,
  writeArtifact,
} from '../store/artifacts.js';
import { openResultsStore, type ResultsStore } from '../store/store.js';
import { migrate, MIGRATIONS, SCHEMA_VERSION } from '../store/migrations.js';
import { migratePostgres } from '../store/postgres-migrations.js';
import { numberedPlaceholders } from '../store/postgres-store.js';
import { fromCellRow, toCellRow } from '../store/cell-row.js';
import { DEFAULT_VALIDITY } from '../schema/experiment.js';
import { completeRecord } from '../schema/verdict.js';
import type { CellRecord } from '../schema/outcome.js';
import { compareToBaseline } from '../report/regression.js';
import { runCli } from './helpers/cli.js';
import { caseDirs, REPO_ROOT, tempDir } from './helpers/files.js';
import { FP8_HIGH_LOAD, thorCell, thorInventory as inventory } from './helpers/thor-facts.js';
import { POSTGRES_MISSING, startPostgres } from './helpers/postgres.js';

const cases = caseDirs('store');
const tmpRoot = cases.root;
const freshDbPath = (): string => path.join(cases.next(), 'nested', 'thorbench.db');

// A real PostgreSQL server for the same tests (null only outside CI when its binaries are missing).
const postgres = await startPostgres();
after(() => postgres?.stop());
if (postgres === null) console.log(`# PostgreSQL store tests skipped: ${POSTGRES_MISSING}`);

/** One implementation of the store under test: how to make a fresh database and look into it with plain SQL. */
interface Backend {
  name: 'sqlite' | 'postgres';
  skip: string | false;
  /** The location (file path or URL) of a new, empty database. */
  fresh(): Promise<string>;
  /** Rows of a statement (`?` placeholders) run directly on the database, bypassing the store. */
  query(location: string, sql: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  /** Applies the first `version` migrations only, as a thorbench of that schema version left the database. */
  migrateTo(location: string, version: number): Promise<void>;
  /** The schema version the database says it has. */
  schemaVersion(location: string): Promise<number>;
  /** Marks the database as migrated to `version`, as a newer thorbench would. */
  markVersion(location: string, version: number): Promise<void>;
  /** Column names of a table, sorted. */
  columns(location: string, table: string): Promise<string[]>;
}

const sqlite: Backend = {
  name: 'sqlite',
  skip: false,
  fresh: async () => freshDbPath(),
  async query(location, sql, params = []) {
    fs.mkdirSync(path.dirname(location), { recursive: true });
    const raw = new Database(location);
    try {
      const stmt = raw.prepare(sql);
      if (stmt.reader) return stmt.all(...params) as Record<string, unknown>[];
      stmt.run(...params);
      return [];
    } finally {
      raw.close();
    }
  },
  async migrateTo(location, version) {
    fs.mkdirSync(path.dirname(location), { recursive: true });
    const raw = new Database(location);
    try {
      migrate(raw, location, MIGRATIONS.slice(0, version));
    } finally {
      raw.close();
    }
  },
  schemaVersion: async (location) => (await sqlite.query(location, 'PRAGMA user_version'))[0]!.user_version as number,
  markVersion: async (location, version) => void (await sqlite.query(location, `PRAGMA user_version = ${version}`)),
  columns: async (location, table) =>
    (await sqlite.query(location, 'SELECT name FROM pragma_table_info(?)', [table]))
      .map((c) => c.name as string)
      .sort(),
};

async function pgQuery(url: string, sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as Record<string, unknown>[];
  } finally {
    await client.end();
  }
}

let databases = 0;
const postgresBackend: Backend = {
  name: 'postgres',
  skip: postgres === null ? POSTGRES_MISSING : false,
  fresh: async () => postgres!.createDatabase(`store_case_${++databases}`),
  query: (location, sql, params) => pgQuery(location, numberedPlaceholders(sql), params),
  async migrateTo(location, version) {
    const client = new pg.Client({ connectionString: location });
    await client.connect();
    try {
      await migratePostgres(client, location, MIGRATIONS.slice(0, version));
    } finally {
      await client.end();
    }
  },
  schemaVersion: async (location) =>
    (await pgQuery(location, 'SELECT MAX(version) AS v FROM thorbench_schema'))[0]!.v as number,
  markVersion: async (location, version) =>
    void (await pgQuery(location, `INSERT INTO thorbench_schema (version, description) VALUES ($1, 'newer')`, [
      version,
    ])),
  columns: async (location, table) =>
    (await pgQuery(location, 'SELECT column_name FROM information_schema.columns WHERE table_name = $1', [table]))
      .map((c) => c.column_name as string)
      .sort(),
};

const BACKENDS: readonly Backend[] = [sqlite, postgresBackend];

function succeeded(sweepId: string, repeat = 1, position = 0): CellRecord {
  const cellId = `maxn.locked.qwen3-8b-fp8.high-load.r${repeat}`;
  return completeRecord(
    { ...thorCell(sweepId), cellId, repeat, position, artifactsDir: `results/${sweepId}/${cellId}` },
    DEFAULT_VALIDITY,
    '0.1.0',
  );
}

function failed(sweepId: string, repeat = 1): CellRecord {
  return {
    ...succeeded(sweepId, repeat),
    status: 'failed',
    metrics: null,
    harness: null,
    failure: {
      type: 'EngineCrashed',
      message: 'container exited with status 137 while loading the model',
      retryable: false,
      step: 'waitForHealth',
    },
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

const sweepStart = (sweepId: string, startedAt = '2025-10-01T09:59:00.000Z') => ({
  sweepId,
  experimentName: 'qwen3-8b-quantization',
  experimentJson: { name: 'qwen3-8b-quantization', repeats: 1 },
  workflowId: `sweep-${sweepId}`,
  simulated: false,
  plannedCells: 18,
  startedAt,
});

for (const backend of BACKENDS) {
  /** A store on a fresh database of this backend, closed after fn. */
  async function withStore<T>(fn: (store: ResultsStore, location: string) => Promise<T>): Promise<T> {
    const location = await backend.fresh();
    const store = await openResultsStore(location);
    try {
      return await fn(store, location);
    } finally {
      await store.close();
    }
  }

  describe(`results store (${backend.name}): schema`, { skip: backend.skip }, () => {
    it('reopening a migrated database keeps its data and does not migrate twice', async () => {
      const location = await backend.fresh();
      const first = await openResultsStore(location);
      assert.equal(first.backend, backend.name);
      await first.upsertSweep(sweepStart('s1'));
      await first.recordCell(succeeded('s1'));
      await first.close();
      const second = await openResultsStore(location);
      try {
        assert.equal(await second.countRows('s1'), 1);
        assert.equal((await second.getSweep('s1'))?.experimentName, 'qwen3-8b-quantization');
      } finally {
        await second.close();
      }
    });

    it('keeps a database written at schema version 1 readable: its cells come back judged by the default rules', async () => {
      const location = await backend.fresh();
      await backend.migrateTo(location, 1);
      const v1Columns = (await backend.columns(location, 'cells')).filter(
        (c) => c !== 'recorded_at' && c !== 'attempts',
      );
      await backend.query(
        location,
        `INSERT INTO sweeps VALUES ('old', 'x', '{}', NULL, 0, '2025-10-01T10:00:00.000Z', NULL, 'completed', 2)`,
      );
      const records: CellRecord[] = [
        succeeded('old'),
        {
          ...succeeded('old', 2, 1),
          status: 'failed',
          metrics: null,
          failure: { type: 'EngineCrashed', message: 'x', retryable: false, step: 'benchmark' },
        },
      ];
      for (const record of records) {
        const row = toCellRow(record) as unknown as Record<string, unknown>;
        await backend.query(
          location,
          `INSERT INTO cells (${v1Columns.join(', ')}, recorded_at) VALUES (${v1Columns.map(() => '?').join(', ')}, '2025-10-01T10:04:00.000Z')`,
          v1Columns.map((c) => row[c] ?? null),
        );
      }
      const store = await openResultsStore(location);
      try {
        const [ok, failedCell] = await store.listCells('old');
        assert.deepEqual(ok!.verdict, { valid: true, reasons: [] });
        assert.equal(ok!.energy, null);
        assert.equal(ok!.thorbenchVersion, null);
        assert.deepEqual(ok!.metrics, FP8_HIGH_LOAD);
        assert.deepEqual(failedCell!.verdict, {
          valid: false,
          reasons: ['no benchmark result: the cell was failed (EngineCrashed)'],
        });
      } finally {
        await store.close();
      }
      assert.equal(await backend.schemaVersion(location), SCHEMA_VERSION);
    });

    it('refuses a database written by a newer thorbench, saying what to do', async () => {
      const location = await backend.fresh();
      await (await openResultsStore(location)).close();
      await backend.markVersion(location, SCHEMA_VERSION + 5);
      await assert.rejects(
        openResultsStore(location),
        /schema version \d+, newer than this thorbench understands.*upgrade thorbench/,
      );
      await assert.rejects(openResultsStore(location, { readonly: true }), /reads version \d+; upgrade thorbench/);
    });

    it('read-only mode refuses writes with a clear message', async () => {
      const location = await backend.fresh();
      await (await openResultsStore(location)).close();
      const reader = await openResultsStore(location, { readonly: true });
      try {
        assert.deepEqual(await reader.listSweeps(), []);
        await assert.rejects(reader.recordCell(succeeded('s1')), /opened read-only/);
        await assert.rejects(
          reader.registerDevice(inventory('thor-a'), 'w1', '2026-01-01T00:00:00.000Z'),
          /opened read-only/,
        );
      } finally {
        await reader.close();
      }
    });

    it('stores the verdict, energy, thermal summary and provenance and reads them back exactly', async () => {
      await withStore(async (store) => {
        await store.upsertSweep(sweepStart('prov'));
        const base = succeeded('prov');
        const record = completeRecord(
          {
            ...base,
            verdict: undefined,
            device: {
              ...base.device!,
              powerModeAfter: { name: 'MAXN', id: 0 },
              clocksAfter: {
                locked: false,
                gpuMhz: 900,
                gpuMaxMhz: 1575,
                emcMhz: 4266,
                emcMaxMhz: 4266,
                cpuMhz: [2601, 972],
              },
            },
            engine: {
              ...base.engine!,
              imageDigest: `nvcr.io/nvidia/vllm@sha256:${'e'.repeat(64)}`,
              version: '0.10.1.1',
              startedForCell: true,
            },
            energy: { status: 'unavailable', reason: 'tegrastats printed no VIN rail' },
            thermal: { samples: 12, maxTempC: 64.5, maxTempSensor: 'tj', gpuMhzMin: 900, gpuMhzMax: 1575 },
          },
          DEFAULT_VALIDITY,
          '0.1.0',
        );
        assert.equal(record.verdict.valid, false);
        await store.recordCell(record);
        assert.deepEqual(await store.getCell('prov', base.cellId, 1), record);
      });
    });
  });

  describe(`results store (${backend.name}): sweeps`, { skip: backend.skip }, () => {
    it('upserts, finishes and lists sweeps newest first', async () => {
      await withStore(async (store) => {
        await store.upsertSweep(sweepStart('older', '2025-10-01T08:00:00.000Z'));
        await store.upsertSweep(sweepStart('newer', '2025-10-02T08:00:00.000Z'));
        assert.deepEqual(
          (await store.listSweeps()).map((s) => s.sweepId),
          ['newer', 'older'],
        );
        assert.deepEqual(await store.getSweep('older'), {
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
        await store.finishSweep('older', 'completed', '2025-10-01T09:00:00.000Z');
        assert.equal((await store.getSweep('older'))?.state, 'completed');
        assert.equal((await store.getSweep('older'))?.finishedAt, '2025-10-01T09:00:00.000Z');
        assert.equal(await store.getSweep('nope'), null);
      });
    });

    it('a resumed sweep keeps its first start time and is running again', async () => {
      await withStore(async (store) => {
        await store.upsertSweep(sweepStart('s1', '2025-10-01T08:00:00.000Z'));
        await store.finishSweep('s1', 'failed', '2025-10-01T08:30:00.000Z');
        await store.upsertSweep({ ...sweepStart('s1', '2025-10-01T12:00:00.000Z'), workflowId: null });
        const s = await store.getSweep('s1');
        assert.equal(s?.startedAt, '2025-10-01T08:00:00.000Z');
        assert.equal(s?.state, 'running');
        assert.equal(s?.finishedAt, null);
        assert.equal(s?.workflowId, 'sweep-s1', 'a resume without a workflow id keeps the known one');
        assert.equal((await store.listSweeps()).length, 1);
      });
    });

    it('finishSweep names the missing sweep and rejects "running"', async () => {
      await withStore(async (store) => {
        await assert.rejects(
          store.finishSweep('ghost', 'completed', '2025-10-01T09:00:00.000Z'),
          /no sweep "ghost".*call upsertSweep/,
        );
        await store.upsertSweep(sweepStart('s1'));
        await assert.rejects(
          store.finishSweep('s1', 'running' as 'completed', '2025-10-01T09:00:00.000Z'),
          /completed, failed or cancelled/,
        );
      });
    });
  });

  describe(`results store (${backend.name}): cells`, { skip: backend.skip }, () => {
    it('round-trips a succeeded CellRecord exactly', async () => {
      await withStore(async (store) => {
        const record = succeeded('s1');
        assert.deepEqual(await store.recordCell(record), { inserted: true, replaced: false, attempts: 1 });
        assert.deepEqual(await store.getCell('s1', record.cellId, 1), record);
      });
    });

    it('round-trips the device a moved cell left, and why (failover)', async () => {
      await withStore(async (store) => {
        const movedFrom = {
          deviceId: 'thor-b',
          reason: 'no worker picked up benchmark within 5 s',
          at: '2025-10-01T10:03:00.000Z',
        };
        const record: CellRecord = { ...succeeded('s1'), movedFrom };
        await store.recordCell(record);
        assert.deepEqual(await store.getCell('s1', record.cellId, 1), record);
        const other = succeeded('s2');
        await store.recordCell(other);
        assert.equal(
          (await store.getCell('s2', other.cellId, 1))!.movedFrom,
          undefined,
          'a cell that never moved says nothing',
        );
      });
    });

    it('round-trips a failed CellRecord exactly', async () => {
      await withStore(async (store) => {
        const record = failed('s1');
        await store.recordCell(record);
        assert.deepEqual(await store.getCell('s1', record.cellId, 1), record);
        assert.equal(await store.getCell('s1', 'no.such.cell.r1', 1), null);
      });
    });

    it('stores headline metrics as real columns for SQL queries', async () => {
      await withStore(async (store, location) => {
        await store.recordCell(succeeded('s1'));
        await store.recordCell({ ...failed('s1', 2), cellId: 'maxn.locked.qwen3-8b-fp8.high-load.r2' });
        const rows = await backend.query(
          location,
          'SELECT cell_id, output_throughput, mean_tpot_ms, energy_j, failure_type, failure_retryable FROM cells ORDER BY cell_id',
        );
        assert.deepEqual(rows, [
          {
            cell_id: 'maxn.locked.qwen3-8b-fp8.high-load.r1',
            output_throughput: 298.07,
            mean_tpot_ms: 22.59,
            energy_j: 3821.5,
            failure_type: null,
            failure_retryable: null,
          },
          {
            cell_id: 'maxn.locked.qwen3-8b-fp8.high-load.r2',
            output_throughput: null,
            mean_tpot_ms: null,
            energy_j: null,
            failure_type: 'EngineCrashed',
            failure_retryable: 0,
          },
        ]);
      });
    });

    it('is idempotent: recording the same key twice leaves one row with attempts 2', async () => {
      await withStore(async (store) => {
        const record = succeeded('s1');
        assert.equal((await store.recordCell(record)).inserted, true);
        assert.deepEqual(await store.recordCell(record), { inserted: false, replaced: false, attempts: 2 });
        assert.equal(await store.countRows('s1'), 1);
        assert.equal((await store.getCellMeta('s1', record.cellId, 1))?.attempts, 2);
        assert.deepEqual(await store.duplicateKeys('s1'), []);
      });
    });

    it('never overwrites a succeeded row, whatever comes later', async () => {
      await withStore(async (store) => {
        const first = succeeded('s1');
        await store.recordCell(first);
        const later = {
          ...succeeded('s1'),
          metrics: { ...FP8_HIGH_LOAD, output_throughput: 1.23 },
          finishedAt: '2025-10-02T00:00:00.000Z',
        };
        assert.deepEqual(await store.recordCell(later), { inserted: false, replaced: false, attempts: 2 });
        assert.deepEqual(await store.recordCell(failed('s1')), { inserted: false, replaced: false, attempts: 3 });
        assert.deepEqual(await store.getCell('s1', first.cellId, 1), first);
        assert.deepEqual(await store.completedCellKeys('s1'), [first.cellId]);
      });
    });

    it('replaces a failed row when the cell later succeeds (a user re-run)', async () => {
      await withStore(async (store) => {
        const fail = failed('s1');
        await store.recordCell(fail);
        assert.deepEqual(await store.completedCellKeys('s1'), []);
        const ok = succeeded('s1');
        assert.deepEqual(await store.recordCell(ok), { inserted: false, replaced: true, attempts: 2 });
        assert.deepEqual(await store.getCell('s1', ok.cellId, 1), ok);
        assert.deepEqual(await store.completedCellKeys('s1'), [ok.cellId]);
        assert.equal(await store.countRows('s1'), 1);
      });
    });

    it('lists cells in plan order and keeps sweeps apart', async () => {
      await withStore(async (store) => {
        const ids = ['c', 'a', 'b'];
        for (const [i, id] of ids.entries())
          await store.recordCell({ ...succeeded('s1'), cellId: `${id}.r1`, position: [2, 0, 1][i] ?? 0 });
        await store.recordCell({ ...succeeded('s2'), cellId: 'other.r1' });
        assert.deepEqual(
          (await store.listCells('s1')).map((c) => [c.cellId, c.position]),
          [
            ['a.r1', 0],
            ['b.r1', 1],
            ['c.r1', 2],
          ],
        );
        assert.equal(await store.countRows('s1'), 3);
        assert.equal(await store.countRows('s2'), 1);
        assert.deepEqual(await store.completedCellKeys('s1'), ['a.r1', 'b.r1', 'c.r1']);
      });
    });

    it('rejects records it cannot store faithfully, naming the field', async () => {
      await withStore(async (store) => {
        await assert.rejects(
          store.recordCell({ ...succeeded('s1'), metrics: null }),
          /succeeded cell must carry its metrics/,
        );
        await assert.rejects(store.recordCell({ ...succeeded('s1'), repeat: 0 }), /repeat must be an integer >= 1/);
        await assert.rejects(
          store.recordCell({ ...succeeded('s1'), status: 'done' as 'succeeded' }),
          /status must be one of/,
        );
        await assert.rejects(
          store.recordCell({ ...succeeded(''), cellId: 'x.r1' }),
          /sweepId must be a non-empty string/,
        );
        assert.equal(await store.countRows('s1'), 0);
      });
    });
  });

  describe(`results store (${backend.name}): transactions`, { skip: backend.skip }, () => {
    it('commits every write of the transaction together', async () => {
      await withStore(async (store) => {
        const result = await store.transaction(async (tx) => {
          await tx.upsertSweep(sweepStart('t1'));
          await tx.finishSweep('t1', 'completed', '2025-10-01T11:00:00.000Z');
          await tx.recordCell(succeeded('t1'));
          await tx.recordCell(succeeded('t1', 2, 1));
          return 'done';
        });
        assert.equal(result, 'done');
        assert.equal((await store.getSweep('t1'))?.state, 'completed');
        assert.equal(await store.countRows('t1'), 2);
      });
    });

    it('keeps none of the writes when the function throws, and the store stays usable', async () => {
      await withStore(async (store) => {
        await assert.rejects(
          store.transaction(async (tx) => {
            await tx.upsertSweep(sweepStart('t1'));
            await tx.recordCell(succeeded('t1'));
            await tx.putArtifact('t1', succeeded('t1').cellId, 'result.json', '{}');
            throw new Error('the third file does not parse');
          }),
          /the third file does not parse/,
        );
        assert.equal(await store.getSweep('t1'), null);
        assert.equal(await store.countRows('t1'), 0);
        assert.deepEqual(await store.listStoredArtifacts('t1', succeeded('t1').cellId), []);
        await store.upsertSweep(sweepStart('t2'));
        assert.equal((await store.listSweeps()).length, 1);
      });
    });

    it('a write started while a transaction is open waits for it and is not rolled back with it', async () => {
      await withStore(async (store) => {
        let outside: Promise<unknown> | null = null;
        await assert.rejects(
          store.transaction(async (tx) => {
            await tx.upsertSweep(sweepStart('inside'));
            outside = store.upsertSweep(sweepStart('outside'));
            await new Promise((r) => setTimeout(r, 20));
            throw new Error('abort');
          }),
          /abort/,
        );
        await outside;
        assert.deepEqual(
          (await store.listSweeps()).map((s) => s.sweepId),
          ['outside'],
        );
      });
    });
  });

  describe(`results store (${backend.name}): artifacts`, { skip: backend.skip }, () => {
    it("keeps, replaces and lists a cell's artifacts byte for byte", async () => {
      await withStore(async (store) => {
        const cell = succeeded('a1').cellId;
        const binary = Buffer.from([0, 1, 2, 254, 255]);
        await store.putArtifact('a1', cell, 'telemetry.bin', binary);
        await store.putArtifact('a1', cell, 'result.json', '{"completed":1}\n');
        await store.putArtifact('a1', cell, 'result.json', '{"completed":100}\n');
        assert.deepEqual(await store.getArtifact('a1', cell, 'telemetry.bin'), binary);
        assert.equal((await store.getArtifact('a1', cell, 'result.json'))?.toString('utf8'), '{"completed":100}\n');
        assert.deepEqual(await store.listStoredArtifacts('a1', cell), ['result.json', 'telemetry.bin']);
        assert.equal(await store.getArtifact('a1', cell, 'missing.json'), null);
        assert.deepEqual(await store.listStoredArtifacts('a1', 'other.r1'), []);
      });
    });

    it('refuses names that are not one path segment and artifacts over the size bound', async () => {
      await withStore(async (store) => {
        await assert.rejects(
          store.putArtifact('a1', 'c.r1', '../escape.json', '{}'),
          /artifact name "..\/escape.json" must be/,
        );
        const tooBig = Buffer.alloc(MAX_STORED_ARTIFACT_BYTES + 1);
        await assert.rejects(
          store.putArtifact('a1', 'c.r1', 'huge.bin', tooBig),
          /more than the store keeps.*stays on the device's disk/,
        );
        assert.deepEqual(await store.listStoredArtifacts('a1', 'c.r1'), []);
      });
    });

    it('storeArtifacts sends a cell directory; readCellArtifact reads the store first, then the directory', async () => {
      await withStore(async (store) => {
        const dir = path.join(tmpRoot, `artifacts-${backend.name}`, 'a1', 'cell.r1');
        await writeArtifact(dir, 'result.json', { completed: 100 });
        await writeArtifact(dir, 'requests.json', { ttfts: [0.1, 0.2] });
        fs.writeFileSync(path.join(dir, 'result.json.tmp-1-abc'), 'half a file');
        const sent = await storeArtifacts(store, 'a1', 'cell.r1', dir);
        assert.deepEqual(sent, { stored: ['requests.json', 'result.json'], skipped: [] });
        const record = { ...succeeded('a1'), cellId: 'cell.r1', artifactsDir: dir };
        // The device's disk is gone: the store still has the artifact.
        fs.rmSync(dir, { recursive: true });
        assert.deepEqual(JSON.parse((await readCellArtifact(store, record, 'requests.json'))!), { ttfts: [0.1, 0.2] });
        assert.deepEqual(await readCellArtifactData(store, record, 'requests.json'), { ttfts: [0.1, 0.2] });
        await store.putArtifact('a1', 'cell.r1', 'broken.json', '{"ttfts": [');
        await assert.rejects(
          readCellArtifactData(store, record, 'broken.json'),
          /artifact broken.json of cell cell.r1 .* not valid JSON/,
        );
        assert.equal(await readCellArtifact(store, record, 'engine.log'), null);
        // Only on disk (a SQLite sweep on one machine): read from the directory.
        const local = path.join(tmpRoot, `artifacts-${backend.name}`, 'a1', 'local.r1');
        await writeArtifact(local, 'engine.log', 'INFO started\n');
        assert.equal(
          await readCellArtifact(store, { ...record, cellId: 'local.r1', artifactsDir: local }, 'engine.log'),
          'INFO started\n',
        );
      });
    });
  });

  describe(`results store (${backend.name}): devices and regressions`, { skip: backend.skip }, () => {
    it('registers devices, moves last-seen only forward, and keeps the registration time of the same worker', async () => {
      await withStore(async (store) => {
        assert.equal(await store.markDeviceSeen('thor-a', 'w1', '2026-01-01T00:00:05.000Z'), false, 'unknown device');
        await store.registerDevice(inventory('thor-a'), 'w1', '2026-01-01T00:00:00.000Z');
        assert.equal(await store.markDeviceSeen('thor-a', 'w1', '2026-01-01T00:01:00.000Z'), true);
        await store.markDeviceSeen('thor-a', 'w1', '2026-01-01T00:00:30.000Z'); // a late report does not move it back
        await store.registerDevice(inventory('thor-a', { modelsDirFreeBytes: 1e9 }), 'w1', '2026-01-01T00:00:50.000Z');
        let [a] = await store.listDevices();
        assert.equal(a!.registeredAt, '2026-01-01T00:00:00.000Z');
        assert.equal(a!.lastSeenAt, '2026-01-01T00:01:00.000Z');
        assert.deepEqual(a!.inventory, inventory('thor-a', { modelsDirFreeBytes: 1e9 }), 'facts are replaced');
        // A restarted worker (new identity) registers anew.
        await store.registerDevice(inventory('thor-b', { simulated: true }), 'w3', '2026-01-01T00:02:00.000Z');
        await store.registerDevice(inventory('thor-a'), 'w2', '2026-01-01T00:02:00.000Z');
        const list = await store.listDevices();
        [a] = list;
        assert.deepEqual(
          list.map((d) => d.deviceId),
          ['thor-a', 'thor-b'],
        );
        assert.equal(a!.registeredAt, '2026-01-01T00:02:00.000Z');
        assert.equal(a!.worker, 'w2');
        await assert.rejects(
          store.registerDevice(inventory(''), 'w1', '2026-01-01T00:03:00.000Z'),
          /deviceId must be a non-empty string/,
        );
      });
    });

    it("records a sweep's comparison against its baseline, replaces it when compared again, and reads it back", async () => {
      await withStore(async (store) => {
        await store.upsertSweep(sweepStart('nightly-1'));
        await store.recordCell(succeeded('nightly-1'));
        const sweep = (await store.getSweep('nightly-1'))!;
        const cells = await store.listCells('nightly-1');
        const comparison = compareToBaseline({ sweep, cells }, { sweep, cells });
        assert.equal(await store.getRegression('nightly-2026-11-29T03:00:00Z'), null);
        const verdict = {
          sweepId: 'nightly-2026-11-29T03:00:00Z',
          baseline: 'nightly-1',
          regression: true,
          comparison,
        };
        await store.recordRegression({ ...verdict, comparedAt: '2026-11-29T03:10:00.000Z' });
        assert.deepEqual(await store.getRegression(verdict.sweepId), {
          ...verdict,
          comparedAt: '2026-11-29T03:10:00.000Z',
        });
        await store.recordRegression({ ...verdict, regression: false, comparedAt: '2026-11-29T04:00:00.000Z' });
        assert.deepEqual(await store.getRegression(verdict.sweepId), {
          ...verdict,
          regression: false,
          comparedAt: '2026-11-29T04:00:00.000Z',
        });
      });
    });

    it('keeps artifacts of a scheduled sweep, whose id holds ":"', async () => {
      await withStore(async (store) => {
        await store.putArtifact('nightly-2026-11-29T03:00:00Z', 'cell-1', 'result.json', '{}');
        assert.equal(
          (await store.getArtifact('nightly-2026-11-29T03:00:00Z', 'cell-1', 'result.json'))?.toString(),
          '{}',
        );
        await assert.rejects(store.putArtifact('nightly', 'cell:1', 'result.json', '{}'), /cell id "cell:1" must be/);
      });
    });
  });
}

describe('results store (postgres): schema and concurrency', { skip: postgresBackend.skip }, () => {
  it('migrates a new database through every version, recording each', async () => {
    const url = await postgresBackend.fresh();
    await (await openResultsStore(url)).close();
    const rows = await pgQuery(url, 'SELECT version, description FROM thorbench_schema ORDER BY version');
    assert.deepEqual(
      rows,
      MIGRATIONS.map((m) => ({ version: m.version, description: m.description })),
    );
    const tables = await pgQuery(url, `SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`);
    assert.deepEqual(
      tables.map((t) => t.tablename),
      ['artifacts', 'cells', 'devices', 'regressions', 'sweeps', 'thorbench_schema'],
    );
  });

  it('has the same columns as the SQLite schema, table by table', async () => {
    const url = await postgresBackend.fresh();
    await (await openResultsStore(url)).close();
    const dbPath = freshDbPath();
    await (await openResultsStore(dbPath)).close();
    for (const table of ['artifacts', 'cells', 'devices', 'regressions', 'sweeps']) {
      const pgColumns = (await postgresBackend.columns(url, table))
        // seq keeps SQLite's rowid order of sweeps started at the same instant (store/sql-dialect.ts).
        .filter((c) => !(table === 'sweeps' && c === 'seq'));
      assert.deepEqual(pgColumns, await sqlite.columns(dbPath, table), `columns of ${table}`);
    }
  });

  it('names the database and the setting to fix when the server cannot be reached', async () => {
    await assert.rejects(
      openResultsStore('postgres://thorbench:secret@127.0.0.1:1/none'),
      (err: Error) =>
        /cannot reach the results database postgres:\/\/thorbench:\*\*\*@127\.0\.0\.1:1\/none: .*THORBENCH_RESULTS_URL/.test(
          err.message,
        ) && !err.message.includes('secret'),
    );
  });

  it('processes opening a fresh database at once migrate it once, and racing writers leave one row per key', async () => {
    const url = await postgresBackend.fresh();
    const stores = await Promise.all([1, 2, 3, 4].map(() => openResultsStore(url)));
    try {
      const record = succeeded('race');
      const results = await Promise.all(stores.flatMap((s) => [s.recordCell(record), s.recordCell(record)]));
      assert.equal(results.filter((r) => r.inserted).length, 1);
      assert.deepEqual(
        results.map((r) => r.attempts).sort((a, b) => a - b),
        [1, 2, 3, 4, 5, 6, 7, 8],
      );
      assert.equal(await stores[0]!.countRows('race'), 1);
      assert.equal((await stores[1]!.getCellMeta('race', record.cellId, 1))?.attempts, 8);
      const applied = await pgQuery(url, 'SELECT COUNT(*)::int AS n FROM thorbench_schema');
      assert.equal(applied[0]!.n, MIGRATIONS.length);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});

describe('results store (sqlite): the file', () => {
  it('creates parent directories and migrates a new file to the current schema in WAL mode', async () => {
    const dbPath = freshDbPath();
    await (await openResultsStore(dbPath)).close();
    const raw = new Database(dbPath, { readonly: true });
    try {
      assert.equal(raw.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
      const tables = (
        raw.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as { name: string }[]
      ).map((t) => t.name);
      assert.deepEqual(tables, ['artifacts', 'cells', 'devices', 'regressions', 'sweeps']);
    } finally {
      raw.close();
    }
  });

  it('migrates an existing empty file', async () => {
    const dbPath = freshDbPath();
    fs.mkdirSync(path.dirname(dbPath), { recursive: true });
    fs.writeFileSync(dbPath, '');
    const store = await openResultsStore(dbPath);
    try {
      assert.equal(await store.countRows('nothing-yet'), 0);
      assert.deepEqual(await store.listSweeps(), []);
    } finally {
      await store.close();
    }
    const raw = new Database(dbPath, { readonly: true });
    assert.equal(raw.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    raw.close();
  });

  it('read-only mode needs an existing file', async () => {
    const missing = path.join(tmpRoot, 'missing', 'thorbench.db');
    await assert.rejects(openResultsStore(missing, { readonly: true }), /no results database at .*run a sweep first/);
    assert.equal(fs.existsSync(path.dirname(missing)), false);
  });
});

describe('results store: rows written by older versions', () => {
  it('reads records stored before step results and failure types were structured', () => {
    const row = toCellRow({
      ...failed('s1'),
      failure: { type: 'EngineCrashed', message: 'm', retryable: false, step: 'startEngine' },
    });
    row.steps_json = JSON.stringify([
      { step: 'flushCaches', startedAt: '2025-10-01T10:00:00.000Z', durationMs: 1200, result: 'done' },
      {
        step: 'warmup',
        startedAt: '2025-10-01T10:00:01.200Z',
        durationMs: 0,
        result: 'skipped: engine already warm: reused',
      },
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
});

describe('results store (sqlite): concurrent access', () => {
  it('a reader sees committed rows while another connection holds an open write transaction', async () => {
    const dbPath = freshDbPath();
    const writer = await openResultsStore(dbPath);
    const reader = await openResultsStore(dbPath, { readonly: true });
    const raw = new Database(dbPath);
    try {
      await writer.recordCell(succeeded('s1', 1, 0));
      raw.exec('BEGIN IMMEDIATE');
      raw.prepare(`UPDATE cells SET position = 99 WHERE sweep_id = 's1'`).run();
      // The write transaction is still open: the reader must neither block nor see the uncommitted change.
      assert.equal((await reader.listCells('s1'))[0]?.position, 0);
      raw.exec('ROLLBACK');
      await writer.recordCell({ ...succeeded('s1', 2, 1) });
      assert.equal(await reader.countRows('s1'), 2);
    } finally {
      raw.close();
      await reader.close();
      await writer.close();
    }
  });

  it('a reader in this thread keeps working while a worker thread records cells', async () => {
    const dbPath = freshDbPath();
    const setup = await openResultsStore(dbPath);
    await setup.upsertSweep(sweepStart('s1'));
    const reader = await openResultsStore(dbPath, { readonly: true });
    const storeUrl = pathToFileURL(
      path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'store', 'store.js'),
    ).href;
    const total = 200;
    const base = succeeded('s1');
    const worker = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       import(workerData.storeUrl).then(async ({ openResultsStore }) => {
         const store = await openResultsStore(workerData.dbPath);
         for (let i = 0; i < workerData.total; i++) {
           const rec = { ...workerData.base, cellId: 'cell-' + i + '.r1', position: i };
           await store.recordCell(rec);
           await store.recordCell(rec);
         }
         await store.close();
         parentPort.postMessage('done');
       }).catch((err) => parentPort.postMessage('error: ' + err.message));`,
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
        seen.push(await reader.countRows('s1'));
        await new Promise((r) => setImmediate(r));
      }
      assert.equal(done, 'done');
      seen.push(await reader.countRows('s1'));
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! >= seen[i - 1]!, 'the row count never goes backwards');
      assert.equal(seen.at(-1), total);
      assert.deepEqual(await reader.duplicateKeys('s1'), []);
      assert.equal((await reader.getCellMeta('s1', 'cell-7.r1', 1))?.attempts, 2);
    } finally {
      await worker.terminate();
      await reader.close();
      await setup.close();
    }
  });
});

describe('the results store location', () => {
  it('refuses a URL of another scheme instead of making it a SQLite path, and the CLI exits 2 naming the setting', async () => {
    const typo = 'postgress://thorbench:secret@127.0.0.1:1/none';
    await assert.rejects(
      openResultsStore(typo),
      (err: Error) => /only postgres:\/\/ URLs name a database/.test(err.message) && !err.message.includes('secret'),
    );
    const cwd = tempDir('results-url-typo');
    const r = await runCli(['status', 'x'], { env: { THORBENCH_RESULTS_URL: typo, THORBENCH_HOME: cwd } });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /THORBENCH_RESULTS_URL must be a postgres:\/\/ or postgresql:\/\/ URL/);
    assert.ok(!r.stderr.includes('secret'), r.stderr);
    assert.ok(!fs.existsSync(path.join(REPO_ROOT, 'postgress:')), 'no SQLite file made of the URL');
  });
});
