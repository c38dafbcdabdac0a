/**
 * The fake Thor commands, run exactly as the activities run the real ones: through activities/exec.ts with a
 * simulated DeviceProfile. Outputs are compared with the real captures in fixtures/thor/.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DeviceProfile } from '../activities/device-profile.js';
import { clocksStoreFile, run, runPrivileged, streamDevice } from '../activities/exec.js';
import { startTelemetry } from '../activities/telemetry.js';
import {
  type SimDevice,
  ensureSimDevice,
  readSimState,
  registerOnDeviceProcess,
  simDeviceProfile,
  writeSimFaults,
} from '../sim/device.js';
import { simLayout } from '../sim/layout.js';
import { processState } from '../sim/process-util.js';
import { writeEngineActivity } from '../sim/sim-state.js';
import { fixture, tempDir } from './helpers/files.js';
import { destroySimDevice } from './helpers/sim-device.js';
import { sleep, waitFor } from './helpers/wait.js';

const T = { timeoutMs: 20_000 };

describe('simulated Thor device commands', () => {
  let dir: string;
  let dev: SimDevice;
  let profile: DeviceProfile;
  const bootId = (): string =>
    fs.readFileSync(path.join(profile.rootDir, 'proc/sys/kernel/random/boot_id'), 'utf8').trim();

  before(() => {
    dir = tempDir('sim-dev');
    dev = ensureSimDevice(dir);
    profile = simDeviceProfile(dev, path.join(dir, 'results'));
  });
  after(() => destroySimDevice(dir));

  it('builds a profile pointing at sim/bin, without sudo, marked simulated', () => {
    assert.equal(profile.simulated, true);
    assert.equal(profile.sudo, false);
    assert.equal(profile.commands.nvpmodel, path.join(dev.binDir, 'nvpmodel'));
    assert.equal(profile.env.THORBENCH_SIM_DIR, dev.dir);
    assert.equal(profile.simDir, dev.dir);
    assert.equal(profile.rootDir, path.join(dev.dir, 'root'));
    assert.equal(profile.stateDir, path.join(dev.dir, 'state'));
  });

  it('lays out the device files like a Thor', () => {
    assert.equal(
      fs.readFileSync(path.join(profile.rootDir, 'etc/nv_tegra_release'), 'utf8'),
      fixture('thor', 'nv_tegra_release.txt'),
    );
    assert.equal(
      fs.readFileSync(path.join(profile.rootDir, 'proc/device-tree/model'), 'utf8'),
      'NVIDIA Jetson AGX Thor Developer Kit\0',
    );
    assert.match(bootId(), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('nvpmodel -q prints the real 120W output first, MAXN after -m 0', async () => {
    assert.equal((await runPrivileged(profile, 'nvpmodel', ['-q'], T)).stdout, fixture('thor', 'nvpmodel-q.120w.txt'));
    const switched = await runPrivileged(profile, 'nvpmodel', ['-m', '0'], T);
    assert.equal(switched.exitCode, 0);
    assert.equal((await runPrivileged(profile, 'nvpmodel', ['-q'], T)).stdout, fixture('thor', 'nvpmodel-q.maxn.txt'));
  });

  it('nvpmodel -p --verbose lists the Thor table in the format jtop parses', async () => {
    const out = (await runPrivileged(profile, 'nvpmodel', ['-p', '--verbose'], T)).stdout;
    assert.match(out, /^NVPM VERB: PM_CONFIG: DEFAULT=120W\(1\)$/m);
    const modes = [...out.matchAll(/POWER_MODEL: ID=(\d+) NAME=(\w+)/g)].map((m) => `${m[1]}=${m[2]}`);
    assert.deepEqual(modes, ['0=MAXN', '1=120W', '2=90W', '3=70W']);
    assert.deepEqual(
      [...out.matchAll(/TPC_PG_MASK (\d+)$/gm)].map((m) => Number(m[1])),
      [64, 64, 15873, 15873],
    );
  });

  it('jetson_clocks locks, --show matches the real MAXN capture byte for byte, nvpmodel -m undoes it', async () => {
    await runPrivileged(profile, 'nvpmodel', ['-m', '0'], T);
    const lock = await runPrivileged(profile, 'jetsonClocks', [], T);
    assert.equal(lock.stdout, fixture('thor', 'jetson_clocks.stdout.txt'));
    assert.equal(
      (await runPrivileged(profile, 'jetsonClocks', ['--show'], T)).stdout,
      fixture('thor', 'jetson_clocks-show.maxn-locked.txt'),
    );
    assert.equal(
      fs.readFileSync(path.join(profile.rootDir, 'sys/class/devfreq/gpu-gpc-0/min_freq'), 'utf8'),
      '1575000000\n',
    );
    await runPrivileged(profile, 'nvpmodel', ['-m', '1'], T);
    assert.equal(readSimState(dir).clocks.locked, false);
    const show = (await runPrivileged(profile, 'jetsonClocks', ['--show'], T)).stdout;
    assert.match(show, /^gpu-gpc-0 MinFreq=314000000 MaxFreq=1386000000 /m);
    assert.match(show, /NV Power Mode: 120W\n$/);
  });

  it('jetson_clocks --store / --restore round-trip, with the real quirks', async () => {
    const store = clocksStoreFile(profile);
    fs.rmSync(store, { force: true });
    await runPrivileged(profile, 'jetsonClocks', [], T);
    assert.equal((await runPrivileged(profile, 'jetsonClocks', ['--store', store], T)).exitCode, 0);
    // An existing file is only overwritten after "y" on stdin.
    const refused = await runPrivileged(profile, 'jetsonClocks', ['--store', store], { ...T, allowFailure: true });
    assert.equal(refused.exitCode, 1);
    assert.match(refused.stdout, /already exists\. Can I overwrite it\? Y\/N:/);
    await runPrivileged(profile, 'nvpmodel', ['-m', '1'], T);
    assert.equal(readSimState(dir).clocks.locked, false);
    await runPrivileged(profile, 'jetsonClocks', ['--restore', store], T);
    assert.equal(readSimState(dir).clocks.locked, true);
    fs.rmSync(store);
    const missing = await runPrivileged(profile, 'jetsonClocks', ['--restore', store], { ...T, allowFailure: true });
    assert.equal(missing.exitCode, 1);
    assert.equal(missing.stdout, `Error: ${store} file not found !\n`);
  });

  it('sysctl -w vm.drop_caches=3 answers like the real one and is counted', async () => {
    const before = readSimState(dir).dropCaches.count;
    const r = await runPrivileged(profile, 'sysctl', ['-w', 'vm.drop_caches=3'], T);
    assert.equal(r.stdout, 'vm.drop_caches = 3\n');
    assert.equal(readSimState(dir).dropCaches.count, before + 1);
    const other = await run([profile.commands.sysctl, '-w', 'kernel.panic=1'], {
      ...T,
      env: profile.env,
      allowFailure: true,
    });
    assert.notEqual(other.exitCode, 0);
    assert.match(other.stderr, /cannot stat \/proc\/sys\/kernel\/panic/);
  });

  it('does not lose updates when fake commands run concurrently', async () => {
    const before = readSimState(dir).dropCaches.count;
    await Promise.all(Array.from({ length: 8 }, () => runPrivileged(profile, 'sysctl', ['-w', 'vm.drop_caches=3'], T)));
    assert.equal(readSimState(dir).dropCaches.count, before + 8);
  });

  it('a mode needing a reboot: empty stdin refuses and changes nothing; YES reboots into it', async () => {
    await runPrivileged(profile, 'nvpmodel', ['-m', '1'], T);
    const boot = bootId();
    const refused = await runPrivileged(profile, 'nvpmodel', ['-m', '2'], { ...T, allowFailure: true });
    assert.notEqual(refused.exitCode, 0);
    assert.equal(
      refused.stdout,
      'NVPM WARN: Reboot required for changing to this power mode: 2\nNVPM WARN: DO YOU WANT TO REBOOT NOW? enter YES/yes to confirm:\n',
    );
    assert.equal(refused.stderr, 'NVPM ERROR: bad input!\nNVPM ERROR: optMask is 1, no request for power mode\n');
    assert.equal(bootId(), boot);
    assert.equal((await runPrivileged(profile, 'nvpmodel', ['-q'], T)).stdout, fixture('thor', 'nvpmodel-q.120w.txt'));

    await runPrivileged(profile, 'jetsonClocks', [], T);
    const accepted = await runPrivileged(profile, 'nvpmodel', ['-m', '2'], { ...T, input: 'YES\n' });
    assert.match(accepted.stdout, /NVPM WARN: rebooting\n$/);
    assert.notEqual(bootId(), boot);
    assert.equal((await runPrivileged(profile, 'nvpmodel', ['-q'], T)).stdout, 'NV Power Mode: 90W\n2\n');
    const state = readSimState(dir);
    assert.equal(state.clocks.locked, false, 'clocks do not survive a reboot');
    assert.equal(state.pendingPowerModeId, null);
    await runPrivileged(profile, 'nvpmodel', ['-m', '1'], { ...T, input: 'yes\n' });
  });

  it('fault rebootRequiredModes forces the prompt for a live-switchable mode', async () => {
    writeSimFaults(dir, { rebootRequiredModes: [0] });
    const r = await runPrivileged(profile, 'nvpmodel', ['-m', '0'], { ...T, allowFailure: true });
    assert.match(r.stdout, /Reboot required for changing to this power mode: 0/);
    assert.equal(readSimState(dir).powerModeId, 1);
    writeSimFaults(dir, {});
  });

  it('rejects an unknown mode id with a non-zero exit', async () => {
    const r = await runPrivileged(profile, 'nvpmodel', ['-m', '9'], { ...T, allowFailure: true });
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /NVPM ERROR: Invalid power mode ID: 9/);
  });

  it('reboot SIGKILLs registered on-device processes and gives a new boot id', async () => {
    const child = spawn('sleep', ['300'], { stdio: 'ignore' });
    const exited = new Promise<string | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    registerOnDeviceProcess(dir, child.pid!);
    const boot = bootId();
    // The simulated device's power button: thorbench itself never runs reboot (nvpmodel does, after YES).
    await run([path.join(dev.binDir, 'reboot')], { ...T, env: profile.env });
    assert.equal(await exited, 'SIGKILL');
    assert.notEqual(bootId(), boot);
    assert.equal(readSimState(dir).bootCount >= 3, true);
  });

  it('tegrastats prints Thor lines until stopped, through the streaming exec', async () => {
    const lines: string[] = [];
    const command = streamDevice(profile, [profile.commands.tegrastats, '--interval', '50'], {
      onLine: (l) => lines.push(l),
    });
    await waitFor('two tegrastats lines', () => (lines.length >= 2 ? true : undefined), 15_000);
    const end = await command.stop();
    assert.equal(end.stopped, true);
    assert.match(
      lines[0]!,
      /^\d\d-\d\d-\d{4} \d\d:\d\d:\d\d RAM \d+\/125772MB .* VDD_GPU \d+mW\/\d+mW VDD_CPU_SOC_MSS \d+mW\/\d+mW VIN_SYS_5V0 \d+mW\/\d+mW VIN \d+mW\/\d+mW$/,
    );
    assert.equal(processState(command.pid!) === 'running', false);
  });

  it('records power telemetry from tegrastats for a benchmark window', async () => {
    const telemetry = startTelemetry(profile, 50);
    await sleep(1_000);
    const { samples, error } = await telemetry.stop();
    assert.equal(error, null);
    assert.ok(samples.length >= 1, `${samples.length} samples`);
    assert.ok(samples.every((s) => s.rails.VIN! > 0 && s.tMs > 0));
    const missing = startTelemetry({
      ...profile,
      commands: { ...profile.commands, tegrastats: '/nonexistent/tegrastats' },
    });
    const none = await missing.stop();
    assert.deepEqual(none.samples, []);
    assert.match(none.error ?? '', /\/nonexistent\/tegrastats/);
  });

  it('tegrastats draws more power while an engine has requests in flight', async () => {
    const sample = async (): Promise<{ vin: number; ram: number }> => {
      const lines: string[] = [];
      const command = streamDevice(profile, [profile.commands.tegrastats, '--interval', '20'], {
        onLine: (l) => lines.push(l),
      });
      try {
        await waitFor('a tegrastats line', () => (lines.length > 0 ? true : undefined), 15_000);
      } finally {
        await command.stop();
      }
      const line = lines[0]!;
      return { vin: Number(/ VIN (\d+)mW/.exec(line)![1]), ram: Number(/RAM (\d+)\//.exec(line)![1]) };
    };
    const idle = await sample();
    // An engine publishes its in-flight requests; this test process stands in for the engine's pid.
    writeEngineActivity(simLayout(dir), {
      container: 'fake-engine',
      pid: process.pid,
      inFlight: 8,
      memoryMb: 100_000,
      updatedAt: new Date().toISOString(),
    });
    try {
      const busy = await sample();
      assert.ok(busy.vin > idle.vin + 20_000, `VIN idle ${idle.vin} mW, busy ${busy.vin} mW`);
      assert.ok(busy.ram >= idle.ram + 100_000);
    } finally {
      fs.rmSync(path.join(simLayout(dir).activityDir, 'fake-engine.json'), { force: true });
    }
  });

  it('keeps its state when ensured again (a restarted worker sees the same boot), and applies new faults', () => {
    const before = readSimState(dir);
    const again = ensureSimDevice(dir, { faults: { missingModels: ['x/y'] }, speed: 4 });
    const after = readSimState(dir);
    assert.equal(again.dir, dev.dir);
    assert.equal(after.bootId, before.bootId);
    assert.equal(after.powerModeId, before.powerModeId);
    assert.deepEqual(after.faults, { missingModels: ['x/y'] });
    assert.equal(after.speed, 4);
  });

  it('refuses to run without THORBENCH_SIM_DIR, saying what to set', () => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.THORBENCH_SIM_DIR;
    const r = spawnSync(profile.commands.nvpmodel, ['-q'], { env, encoding: 'utf8', input: '' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /THORBENCH_SIM_DIR is not set/);
    const wrong = spawnSync(profile.commands.docker, ['ps'], {
      env: { ...env, THORBENCH_SIM_DIR: os.tmpdir() },
      encoding: 'utf8',
      input: '',
    });
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /is not a simulated Thor directory/);
  });
});
