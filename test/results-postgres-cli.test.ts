/**
 * `thorbench run` with THORBENCH_RESULTS_URL: the sweep on the simulated Thor records into a real PostgreSQL
 * (test/helpers/postgres.ts), the device worker sends each cell's artifacts there, and `report` / `status` read
 * from it — from a machine that has none of the sweep's files; `thorbench import` records into it too.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { stopDevServer } from '../server/dev-server.js';
import { readCellArtifact } from '../store/artifacts.js';
import { openResultsStore } from '../store/store.js';
import { runCli } from './helpers/cli.js';
import { simExperiment } from './helpers/experiment.js';
import { fixturePath, tempDir } from './helpers/files.js';
import { freePort } from './helpers/net.js';
import { POSTGRES_MISSING, startPostgres, type TestPostgres } from './helpers/postgres.js';

const postgres: TestPostgres | null = await startPostgres();
if (postgres === null) console.log(`# PostgreSQL end-to-end test skipped: ${POSTGRES_MISSING}`);

describe(
  'thorbench run with THORBENCH_RESULTS_URL (PostgreSQL)',
  { timeout: 600_000, skip: postgres === null ? POSTGRES_MISSING : false },
  () => {
    const dir = tempDir('pg-cli');
    let url = '';
    let env: Record<string, string> = {};

    before(async () => {
      url = await postgres!.createDatabase('thorbench_results');
      const port = await freePort();
      env = {
        THORBENCH_HOME: path.join(dir, 'home'),
        THORBENCH_RESULTS: path.join(dir, 'results'),
        THORBENCH_RESULTS_URL: url,
        THORBENCH_TEMPORAL_PORT: String(port),
        THORBENCH_UI_PORT: String(await freePort()),
        THORBENCH_SIM_SPEED: '4',
        TEMPORAL_ADDRESS: '',
      };
    });
    after(async () => {
      stopDevServer(path.join(dir, 'home'));
      await postgres?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('records cells and artifacts in PostgreSQL and reports from it', async () => {
      const file = path.join(dir, 'pg-e2e.json');
      fs.writeFileSync(file, JSON.stringify(simExperiment('pg-e2e', await freePort())));
      const r = await runCli(['run', file, '--device', 'sim', '--id', 'pg-e2e'], { env });
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(
        r.stdout,
        /Output token throughput \(tok\/s\)/,
        'the report printed at the end comes from the store',
      );
      assert.ok(r.stdout.includes(`Results: postgres://thorbench@127.0.0.1:`), r.stdout);
      assert.equal(fs.existsSync(path.join(dir, 'results', 'thorbench.db')), false, 'no SQLite file is written');

      // The rows, read with plain SQL.
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      let cells: { cell_id: string; status: string; output_throughput: number | null; attempts: number }[];
      let artifacts: { cell_id: string; name: string; size: number }[];
      try {
        const sweeps = await client.query('SELECT sweep_id, state, planned_cells FROM sweeps');
        assert.deepEqual(sweeps.rows, [{ sweep_id: 'pg-e2e', state: 'completed', planned_cells: 2 }]);
        cells = (await client.query('SELECT cell_id, status, output_throughput, attempts FROM cells ORDER BY position'))
          .rows;
        artifacts = (await client.query('SELECT cell_id, name, size FROM artifacts ORDER BY cell_id, name')).rows;
      } finally {
        await client.end();
      }
      assert.deepEqual(
        cells.map((c) => [c.cell_id, c.status, c.attempts]),
        [
          ['maxn.default.qwen3-8b-fp8.tiny.r1', 'succeeded', 1],
          ['maxn.locked.qwen3-8b-fp8.tiny.r1', 'succeeded', 1],
        ],
      );
      for (const c of cells) assert.ok(c.output_throughput! > 0);
      for (const c of cells) {
        const names = artifacts.filter((a) => a.cell_id === c.cell_id).map((a) => a.name);
        for (const name of ['requests.json', 'result.json', 'telemetry.json'])
          assert.ok(names.includes(name), `${c.cell_id}: ${names.join(', ')}`);
      }
      assert.ok(artifacts.every((a) => a.size > 0));

      // Another machine: none of the sweep's files, only the URL. Reports and status come from PostgreSQL.
      fs.rmSync(path.join(dir, 'results'), { recursive: true, force: true });
      const elsewhere = { ...env, THORBENCH_RESULTS: path.join(dir, 'elsewhere') };
      const rep = await runCli(['report', 'pg-e2e', '--format', 'json'], { env: elsewhere });
      assert.equal(rep.code, 0, rep.stderr);
      const report = JSON.parse(rep.stdout) as {
        sweep: { state: string };
        cells: { cellId: string; status: string }[];
      };
      assert.equal(report.sweep.state, 'completed');
      assert.deepEqual(
        report.cells.map((c) => c.status),
        ['succeeded', 'succeeded'],
      );
      const status = await runCli(['status', 'pg-e2e', '--json'], { env: elsewhere });
      assert.equal(status.code, 0, status.stderr);
      assert.equal((JSON.parse(status.stdout) as { counts: { succeeded: number } }).counts.succeeded, 2);
      assert.equal((await runCli(['report', 'no-such-sweep'], { env: elsewhere })).code, 2);

      // The per-request arrays outlived the device's disk.
      const store = await openResultsStore(url);
      try {
        const [first] = await store.listCells('pg-e2e');
        const requests = JSON.parse((await readCellArtifact(store, first!, 'requests.json'))!) as Record<
          string,
          unknown
        >;
        assert.ok(Object.keys(requests).length > 0);
      } finally {
        await store.close();
      }
    });

    it('thorbench import records into PostgreSQL with its artifacts, all or nothing', async () => {
      const file = fixturePath('vllm-0.33-client', 'c64.save-detailed.json');
      const r = await runCli(['import', file, '--into', 'imported', '--cell', 'maxn.locked.qwen3.c64.r1'], { env });
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { ttfts: number[] };
      const store = await openResultsStore(url);
      try {
        assert.deepEqual(await store.listStoredArtifacts('imported', 'maxn.locked.qwen3.c64.r1'), [
          'import.json',
          'recomputed.json',
          'requests.json',
          'vllm-result.json',
        ]);
        // Read back from the store alone: the local artifacts directory is gone.
        const [cell] = await store.listCells('imported');
        fs.rmSync(cell!.artifactsDir!, { recursive: true });
        const requests = JSON.parse((await readCellArtifact(store, cell!, 'requests.json'))!) as { ttfts: number[] };
        assert.deepEqual(requests.ttfts, saved.ttfts);
      } finally {
        await store.close();
      }
      // Other numbers for the same cell are refused, and change nothing.
      const other = fixturePath('vllm-0.33-client', 'c8.save-detailed.json');
      const clash = await runCli(['import', other, '--into', 'imported', '--cell', 'maxn.locked.qwen3.c64.r1'], {
        env,
      });
      assert.equal(clash.code, 2, clash.stderr);
      assert.match(clash.stderr, /already has cell "maxn\.locked\.qwen3\.c64\.r1".*Nothing was imported/);
      const after = await openResultsStore(url);
      try {
        assert.equal(await after.countRows('imported'), 1);
      } finally {
        await after.close();
      }
    });
  },
);
