/**
 * Pure text formats of the simulated Thor: jetson_clocks --show (against the real capture), the store file,
 * tegrastats lines, the docker argument parser and template subset, vLLM serve arguments.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALLOWED_SERVE_FLAGS } from '../schema/experiment.js';
import { TemplateError, renderTemplate } from '../sim/docker-format.js';
import { DockerUsageError, parseDockerRun } from '../sim/docker-run-args.js';
import { ServeArgsError, parseServeArgs, resolveQuantization, simulatedVllmVersion } from '../sim/engine-args.js';
import { naturalLength, promptTokenCount } from '../sim/generated-text.js';
import { railPower, renderTegrastatsLine } from '../sim/tegrastats-line.js';
import { parseClocksStore, renderClocksShow, renderClocksStore, thorClocks } from '../sim/thor-clocks.js';
import { needsReboot, requirePowerMode } from '../sim/thor-power-modes.js';
import { fixture } from './helpers/files.js';

const MAXN = requirePowerMode(0);
const W120 = requirePowerMode(1);

describe('jetson_clocks formats', () => {
  it('renders MAXN with clocks locked byte for byte like the real Thor', () => {
    assert.equal(
      renderClocksShow(thorClocks(MAXN, true, false, false)),
      fixture('thor', 'jetson_clocks-show.maxn-locked.txt'),
    );
  });

  it('caps the GPU at 1386 MHz in 120W and shows DVFS floors when unlocked', () => {
    const locked = renderClocksShow(thorClocks(W120, true, false, false));
    assert.match(locked, /^gpu-gpc-0 MinFreq=1386000000 MaxFreq=1386000000 CurrentFreq=1386000000$/m);
    assert.match(locked, /^NV Power Mode: 120W\n$/m);
    const unlocked = renderClocksShow(thorClocks(MAXN, false, false, false));
    assert.match(
      unlocked,
      /^cpu0: Governor=schedutil MinFreq=972000 MaxFreq=2601000 CurrentFreq=972000 IdleStates: WFI=1 cc7=1$/m,
    );
    assert.match(unlocked, /FreqOverride=0/);
    const gpu = /^gpu-gpc-0 MinFreq=(\d+) MaxFreq=(\d+)/m.exec(unlocked)!;
    assert.ok(Number(gpu[1]) < Number(gpu[2]));
  });

  it('lists offline CPUs in the 12-core modes', () => {
    assert.match(
      renderClocksShow(thorClocks(requirePowerMode(2), false, false, false)),
      /^Online CPUs: 0-11, Offline CPUs: 12-13$/m,
    );
  });

  it('round-trips the lock state through the store file', () => {
    assert.deepEqual(parseClocksStore(renderClocksStore(thorClocks(MAXN, true, false, false))), {
      locked: true,
      fanMax: false,
    });
    assert.deepEqual(parseClocksStore(renderClocksStore(thorClocks(W120, false, false, true))), {
      locked: false,
      fanMax: true,
    });
    assert.equal(parseClocksStore('hello\n'), undefined);
  });

  it('needs a reboot exactly across TPC power-gating masks', () => {
    assert.equal(needsReboot(0, 1), false);
    assert.equal(needsReboot(1, 2), true);
    assert.equal(needsReboot(2, 3), false);
  });
});

describe('tegrastats line', () => {
  const line = (locked: boolean, inFlight: number, mode = MAXN): string => {
    const power = railPower(mode, locked, inFlight, () => 1);
    let seed = 0;
    return renderTegrastatsLine({
      now: new Date(2026, 3, 21, 15, 50, 52),
      clocks: thorClocks(mode, locked, inFlight > 0, false),
      inFlight,
      ramUsedMb: 7900,
      power,
      average: power,
      random: () => (seed = (seed + 0.37) % 1),
    });
  };
  const rails = (text: string): Record<string, number> =>
    Object.fromEntries([...text.matchAll(/([A-Z0-9_]+) (\d+)mW\/(\d+)mW/g)].map((m) => [m[1]!, Number(m[2])]));

  it('has the real Thor layout: timestamp, 14 CPUs, three GPC clocks, four rails', () => {
    const text = line(false, 0);
    assert.match(
      text,
      /^04-21-2026 15:50:52 RAM 7900\/125772MB \(lfb \d+x4MB\) CPU \[(\d+%@972,){13}\d+%@972\] EMC_FREQ 0%@2750 GR3D_FREQ @\[314,314,314\] /,
    );
    assert.deepEqual(Object.keys(rails(text)), ['VDD_GPU', 'VDD_CPU_SOC_MSS', 'VIN_SYS_5V0', 'VIN']);
  });

  it('idles at about 19.8 W on VIN and draws more under load, more in MAXN than 120W', () => {
    const idle = rails(line(false, 0));
    assert.ok(Math.abs(idle.VIN! - 19780) < 300, `idle VIN ${idle.VIN}`);
    assert.ok(Math.abs(idle.VDD_GPU! + idle.VDD_CPU_SOC_MSS! + idle.VIN_SYS_5V0! - 13484) < 300);
    const busy = rails(line(true, 8));
    assert.ok(busy.VIN! > 60000, `loaded VIN ${busy.VIN}`);
    assert.ok(rails(line(true, 8, W120)).VDD_GPU! < busy.VDD_GPU!);
    assert.match(line(true, 8), /GR3D_FREQ @\[1575,1575,1575\]/);
  });
});

describe('docker run arguments', () => {
  const env = { HF_TOKEN: 'abc' };
  const parse = (args: string[]) => parseDockerRun(args, { hostEnv: env, readFile: () => 'A=1\n# comment\nB=2\n' });

  it("parses thorbench's engine command line", () => {
    const spec = parse([
      '-d',
      '--runtime=nvidia',
      '--ipc=host',
      '--net=host',
      '--name',
      'tb-x',
      '--label',
      'thorbench.sweep=s',
      '-l',
      'k',
      '-e',
      'VLLM_X=1',
      '-eHF_TOKEN',
      '--env-file',
      'f',
      '-v',
      '/data/models:/models:ro',
      '--restart=no',
      'nvcr.io/nvidia/vllm:25.09-py3',
      'vllm',
      'serve',
      '/models/Qwen/Qwen3-8B-FP8',
      '--port',
      '8000',
    ]);
    assert.equal(spec.detach, true);
    assert.equal(spec.name, 'tb-x');
    assert.deepEqual(spec.labels, { 'thorbench.sweep': 's', k: '' });
    assert.deepEqual(spec.env, ['VLLM_X=1', 'HF_TOKEN=abc', 'A=1', 'B=2']);
    assert.deepEqual(spec.mounts, [{ host: '/data/models', container: '/models', readOnly: true }]);
    assert.equal(spec.runtime, 'nvidia');
    assert.equal(spec.network, 'host');
    assert.equal(spec.image, 'nvcr.io/nvidia/vllm:25.09-py3');
    assert.deepEqual(spec.command, ['vllm', 'serve', '/models/Qwen/Qwen3-8B-FP8', '--port', '8000']);
  });

  it('accepts bundled short flags and rejects unknown ones with docker wording', () => {
    assert.equal(parse(['-dit', 'img', 'vllm']).detach, true);
    assert.throws(
      () => parse(['--bogus', 'img']),
      (e: unknown) => e instanceof DockerUsageError && e.message === 'unknown flag: --bogus',
    );
    assert.throws(() => parse(['-d']), DockerUsageError);
  });
});

describe('docker templates', () => {
  const obj = {
    Name: '/x',
    State: { Status: 'exited', ExitCode: 137, OOMKilled: true },
    Config: { Labels: { a: 'b' } },
  };

  it('renders fields and json like Go templates, and refuses the rest', () => {
    assert.equal(renderTemplate('{{.State.Status}} {{.State.ExitCode}} {{.State.OOMKilled}}', obj), 'exited 137 true');
    assert.equal(renderTemplate('{{json .State}}', obj), '{"Status":"exited","ExitCode":137,"OOMKilled":true}');
    assert.equal(renderTemplate('{{.Name}}\\t{{.Config.Labels}}', obj), '/x\tmap[a:b]');
    assert.throws(() => renderTemplate('{{range .X}}', obj), TemplateError);
    assert.throws(() => renderTemplate('{{index .Config.Labels "a"}}', obj), TemplateError);
  });
});

describe('vllm serve arguments', () => {
  it('parses the engine activity command and rejects unknown flags like argparse', () => {
    const a = parseServeArgs([
      'serve',
      '/models/Qwen/Qwen3-8B-FP8',
      '--served-model-name',
      'qwen3',
      'q3',
      '--port=8001',
      '--gpu-memory-utilization',
      '0.8',
      '--max-model-len',
      '32000',
      '--enforce-eager',
    ]);
    assert.equal(a.model, '/models/Qwen/Qwen3-8B-FP8');
    assert.deepEqual(a.servedModelNames, ['qwen3', 'q3']);
    assert.equal(a.port, 8001);
    assert.equal(a.gpuMemoryUtilization, 0.8);
    assert.equal(a.maxModelLen, 32000);
    assert.throws(
      () => parseServeArgs(['serve', 'm', '--nope']),
      (e: unknown) => e instanceof ServeArgsError && /unrecognized arguments: --nope/.test(e.message),
    );
    assert.throws(() => parseServeArgs(['serve', 'm', '--port', '70000']), ServeArgsError);
  });

  it('accepts every extra serve flag the experiment schema allows', () => {
    for (const flag of ALLOWED_SERVE_FLAGS) {
      const boolean = /^--(no-)?enable-|^--enforce-eager$|^--trust-remote-code$/.test(flag);
      const argv = ['serve', '/models/m', flag, ...(boolean ? [] : ['1'])];
      assert.doesNotThrow(() => parseServeArgs(argv), `${flag} rejected`);
    }
  });

  it('takes the quantization from the label, else the flag, else the model name', () => {
    const args = parseServeArgs(['serve', '/models/Qwen/Qwen3-8B-AWQ']);
    assert.equal(resolveQuantization({ 'thorbench.quantization': 'fp4' }, args), 'fp4');
    assert.equal(resolveQuantization({}, args), 'awq');
    assert.equal(resolveQuantization({}, parseServeArgs(['serve', '/models/x', '--quantization', 'fp8'])), 'fp8');
    assert.equal(resolveQuantization({}, parseServeArgs(['serve', '/models/Qwen/Qwen3-8B'])), 'bf16');
  });

  it('marks the version as simulated', () => {
    assert.equal(simulatedVllmVersion('nvcr.io/nvidia/vllm:25.09-py3'), '0.10.1.1+sim.nv25.09');
    assert.equal(simulatedVllmVersion('vllm/vllm-openai:v0.20.1'), '0.20.1+sim');
    assert.match(simulatedVllmVersion(undefined), /\+sim$/);
  });
});

describe('generated text', () => {
  it('counts prompt tokens and stops early for a few percent of requests without ignore_eos', () => {
    assert.equal(promptTokenCount('a  b\nc'), 3);
    assert.equal(promptTokenCount([1, 2, 3, 4]), 4);
    let early = 0;
    for (let i = 0; i < 2000; i++) if (naturalLength(i * 7919) < 128) early++;
    assert.ok(early > 20 && early < 200, `${early} of 2000 stop before 128 tokens`);
  });
});
