/**
 * Provenance and energy pieces below the sweep: the clocks read back from `jetson_clocks --show`, the image digest
 * from `docker image inspect`, the device read-back activity, the simulated tegrastats' rail formats, and the
 * energy/thermal summary of a benchmark window (which says why when there is no energy).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DeviceProfile } from '../activities/device-profile.js';
import { createDeviceActivities } from '../activities/device.js';
import { CommandError, run, runPrivileged } from '../activities/exec.js';
import { startTelemetry } from '../activities/telemetry.js';
import { THORBENCH_VERSION } from '../activities/thorbench-version.js';
import { summarizeThermal, summarizeWindow, type WindowSample } from '../metrics/telemetry-window.js';
import {
  ParseError,
  clocksReadBack,
  imageDigest,
  imageRepository,
  parseDockerImageInspect,
  parseJetsonClocksShow,
  parseTegrastatsLine,
} from '../parsers/thor.js';
import {
  type SimDevice,
  ensureSimDevice,
  parseTegrastatsFormat,
  simDeviceProfile,
  writeSimTegrastatsFormat,
} from '../sim/device.js';
import { destroySimDevice } from './helpers/sim-device.js';

const fixture = (name: string): string =>
  fs.readFileSync(new URL(`../../fixtures/thor/${name}`, import.meta.url), 'utf8');
const IMAGE = 'nvcr.io/nvidia/vllm:25.09-py3';

describe('clocks read back after a benchmark', () => {
  it('gives MHz for the GPU, EMC and every online CPU of the real MAXN + jetson_clocks capture', () => {
    const back = clocksReadBack(parseJetsonClocksShow(fixture('jetson_clocks-show.maxn-locked.txt')));
    assert.deepEqual(back, {
      locked: true,
      gpuMhz: 1575,
      gpuMaxMhz: 1575,
      emcMhz: 4266,
      emcMaxMhz: 4266,
      cpuMhz: Array(14).fill(2601),
    });
  });
});

describe('docker image inspect', () => {
  it("picks the registry digest of the image's own repository, else any, else the local id", () => {
    const id = `sha256:${'a'.repeat(64)}`;
    const facts = (repoDigests: string[] | null) =>
      parseDockerImageInspect(
        JSON.stringify([{ Id: id, RepoTags: [IMAGE], RepoDigests: repoDigests, Architecture: 'arm64', Os: 'linux' }]),
      );
    const own = `nvcr.io/nvidia/vllm@sha256:${'b'.repeat(64)}`;
    const mirror = `mirror.local:5000/vllm@sha256:${'c'.repeat(64)}`;
    assert.equal(imageDigest(facts([mirror, own]), IMAGE), own);
    assert.equal(imageDigest(facts([mirror]), IMAGE), mirror);
    // Docker 24 may print "RepoDigests": null (moby/moby#45556); a locally built image has none.
    assert.equal(imageDigest(facts(null), IMAGE), id);
    assert.equal(facts(null).architecture, 'arm64');
    const pinned = `${own.split('@')[0]}@sha256:${'d'.repeat(64)}`;
    assert.equal(imageDigest(facts([own]), pinned), pinned, 'a reference pinned by digest is its own answer');
    assert.equal(imageRepository('localhost:5000/vllm:dev'), 'localhost:5000/vllm');
    assert.equal(imageRepository('localhost:5000/vllm'), 'localhost:5000/vllm');
  });

  it('refuses what is not an image description, naming the problem', () => {
    assert.throws(
      () => parseDockerImageInspect('Error: No such image: x'),
      (e: Error) => e instanceof ParseError && /not JSON/.test(e.message),
    );
    assert.throws(() => parseDockerImageInspect('[]'), /no such image/);
    assert.throws(() => parseDockerImageInspect('[{"Id":"abc"}]'), /Id: must be sha256/);
  });
});

describe('on the simulated Thor', () => {
  let dir: string;
  let dev: SimDevice;
  let profile: DeviceProfile;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'thorbench-provenance-'));
    dev = ensureSimDevice(dir);
    profile = simDeviceProfile(dev, path.join(dir, 'results'));
  });
  after(() => destroySimDevice(dir));

  it('docker image inspect answers with a stable registry digest that differs from the image id', async () => {
    const inspect = async () =>
      (await run([profile.commands.docker, 'image', 'inspect', IMAGE], { timeoutMs: 20_000, env: profile.env })).stdout;
    const first = parseDockerImageInspect(await inspect());
    const second = parseDockerImageInspect(await inspect());
    assert.deepEqual(first, second);
    assert.equal(first.architecture, 'arm64');
    assert.match(first.id, /^sha256:[0-9a-f]{64}$/);
    const digest = imageDigest(first, IMAGE);
    assert.match(digest, /^nvcr\.io\/nvidia\/vllm@sha256:[0-9a-f]{64}$/);
    assert.notEqual(digest.split('@')[1], first.id);
  });

  it('readBackDevice reports the power mode and clocks, locked or not, and never fails', async () => {
    const device = createDeviceActivities(profile);
    const before = await device.readBackDevice();
    assert.deepEqual(before.powerMode, { name: '120W', id: 1 });
    assert.equal(before.clocks?.locked, false);
    assert.deepEqual(before.problems, []);

    await runPrivileged(profile, 'jetsonClocks', [], { timeoutMs: 20_000 });
    const locked = await device.readBackDevice();
    assert.equal(locked.clocks?.locked, true);
    assert.equal(locked.clocks?.gpuMhz, locked.clocks?.gpuMaxMhz);
    assert.ok((locked.clocks?.cpuMhz.length ?? 0) > 0);

    const broken = createDeviceActivities({
      ...profile,
      commands: { ...profile.commands, jetsonClocks: path.join(dir, 'missing-jetson_clocks') },
    });
    const partial = await broken.readBackDevice();
    assert.deepEqual(partial.powerMode, { name: '120W', id: 1 });
    assert.equal(partial.clocks, null);
    assert.match(partial.problems[0] ?? '', /^jetson_clocks --show: /);
  });

  it('tegrastats prints two- or three-value rails, with or without VIN, and the parser reads each', async () => {
    const line = async (): Promise<string> => {
      const rec = startTelemetry(profile, 50);
      await rec.firstSample();
      const { samples, error } = await rec.stop();
      assert.equal(error, null);
      assert.ok(samples.length > 0);
      return JSON.stringify(samples[0]);
    };
    const raw = async (): Promise<string> => {
      // One line of the simulated tool itself, to check the printed format.
      // It runs until killed: the timeout kills it, and the error carries what it printed.
      const err = await run([profile.commands.tegrastats, '--interval', '50'], {
        timeoutMs: 3000,
        env: profile.env,
      }).catch((e: unknown) => e);
      assert.ok(err instanceof CommandError && err.timedOut, String(err));
      return err.stdout.split('\n')[0] ?? '';
    };

    const two = await raw();
    assert.match(two, / VIN \d+mW\/\d+mW$/);
    assert.ok(parseTegrastatsLine(two).rails.VIN!.instMw > 0);

    writeSimTegrastatsFormat(dir, { railValues: 3, vin: true });
    const three = await raw();
    assert.match(three, / VDD_GPU \d+mW\/\d+mW\/\d+mW .* VIN (\d+)mW\/\d+mW\/\d+mW$/);
    const inst = Number(/ VIN (\d+)mW/.exec(three)![1]);
    assert.equal(
      parseTegrastatsLine(three).rails.VIN!.instMw,
      inst,
      'the first of three values is the instantaneous one',
    );
    assert.match(await line(), /"VIN":\d+/);

    writeSimTegrastatsFormat(dir, { railValues: 2, vin: false });
    const noVin = await raw();
    assert.doesNotMatch(noVin, / VIN /);
    assert.doesNotMatch(await line(), /"VIN"/);
  });
});

describe('THORBENCH_SIM_TEGRASTATS', () => {
  it('selects two or three values per rail, with or without VIN, and refuses anything else', () => {
    assert.deepEqual(parseTegrastatsFormat('2'), { railValues: 2, vin: true });
    assert.deepEqual(parseTegrastatsFormat('3'), { railValues: 3, vin: true });
    assert.deepEqual(parseTegrastatsFormat('3,no-vin'), { railValues: 3, vin: false });
    assert.throws(() => parseTegrastatsFormat('4'), /THORBENCH_SIM_TEGRASTATS must be "2" or "3".*got "4"/);
  });
});

describe('energy and thermal summary of a benchmark window', () => {
  const sample = (tMs: number, vinMw: number | null, extra: Partial<WindowSample> = {}): WindowSample => ({
    tMs,
    rails: vinMw === null ? { VDD_GPU: 1962 } : { VIN: vinMw, VDD_GPU: 1962 },
    ...extra,
  });
  /** A benchmark over startMs..endMs that generated `tokens` tokens, with these samples (or tegrastats' error). */
  const benchmarkWindow = (
    samples: WindowSample[],
    startMs: number,
    endMs: number,
    tokens = 1,
    telemetryError: string | null = null,
  ) =>
    summarizeWindow({
      samples,
      telemetryError,
      startMs,
      endMs,
      totalOutputTokens: tokens,
      durationS: (endMs - startMs) / 1000,
    });

  it('measures a window shorter than the sampling period from the samples on either side', () => {
    const w = benchmarkWindow([sample(1000, 20_000), sample(1500, 60_000)], 1100, 1300, 32);
    assert.equal(w.energy.status, 'measured');
    // Power interpolated at 1.1 s (28 W) and 1.3 s (44 W): 36 W over 0.2 s.
    assert.ok(Math.abs(w.metrics.energy_j! - 7.2) < 1e-9);
    assert.ok(Math.abs(w.metrics.energy_per_output_token_j! - 7.2 / 32) < 1e-9);
    assert.ok(Math.abs(w.metrics.output_throughput_per_w! - 32 / 0.2 / 36) < 1e-9);
    assert.ok(w.energy.status === 'measured' && w.energy.rail === 'VIN' && w.energy.samples === 0);
    assert.ok(
      Math.abs(w.energy.coveredS - 0.2) < 1e-9 && Math.abs(w.energy.windowS - 0.2) < 1e-9,
      'the whole window is covered',
    );
  });

  it('says why when there is no energy, and leaves the energy keys null, not missing', () => {
    const noVin = benchmarkWindow([sample(0, null), sample(500, null)], 100, 400);
    assert.deepEqual(noVin.energy.status, 'unavailable');
    assert.match(
      noVin.energy.status === 'unavailable' ? noVin.energy.reason : '',
      /no VIN rail \(it printed VDD_GPU\)/,
    );
    assert.deepEqual(noVin.metrics, {
      energy_j: null,
      avg_power_w: null,
      energy_per_output_token_j: null,
      output_throughput_per_w: null,
    });

    const none = benchmarkWindow([], 0, 1000, 1, '/usr/bin/tegrastats not found');
    assert.deepEqual(none.energy, {
      status: 'unavailable',
      reason: 'no tegrastats samples: /usr/bin/tegrastats not found',
    });

    const late = benchmarkWindow([sample(5000, 20_000), sample(5500, 20_000)], 0, 1000);
    assert.match(
      late.energy.status === 'unavailable' ? late.energy.reason : '',
      /none spanning the 1.00 s benchmark window/,
    );
  });

  it('keeps the hottest sensor and the GPU clock range, ignoring switched-off sensors', () => {
    const t = summarizeThermal(
      [
        sample(0, 1, { temps: { tj: 50, cpu: -256 }, gpuMhz: [1575, 1575, 1575] }),
        sample(500, 1, { temps: { tj: 88.5, gpu: 80 }, gpuMhz: [1200, 1575, 1575] }),
        sample(5000, 1, { temps: { tj: 120 }, gpuMhz: [300] }),
        sample(9000, 1, { temps: { tj: 130 } }),
      ],
      100,
      900,
    );
    // Inside the window: the 500 ms sample; bracketing: 0 ms before, 5000 ms after (9000 ms is out). GPU clocks
    // count only inside the window.
    assert.deepEqual(t, { samples: 3, maxTempC: 120, maxTempSensor: 'tj', gpuMhzMin: 1200, gpuMhzMax: 1575 });
  });
});

describe('thorbench version', () => {
  it('comes from package.json', () => {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    assert.equal(THORBENCH_VERSION, pkg.version);
  });
});
