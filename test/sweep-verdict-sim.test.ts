/**
 * Validity, provenance and energy through real sweeps on the simulated Thor and a real Temporal server: a
 * 3-prompt scenario under `validity.minCompleted: 10` is recorded invalid with that reason while its 12-prompt
 * neighbour is valid; every record carries the read-back power mode and clocks, the image digest, the engine
 * version and argv, the harness argv and thorbench's version; every succeeded cell has its energy figures, from
 * tegrastats' three-value rail format; and a sweep without warm-up on a board without a VIN rail says both.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderSweepReport } from '../cli/commands/report.js';
import type { ExperimentInput } from '../schema/experiment.js';
import { writeSimTegrastatsFormat } from '../sim/device.js';
import { parseCsv } from './helpers/csv.js';
import { freePort } from './helpers/net.js';
import { useSimLab } from './helpers/sim-workers.js';

const MODEL = {
  id: 'qwen3-8b-fp8',
  path: 'Qwen/Qwen3-8B-FP8',
  quantization: 'fp8',
  size: '8.9G',
  servedName: 'qwen3',
} as const;

function experiment(name: string, port: number, over: Partial<ExperimentInput> = {}): ExperimentInput {
  return {
    name,
    engine: { port, maxModelLen: 4096 },
    matrix: {
      power: [{ mode: 'MAXN' }],
      clocks: ['locked'],
      model: [MODEL],
      scenario: [
        { name: 'three', inputLen: 64, outputLen: 8, numPrompts: 3, maxConcurrency: 3 },
        { name: 'twelve', inputLen: 64, outputLen: 8, numPrompts: 12, maxConcurrency: 4 },
      ],
    },
    warmup: { inputLen: 32, outputLen: 4, numPrompts: 2 },
    validity: { minCompleted: 10 },
    ...over,
  };
}

describe('validity, provenance and energy on the simulated Thor', { timeout: 240_000 }, () => {
  const lab = useSimLab('verdict', { id: 'sim-verdict', speed: 4 });

  it('records a 3-prompt scenario under minCompleted 10 as invalid, with provenance and energy on every record', async () => {
    writeSimTegrastatsFormat(lab.sim.simDir, { railValues: 3, vin: true });
    await lab.runSweep('verdict-1', experiment('verdict', await freePort()));
    const cells = await lab.sim.store.listCells('verdict-1');
    assert.equal(cells.length, 2);
    const three = cells.find((c) => c.scenario === 'three')!;
    const twelve = cells.find((c) => c.scenario === 'twelve')!;

    for (const c of cells) {
      assert.equal(c.status, 'succeeded', JSON.stringify(c.failure));
      // Energy, from tegrastats' three-value rails, on every succeeded cell.
      assert.equal(typeof c.metrics?.energy_per_output_token_j, 'number', `${c.cellId} energy per token`);
      assert.equal(typeof c.metrics?.output_throughput_per_w, 'number', `${c.cellId} tokens/s per W`);
      assert.ok(c.metrics!.energy_per_output_token_j! > 0 && c.metrics!.output_throughput_per_w! > 0);
      assert.equal(c.energy?.status, 'measured');
      assert.ok(c.thermal && c.thermal.samples > 0 && c.thermal.maxTempC !== null);
      // Provenance.
      assert.match(c.engine?.imageDigest ?? '', /^nvcr\.io\/nvidia\/vllm@sha256:[0-9a-f]{64}$/);
      assert.match(c.engine?.version ?? '', /\+sim/);
      assert.ok(c.engine?.command.includes('--served-model-name'), 'the exact engine argv');
      assert.ok(c.harness?.command.includes('--num-prompts'), 'the exact harness argv');
      assert.deepEqual(c.device?.powerModeAfter, { name: 'MAXN', id: 0 });
      assert.equal(c.device?.clocksAfter?.locked, true);
      assert.ok(
        c.device!.clocksAfter!.gpuMhz! > 0 && c.device!.clocksAfter!.gpuMhz === c.device!.clocksAfter!.gpuMaxMhz,
      );
      assert.ok(c.device!.clocksAfter!.emcMhz! > 0 && c.device!.clocksAfter!.cpuMhz.length > 0);
      assert.match(c.device?.l4tRelease ?? '', /^R38\./);
      assert.match(c.device?.model ?? '', /Thor/);
      assert.equal(c.thorbenchVersion, '0.1.0');
      assert.ok(c.steps.some((s) => s.step === 'readBackDevice' && s.result.kind === 'done'));
    }
    // The engine started for the first cell and was warmed up; the second adopted it.
    assert.equal(three.engine?.startedForCell, true);
    assert.equal(twelve.engine?.startedForCell, false);

    assert.deepEqual(three.verdict, {
      valid: false,
      reasons: ['only 3 request(s) completed; validity.minCompleted is 10'],
    });
    assert.deepEqual(twelve.verdict, { valid: true, reasons: [] });

    // Reports mark the invalid cell and say why.
    const md = await renderSweepReport(lab.sim.store, 'verdict-1', 'md');
    assert.ok(md.includes('⚠ invalid'), md);
    assert.ok(md.includes('only 3 request(s) completed; validity.minCompleted is 10'));
    assert.ok(
      (await renderSweepReport(lab.sim.store, 'verdict-1', 'html')).includes('⚠ invalid'),
      'the HTML table marks it too',
    );
    const csv = parseCsv(await renderSweepReport(lab.sim.store, 'verdict-1', 'csv'));
    const header = csv[0]!;
    const row = (scenario: string) => csv.find((r) => r.includes(`maxn.locked.qwen3-8b-fp8.${scenario}.r1`))!;
    assert.equal(row('three')[header.indexOf('valid')], 'false');
    assert.equal(
      row('three')[header.indexOf('verdict_reasons')],
      'only 3 request(s) completed; validity.minCompleted is 10',
    );
    assert.equal(row('twelve')[header.indexOf('valid')], 'true');
    assert.match(row('twelve')[header.indexOf('engine_image_digest')]!, /@sha256:/);
    assert.equal(row('twelve')[header.indexOf('power_mode_after')], 'MAXN');
    assert.equal(row('twelve')[header.indexOf('energy_status')], 'measured');
    assert.ok((JSON.parse(row('twelve')[header.indexOf('harness_argv')]!) as string[]).includes('--num-prompts'));
    // Every provenance column carries the record's value: the engine, the board and the clocks read back after it.
    const field = (name: string): string => {
      assert.ok(header.includes(name), `CSV column ${name}`);
      return row('twelve')[header.indexOf(name)]!;
    };
    const after = twelve.device!.clocksAfter!;
    assert.equal(field('engine_version'), twelve.engine!.version);
    assert.deepEqual(JSON.parse(field('engine_argv')), twelve.engine!.command);
    assert.equal(field('l4t_release'), twelve.device!.l4tRelease);
    assert.equal(field('device_model'), twelve.device!.model);
    assert.equal(field('thorbench_version'), '0.1.0');
    assert.equal(Number(field('gpu_mhz_after')), after.gpuMhz);
    assert.equal(Number(field('emc_mhz_after')), after.emcMhz);
    assert.deepEqual(JSON.parse(field('cpu_mhz_after')), after.cpuMhz);
    const json = JSON.parse(await renderSweepReport(lab.sim.store, 'verdict-1', 'json')) as {
      cells: { verdict: unknown; engine: { imageDigest: string } }[];
    };
    assert.ok(json.cells.every((c) => typeof c.verdict === 'object' && c.engine.imageDigest.includes('@sha256:')));
  });

  it('says so when an engine runs cold and when the board has no VIN rail', async () => {
    writeSimTegrastatsFormat(lab.sim.simDir, { railValues: 2, vin: false });
    const port = await freePort();
    const exp = experiment('verdict-cold', port, { warmup: undefined });
    exp.matrix.scenario = [{ name: 'twelve', inputLen: 64, outputLen: 8, numPrompts: 12, maxConcurrency: 4 }];
    await lab.runSweep('verdict-2', exp);
    const [cell] = await lab.sim.store.listCells('verdict-2');
    assert.equal(cell?.status, 'succeeded', JSON.stringify(cell?.failure));
    assert.equal(cell.engine?.startedForCell, true);
    assert.deepEqual(cell.verdict.reasons, [
      'no warm-up before the run: the engine was started for this cell and no warmup is configured (add a "warmup" section)',
    ]);
    // No VIN: the record says so explicitly (the simulator is not held to the real-device energy rule).
    assert.equal(cell.energy?.status, 'unavailable');
    assert.match(
      cell.energy?.status === 'unavailable' ? cell.energy.reason : '',
      /no VIN rail \(it printed VDD_GPU, VDD_CPU_SOC_MSS, VIN_SYS_5V0\)/,
    );
    assert.ok('energy_per_output_token_j' in cell.metrics! && cell.metrics!.energy_per_output_token_j === null);
    const csv = await renderSweepReport(lab.sim.store, 'verdict-2', 'csv');
    assert.ok(csv.includes(',unavailable,'));
  });
});
