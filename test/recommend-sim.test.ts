/**
 * `thorbench recommend` end to end: a small sweep on the simulated Thor through a real Temporal server (two
 * quantizations, locked clocks, repeats), then the CLI over the results database names a configuration that is on
 * the Pareto front and meets the SLOs, and says plainly when none can (an impossible SLO).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import type { Recommendations } from '../report/recommend.js';
import { runCli } from './helpers/cli.js';
import { simExperiment, TEST_MODELS } from './helpers/experiment.js';
import { freePort } from './helpers/net.js';
import { useSimLab } from './helpers/sim-workers.js';

describe('thorbench recommend on a simulated sweep', { timeout: 300_000 }, () => {
  const lab = useSimLab('recommend', { id: 'sim-recommend', speed: 4 });
  const env = { THORBENCH_RESULTS: path.join(lab.dir, 'results') };

  before(async () => {
    const exp = simExperiment('recommend-sim', await freePort(), {
      clocks: ['locked'],
      models: [TEST_MODELS.fp8, TEST_MODELS.awq],
      scenarios: [{ name: 'chat', inputLen: 64, outputLen: 8, numPrompts: 6, maxConcurrency: 2 }],
      repeats: 2,
    });
    const result = await lab.runSweep('recommend-sim-1', exp);
    assert.equal(result.counts.succeeded, 4);
  });

  it('names a configuration on the Pareto front that meets the SLOs', async () => {
    // An SLO every simulated configuration meets with room to spare, checked against the stored records below.
    const r = await runCli(['recommend', 'recommend-sim-1', '--slo', 'p99_ttft_ms<=60000', '--format', 'json'], {
      env,
    });
    assert.equal(r.code, 0, r.stderr);
    const { recommendations } = JSON.parse(r.stdout) as Recommendations;
    assert.equal(recommendations.length, 1);
    const rec = recommendations[0]!;
    assert.equal(rec.scenario, 'chat');
    assert.ok(rec.recommended !== null, rec.reason);
    assert.ok(rec.pareto.includes(rec.recommended), `${rec.recommended} is on the front ${rec.pareto.join(', ')}`);
    assert.deepEqual(rec.configurations.map((c) => c.id).sort(), [
      'maxn.locked.qwen3-8b-awq.chat',
      'maxn.locked.qwen3-8b-fp8.chat',
    ]);

    // Against the records themselves: the winner's mean p99 TTFT is within the SLO, and no valid configuration
    // has a higher mean output throughput.
    const cells = await lab.sim.store.listCells('recommend-sim-1');
    const mean = (id: string, key: 'p99_ttft_ms' | 'output_throughput') => {
      const xs = cells.filter((c) => c.cellId.startsWith(`${id}.r`)).map((c) => c.metrics![key]);
      assert.equal(xs.length, 2);
      return (xs[0]! + xs[1]!) / 2;
    };
    const winner = rec.recommended;
    assert.ok(mean(winner, 'p99_ttft_ms') <= 60000);
    for (const c of rec.configurations.filter((x) => x.valid)) {
      assert.ok(mean(c.id, 'output_throughput') <= mean(winner, 'output_throughput'), c.id);
    }
    assert.ok(
      cells.every((c) => c.verdict.valid),
      'the simulated records are valid',
    );
    assert.match(rec.reason, /at MAXN with jetson_clocks: \d+(\.\d+)? tok\/s, p99 TTFT [\d.]+ ms \(SLO 60000\)/);

    const md = await runCli(['recommend', 'recommend-sim-1', '--slo', 'p99_ttft_ms<=60000'], { env });
    assert.equal(md.code, 0, md.stderr);
    assert.match(md.stdout, new RegExp(`\\*\\*Recommended: \`${winner.replace(/\./g, '\\.')}\`\\*\\*`));
  });

  it('says plainly when no configuration meets the SLOs, and names the closest', async () => {
    const r = await runCli(['recommend', 'recommend-sim-1', '--slo', 'p99_ttft_ms<=0.001', '--format', 'json'], {
      env,
    });
    assert.equal(r.code, 0, r.stderr);
    const rec = (JSON.parse(r.stdout) as Recommendations).recommendations[0]!;
    assert.equal(rec.recommended, null);
    assert.ok(rec.closest !== null && rec.configurations.some((c) => c.id === rec.closest));
    assert.match(rec.reason, /^No configuration meets the SLOs \(p99 TTFT ≤ 0\.001 ms\)/);

    const md = await runCli(['recommend', 'recommend-sim-1', '--slo', 'p99_ttft_ms<=0.001'], { env });
    assert.match(md.stdout, /\*\*No configuration is recommended\*\*/);
  });

  it('refuses an unknown sweep, scenario or SLO with exit 2 and what to fix', async () => {
    const sweepMissing = await runCli(['recommend', 'no-such-sweep'], { env });
    assert.equal(sweepMissing.code, 2);
    assert.match(
      sweepMissing.stderr,
      /no sweep "no-such-sweep" in the results database; recent sweeps: recommend-sim-1/,
    );
    const scenario = await runCli(['recommend', 'recommend-sim-1', '--scenario', 'rag'], { env });
    assert.equal(scenario.code, 2);
    assert.match(scenario.stderr, /no scenario "rag" in these sweeps; scenarios measured: chat/);
    const slo = await runCli(['recommend', 'recommend-sim-1', '--slo', 'ttft<600'], { env });
    assert.equal(slo.code, 2);
    assert.match(slo.stderr, /--slo "ttft<600": write metric<=limit or metric>=limit/);
  });
});
