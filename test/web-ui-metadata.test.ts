/** What the Web UI shows for sweeps and cells: labels, and search attributes registered wherever a server starts. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Connection } from '@temporalio/client';
import { ensureDevServer, portOpen, stopDevServer } from '../server/dev-server.js';
import { findTemporalCli } from '../server/temporal-cli.js';
import { planSweep } from '../plan/plan.js';
import { Experiment } from '../schema/experiment.js';
import {
  SEARCH_ATTRIBUTES,
  SEARCH_ATTRIBUTE_FLAGS,
  cellSearchAttributes,
  onlyRegistered,
  searchAttributeTypeName,
} from '../workflows/search-attributes.js';
import { cellDetails, cellSummary, stepSummary } from '../workflows/summaries.js';
import { tempDir } from './helpers/files.js';
import { freePort } from './helpers/net.js';

const quantization = Experiment.parse(
  JSON.parse(readFileSync(new URL('../../experiments/thor-quantization.json', import.meta.url), 'utf8')),
);

describe('cell and step summaries', () => {
  it('reads as the matrix: quantization, power mode, clocks, scenario', () => {
    const plan = planSweep(quantization);
    const fp8 = plan.cells.find((c) => c.model.quantization === 'fp8' && c.scenario.name === 'high-load')!;
    assert.equal(cellSummary(fp8, plan), 'FP8 · MAXN · clocks locked · high-load (c=8, 100 prompts)');
    assert.equal(
      stepSummary('benchmark', fp8, quantization.engine, null),
      'benchmark high-load: 100 prompts at concurrency 8',
    );
    assert.match(
      cellDetails(fp8, plan, 'sweep-1', 'thor-a', quantization.engine),
      /^\*\*maxn\.locked\.qwen3-8b-fp8\.high-load\.r1\*\* — cell \d+ of 18/,
    );
  });

  it('names the model when two share a quantization, and the repeat when cells repeat', () => {
    const exp = Experiment.parse({
      name: 'two',
      repeats: 2,
      matrix: {
        power: [{ id: 2 }],
        clocks: ['default'],
        model: [
          { id: 'a-fp8', path: 'A', quantization: 'fp8' },
          { id: 'b-fp8', path: 'B', quantization: 'fp8' },
        ],
        scenario: [{ name: 'one', inputLen: 8, outputLen: 8, numPrompts: 1 }],
      },
    });
    const plan = planSweep(exp);
    assert.equal(
      cellSummary(plan.cells[1]!, plan),
      'a-fp8 · FP8 · mode 2 · clocks default · one (c=∞, 1 prompt) · repeat 2',
    );
  });
});

describe('search attributes', () => {
  it('gives a cell the sweep attributes with its own values, plus sweep, device, scenario, clocks and status', () => {
    const plan = planSweep(quantization);
    const c = plan.cells[0]!;
    const byName = Object.fromEntries(
      cellSearchAttributes('s-1', 'thor-quantization', 'thor-b', c).map((p) => [p.key.name, p.value]),
    );
    assert.deepEqual(byName, {
      ThorbenchExperiment: 'thor-quantization',
      ThorbenchModels: [c.model.id],
      ThorbenchQuantizations: [c.model.quantization],
      ThorbenchPowerModes: ['maxn'],
      ThorbenchSweep: 's-1',
      ThorbenchDevice: 'thor-b',
      ThorbenchScenario: c.scenario.name,
      ThorbenchClocks: 'locked',
      ThorbenchCellStatus: 'pending',
    });
    const some = onlyRegistered(cellSearchAttributes('s', 'e', 'd', c), new Set(['ThorbenchSweep']));
    assert.deepEqual(
      some.map((p) => p.key.name),
      ['ThorbenchSweep'],
    );
  });

  it('registers every attribute on the embedded dev server and in the compose setup, with its type', () => {
    const expected = Object.values(SEARCH_ATTRIBUTES).map((k) => `${k.name}=${searchAttributeTypeName(k)}`);
    assert.deepEqual(
      SEARCH_ATTRIBUTE_FLAGS.filter((_, i) => i % 2 === 1),
      expected,
    );
    const script = readFileSync(new URL('../../deploy/temporal/create-namespace.sh', import.meta.url), 'utf8');
    const listed = [...script.matchAll(/\b(Thorbench[A-Za-z]+=(?:Keyword|KeywordList))\b/g)].map((m) => m[1]);
    assert.deepEqual(listed, expected);
    // SQL visibility (SQLite, Postgres) has three KeywordList slots.
    assert.ok(expected.filter((e) => e.endsWith('=KeywordList')).length <= 3);
  });
});

describe('the embedded server', { timeout: 60_000 }, () => {
  it('gives a server started by an older thorbench the search attributes added since', async () => {
    const cli = await findTemporalCli();
    assert.ok(cli, 'the Temporal CLI (scripts/ensure-temporal-cli.sh)');
    const home = tempDir('old-server');
    const port = await freePort();
    // An embedded server as an older thorbench left it running: its pid file in the home, only its own attributes.
    const old = spawn(
      cli,
      [
        'server',
        'start-dev',
        '--headless',
        '--ip',
        '127.0.0.1',
        '--port',
        String(port),
        '--log-level',
        'error',
        '--search-attribute',
        'ThorbenchExperiment=Keyword',
      ],
      { stdio: 'ignore' },
    );
    writeFileSync(path.join(home, 'temporal-server.pid'), String(old.pid));
    try {
      for (const deadline = Date.now() + 30_000; !(await portOpen(port)) && Date.now() < deadline;) {
        await new Promise((r) => setTimeout(r, 200));
      }
      const server = await ensureDevServer({ home, port, headless: true });
      assert.equal(server.startedNow, false, 'the running server is reused');
      const connection = await Connection.connect({ address: server.address });
      try {
        const listed = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
        const have = Object.keys(listed.customAttributes ?? {});
        for (const k of Object.values(SEARCH_ATTRIBUTES)) assert.ok(have.includes(k.name), `${k.name} registered`);
      } finally {
        await connection.close();
      }
    } finally {
      stopDevServer(home);
      old.kill();
    }
  });
});
