/**
 * The `thorbench` command as a user runs it: a subprocess with its own home, embedded Temporal server and results.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { stopDevServer } from '../server/dev-server.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/files.js';
import { demoRun } from './helpers/sim-device.js';

describe('thorbench CLI', { timeout: 600_000 }, () => {
  const home = tempDir('cli');
  after(() => {
    stopDevServer(path.join(home, 'home'));
  });

  it('validate: exit 0 for every shipped experiment', async () => {
    for (const f of ['demo-sim', 'thor-quantization', 'thor-power-clocks', 'thor-scenarios', 'thor-full-matrix']) {
      const r = await runCli(['validate', `experiments/${f}.json`]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /valid experiment/);
    }
  });

  it('validate: exit 2 with the JSON path of each problem', async () => {
    const file = path.join(home, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'Bad Name',
        matrix: {
          power: [],
          clocks: ['on'],
          model: [{ id: 'm', path: '/etc', quantization: 'fp8' }],
          scenario: [{ name: 's', inputLen: 0, outputLen: 1, numPrompts: 1 }],
        },
      }),
    );
    const r = await runCli(['validate', file]);
    assert.equal(r.code, 2);
    for (const p of [
      'name:',
      'matrix.power:',
      'matrix.clocks[0]:',
      'matrix.model[0].path:',
      'matrix.scenario[0].inputLen:',
    ])
      assert.ok(r.stderr.includes(p), `${p} in\n${r.stderr}`);
  });

  it('validate: YAML is accepted, broken JSON is exit 2', async () => {
    const yaml = path.join(home, 'x.yaml');
    writeFileSync(
      yaml,
      'name: y\nmatrix:\n  power: [{mode: MAXN}]\n  clocks: [locked]\n  model: [{id: m, path: a/b, quantization: awq}]\n  scenario: [{name: s, inputLen: 8, outputLen: 8, numPrompts: 1}]\n',
    );
    assert.equal((await runCli(['validate', yaml])).code, 0);
    const broken = path.join(home, 'broken.json');
    writeFileSync(broken, '{"name": ');
    const r = await runCli(['validate', broken]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /not valid JSON/);
  });

  it('plan --json: 9 model loads for the 18-cell quantization sweep', async () => {
    const r = await runCli(['plan', 'experiments/thor-quantization.json', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout);
    assert.equal(plan.cells, 18);
    assert.equal(plan.modelLoads, 9);
    assert.equal(plan.powerModeChanges, 1);
    assert.equal(plan.clockChanges, 1);
    assert.equal(plan.reboots, 0);
    assert.equal(plan.order.length, 18);
    assert.equal(plan.order[0], 'maxn.locked.qwen3-8b-bf16.high-load.r1');
  });

  it('plan: the 360-cell full matrix loads each model once per reboot epoch, with one reboot', async () => {
    const r = await runCli(['plan', 'experiments/thor-full-matrix.json']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ {2}360 cells, 18 model loads, .*, 1 possible reboots, 36 warm-ups$/m);
    assert.match(r.stdout, /^ +11 {2}120w\.default\.qwen3-8b-bf16\.high-load\.r1 {3}\[power 120W, warm-up\]$/m);
    // From a device at 70W: the 90W/70W epoch first, without a reboot into it.
    const from70 = await runCli(['plan', 'experiments/thor-full-matrix.json', '--json', '--current-power', '70W']);
    assert.equal(from70.code, 0, from70.stderr);
    const plan = JSON.parse(from70.stdout);
    assert.deepEqual([plan.cells, plan.modelLoads, plan.reboots], [360, 18, 1]);
    assert.equal(plan.order[0], '70w.default.qwen3-8b-bf16.high-load.r1');
    assert.equal(plan.steps[0].mayReboot, false);
    assert.equal((await runCli(['plan', 'experiments/thor-full-matrix.json', '--current-power', '70 W'])).code, 2);
  });

  it('--help on every command', async () => {
    const commands = [
      'run',
      'start',
      'worker',
      'status',
      'devices',
      'plan',
      'validate',
      'report',
      'recommend',
      'schedule',
      'cancel',
    ];
    for (const c of commands) {
      const r = await runCli([c, '--help']);
      assert.equal(r.code, 0);
      assert.match(r.stdout, new RegExp(`Usage: thorbench ${c}`));
    }
    assert.match((await runCli(['--help'])).stdout, /thorbench: durable/);
    assert.equal((await runCli(['frobnicate'])).code, 2);
  });

  it('run: the demo on the simulated Thor with the embedded server, then status and report', async () => {
    const { env, temporalPort: port, uiPort } = await demoRun(home);
    const r = await runCli(['run', 'experiments/demo-sim.json', '--device', 'sim'], { env });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.ok(r.stdout.includes(`Web UI: http://localhost:${uiPort}/namespaces/default/workflows/demo-sim-`), r.stdout);
    assert.match(r.stdout, /Output token throughput \(tok\/s\)/);
    assert.match(r.stdout, /[Ss]imulated/);
    const sweepId = /Sweep (demo-sim-[0-9a-f]{8}) started/.exec(r.stdout)?.[1];
    assert.ok(sweepId, r.stdout);
    // The embedded server keeps running after the command, with its Web UI at the printed address.
    const ui = await fetch(`http://localhost:${uiPort}/namespaces/default/workflows/${sweepId}`);
    assert.equal(ui.status, 200);
    // ... and the sweep can be found by model in the UI's search (search attributes set at start); its cells carry
    // the same attributes, so the query names the workflow type.
    const connection = await Connection.connect({ address: `127.0.0.1:${port}` });
    try {
      const found: string[] = [];
      const query = 'WorkflowType = "sweep" AND ThorbenchModels = "qwen3-8b-awq" AND ThorbenchPowerModes = "maxn"';
      for await (const w of new Client({ connection }).workflow.list({ query })) found.push(w.workflowId);
      assert.deepEqual(found, [sweepId]);
    } finally {
      await connection.close();
    }

    const s = await runCli(['status', sweepId, '--json'], { env });
    assert.equal(s.code, 0, s.stderr);
    const status = JSON.parse(s.stdout);
    assert.equal(status.state, 'completed');
    assert.equal(status.cells.length, 8);
    for (const c of status.cells) {
      assert.equal(c.status, 'succeeded', JSON.stringify(c));
      for (const k of ['output_throughput', 'mean_ttft_ms', 'mean_tpot_ms', 'request_throughput'])
        assert.equal(typeof c.metrics[k], 'number');
    }

    const again = await runCli(['run', 'experiments/demo-sim.json', '--device', 'sim'], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /already completed; not running it again/);

    for (const format of ['csv', 'html', 'json']) {
      const rep = await runCli(['report', sweepId, '--format', format], { env });
      assert.equal(rep.code, 0, rep.stderr);
      assert.ok(rep.stdout.length > 100);
    }
    assert.equal((await runCli(['report', 'no-such-sweep'], { env })).code, 2);
  });
});
