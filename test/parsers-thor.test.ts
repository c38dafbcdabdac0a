/**
 * Thor tool-output parsers against the real captures in fixtures/thor/ and the formats described in
 * docs/thor.md.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  detectRebootPrompt,
  ParseError,
  parseCpuList,
  parseDockerInspect,
  parseJetsonClocksShow,
  parseNvpmodelQuery,
  parseNvpmodelVerbose,
  parseNvTegraRelease,
  parseTegrastatsLine,
} from '../parsers/thor.js';
import { fixture } from './helpers/files.js';

describe('parseNvpmodelQuery', () => {
  it('reads the real MAXN and 120W captures', () => {
    assert.deepEqual(parseNvpmodelQuery(fixture('thor', 'nvpmodel-q.maxn.txt')), { name: 'MAXN', id: 0 });
    assert.deepEqual(parseNvpmodelQuery(fixture('thor', 'nvpmodel-q.120w.txt')), { name: '120W', id: 1 });
  });

  it('skips warning lines before the mode line and accepts CRLF', () => {
    assert.deepEqual(parseNvpmodelQuery('NVPM WARN: fan mode is not set!\r\nNV Power Mode: 90W\r\n2\r\n'), {
      name: '90W',
      id: 2,
    });
  });

  it('throws a ParseError naming what is missing', () => {
    assert.throws(
      () => parseNvpmodelQuery('sudo: a password is required\n'),
      (err: unknown) => {
        assert.ok(err instanceof ParseError);
        assert.match(err.message, /nvpmodel -q output.*NV Power Mode/);
        assert.match(err.message, /a password is required/);
        return true;
      },
    );
    assert.throws(() => parseNvpmodelQuery('NV Power Mode: MAXN\n'), /mode id/);
    assert.throws(() => parseNvpmodelQuery('NV Power Mode: MAXN\nzero\n'), ParseError);
  });
});

describe('parseNvpmodelVerbose', () => {
  const thorTable = [
    'NVPM VERB: Config file: /etc/nvpmodel.conf',
    'NVPM VERB: parsing done for /etc/nvpmodel.conf',
    'NVPM VERB: PM_CONFIG: DEFAULT=120W(1)',
    'NVPM VERB: PARAM TYPE=FILE NAME=TPC_POWER_GATING',
    'NVPM VERB: TPC_PG_MASK /sys/devices/platform/gpu.0/tpc_pg_mask',
    'NVPM VERB: ',
    'NVPM VERB: POWER_MODEL: ID=0 NAME=MAXN',
    'NVPM VERB: CPU_ONLINE CORE_0 1',
    'NVPM VERB: TPC_POWER_GATING TPC_PG_MASK 64',
    'NVPM VERB: GPU MAX_FREQ 1575000000',
    'NVPM VERB: ',
    'NVPM VERB: POWER_MODEL: ID=1 NAME=120W',
    'NVPM VERB: TPC_POWER_GATING TPC_PG_MASK 64',
    'NVPM VERB: POWER_MODEL: ID=2 NAME=90W',
    'NVPM VERB: TPC_POWER_GATING TPC_PG_MASK 15873',
    'NVPM VERB: POWER_MODEL: ID=3 NAME=70W',
    'NVPM VERB: TPC_POWER_GATING TPC_PG_MASK 15873',
  ].join('\n');

  it('reads default, ids, names and TPC masks; the conf-level TPC path line is not a mask', () => {
    assert.deepEqual(parseNvpmodelVerbose(thorTable), {
      defaultMode: { name: '120W', id: 1 },
      modes: [
        { id: 0, name: 'MAXN', tpcPgMask: 64 },
        { id: 1, name: '120W', tpcPgMask: 64 },
        { id: 2, name: '90W', tpcPgMask: 15873 },
        { id: 3, name: '70W', tpcPgMask: 15873 },
      ],
    });
  });

  it('leaves the mask null for modes without TPC gating and the default null when absent', () => {
    const nano =
      'NVPM VERB: POWER_MODEL: ID=0 NAME=MAXN\nNVPM VERB: CPU_ONLINE CORE_0 1\nNVPM VERB: POWER_MODEL: ID=1 NAME=MODE_30W_ALL\n';
    assert.deepEqual(parseNvpmodelVerbose(nano), {
      defaultMode: null,
      modes: [
        { id: 0, name: 'MAXN', tpcPgMask: null },
        { id: 1, name: 'MODE_30W_ALL', tpcPgMask: null },
      ],
    });
  });

  it('throws when there is no POWER_MODEL line', () => {
    assert.throws(() => parseNvpmodelVerbose('NV Power Mode: MAXN\n0\n'), /POWER_MODEL/);
  });
});

describe('detectRebootPrompt', () => {
  it('recognises the refused reboot prompt (empty stdin)', () => {
    const out = [
      'NVPM WARN: Reboot required for changing to this power mode: 2',
      'NVPM WARN: DO YOU WANT TO REBOOT NOW? enter YES/yes to confirm:',
      'NVPM ERROR: bad input!',
      'NVPM ERROR: optMask is 1, no request for power mode',
    ].join('\n');
    assert.deepEqual(detectRebootPrompt(out), { rebootRequired: true, targetMode: 2, refused: true });
  });

  it('recognises an accepted reboot', () => {
    const out =
      'NVPM WARN: Reboot required for changing to this power mode: 3\nNVPM WARN: DO YOU WANT TO REBOOT NOW? enter YES/yes to confirm:\nNVPM WARN: rebooting\n';
    assert.deepEqual(detectRebootPrompt(out), { rebootRequired: true, targetMode: 3, refused: false });
  });

  it('reports nothing for a live switch (MAXN <-> 120W print nothing)', () => {
    assert.deepEqual(detectRebootPrompt(''), { rebootRequired: false, targetMode: null, refused: false });
  });
});

describe('parseJetsonClocksShow', () => {
  it('parses the real MAXN + jetson_clocks capture and finds it locked', () => {
    const show = parseJetsonClocksShow(fixture('thor', 'jetson_clocks-show.maxn-locked.txt'));
    assert.equal(show.socFamily, 'tegra264');
    assert.equal(show.machine, 'NVIDIA Jetson AGX Thor Developer Kit');
    assert.deepEqual(show.onlineCpus, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    assert.deepEqual(show.offlineCpus, []);
    assert.equal(show.cpus.length, 14);
    assert.deepEqual(show.cpus[13], {
      cpu: 13,
      online: true,
      governor: 'schedutil',
      min: 2601000,
      max: 2601000,
      cur: 2601000,
      idleStates: { WFI: 0, cc7: 0 },
    });
    assert.deepEqual(show.gpu, [
      { name: 'gpu-gpc-0', min: 1575000000, max: 1575000000, cur: 1575000000 },
      { name: 'gpu-nvd-0', min: 1692000000, max: 1692000000, cur: 1692000000 },
    ]);
    assert.deepEqual(show.emc, { min: 665600000, max: 4266000000, cur: 4266000000, freqOverride: 1 });
    assert.deepEqual(show.engines, [
      { name: 'PVA0_VPS0', online: false, min: 0, max: 1215000000, cur: 1215000000 },
      { name: 'PVA0_AXI', online: false, min: 0, max: 909000000, cur: 909000000 },
    ]);
    assert.deepEqual(show.fan, { control: 'nvfancontrol', settings: { hwmon1_pwm1: 73, hwmon1_pwm1_enable: 1 } });
    assert.equal(show.powerModeName, 'MAXN');
    assert.equal(show.locked, true);
  });

  it('is unlocked under DVFS: GPU min below max, EMC without override', () => {
    const dvfs = fixture('thor', 'jetson_clocks-show.maxn-locked.txt')
      .replace(/cpu(\d+): Governor=schedutil MinFreq=2601000/g, 'cpu$1: Governor=schedutil MinFreq=972000')
      .replace('gpu-gpc-0 MinFreq=1575000000', 'gpu-gpc-0 MinFreq=314000000')
      .replace('FreqOverride=1', 'FreqOverride=0');
    assert.equal(parseJetsonClocksShow(dvfs).locked, false);
  });

  it('needs every criterion: only the EMC override missing is still unlocked', () => {
    const noEmcLock = fixture('thor', 'jetson_clocks-show.maxn-locked.txt').replace('FreqOverride=1', 'FreqOverride=0');
    assert.equal(parseJetsonClocksShow(noEmcLock).locked, false);
    const oneCpuFree = fixture('thor', 'jetson_clocks-show.maxn-locked.txt').replace(
      'cpu7: Governor=schedutil MinFreq=2601000',
      'cpu7: Governor=schedutil MinFreq=972000',
    );
    assert.equal(parseJetsonClocksShow(oneCpuFree).locked, false);
  });

  it('ignores offline CPUs for the lock', () => {
    const text = fixture('thor', 'jetson_clocks-show.maxn-locked.txt')
      .replace('Online CPUs: 0-13, Offline CPUs:', 'Online CPUs: 0-11, Offline CPUs: 12-13')
      .replace('cpu12: Governor=schedutil MinFreq=2601000', 'cpu12: Governor=schedutil MinFreq=972000');
    const show = parseJetsonClocksShow(text);
    assert.deepEqual(show.offlineCpus, [12, 13]);
    assert.equal(show.cpus[12]?.online, false);
    assert.equal(show.locked, true);
  });

  it('explains that --show needs root', () => {
    assert.throws(
      () => parseJetsonClocksShow('Error: Run this script(/usr/bin/jetson_clocks) as a root user\n'),
      /root/,
    );
  });

  it('parses CPU lists with ranges and singles', () => {
    assert.deepEqual(parseCpuList('0-3,6,8-9'), [0, 1, 2, 3, 6, 8, 9]);
    assert.deepEqual(parseCpuList(''), []);
    assert.throws(() => parseCpuList('a-b'), ParseError);
  });
});

describe('parseNvTegraRelease', () => {
  it('reads the real Thor R38.2 file', () => {
    assert.deepEqual(parseNvTegraRelease(fixture('thor', 'nv_tegra_release.txt')), {
      release: 'R38',
      revision: '2.0',
      board: 'generic',
      date: 'Fri Aug 22 00:55:42 UTC 2025',
      jetpack: '7.0',
    });
  });

  it('leaves jetpack null for an unknown revision and rejects a non-Jetson file', () => {
    assert.equal(
      parseNvTegraRelease('# R38 (release), REVISION: 9.1, GCID: 1, BOARD: generic, EABI: aarch64, DATE: x').jetpack,
      null,
    );
    assert.throws(() => parseNvTegraRelease('Ubuntu 24.04 LTS\n'), /Jetson/);
  });
});

describe('parseTegrastatsLine', () => {
  const thor =
    '04-21-2026 15:50:52 RAM 105265/125772MB (lfb 34x4MB) CPU [0%@972,0%@972,1%@972] EMC_FREQ 0%@2750 ' +
    'GR3D_FREQ @[314,314,314] NVENC0_FREQ @314 VIC off OFA_FREQ @315 PVA0_FREQ off APE 300 ' +
    'cpu@37.343C tj@38.875C soc012@37.468C gpu@38.875C soc345@37.406C ' +
    'VDD_GPU 1962mW/1962mW VDD_CPU_SOC_MSS 5887mW/5887mW VIN_SYS_5V0 5635mW/5635mW VIN 19780mW/19780mW';

  it('parses the real Thor line', () => {
    assert.deepEqual(parseTegrastatsLine(thor), {
      timestamp: '04-21-2026 15:50:52',
      rails: {
        VDD_GPU: { instMw: 1962, avgMw: 1962 },
        VDD_CPU_SOC_MSS: { instMw: 5887, avgMw: 5887 },
        VIN_SYS_5V0: { instMw: 5635, avgMw: 5635 },
        VIN: { instMw: 19780, avgMw: 19780 },
      },
      ramUsedMb: 105265,
      ramTotalMb: 125772,
      gpuFreqsMhz: [314, 314, 314],
      gpuUtilPct: null,
      temps: { cpu: 37.343, tj: 38.875, soc012: 37.468, gpu: 38.875, soc345: 37.406 },
    });
  });

  it('keeps the first of three power values (JetPack 7.2) and reads GR3D utilisation', () => {
    const s = parseTegrastatsLine(
      'RAM 3000/7620MB (lfb 2x4MB) SWAP 0/3810MB (cached 0MB) GR3D_FREQ 12%@[1300,1300] VDD_IN 5139mW/4100mW/6000mW',
    );
    assert.equal(s.timestamp, null);
    assert.deepEqual(s.rails, { VDD_IN: { instMw: 5139, avgMw: 4100 } });
    assert.deepEqual(s.gpuFreqsMhz, [1300, 1300]);
    assert.equal(s.gpuUtilPct, 12);
  });

  it('reads unit-less rails and negative temperatures of older Jetsons without mistaking RAM/SWAP for rails', () => {
    const s = parseTegrastatsLine(
      'RAM 4722/7844MB (lfb 1x512kB) SWAP 149/1024MB (cached 7MB) GR3D_FREQ 45%@1300 BCPU@-45C AO@47.5C VDD_IN 14025/14416 NVENC 716',
    );
    assert.deepEqual(s.rails, { VDD_IN: { instMw: 14025, avgMw: 14416 } });
    assert.deepEqual(s.temps, { BCPU: -45, AO: 47.5 });
    assert.deepEqual(s.gpuFreqsMhz, [1300]);
    assert.equal(s.ramUsedMb, 4722);
  });

  it('rejects a line that is not tegrastats output', () => {
    assert.throws(() => parseTegrastatsLine('tegrastats: command not found'), ParseError);
  });
});

describe('parseDockerInspect', () => {
  const inspect = (state: Record<string, unknown>) =>
    JSON.stringify([
      {
        Id: 'abc123',
        Name: '/thorbench-qwen3',
        Image: 'sha256:deadbeef',
        State: {
          Status: 'exited',
          Running: false,
          Paused: false,
          OOMKilled: true,
          Dead: false,
          Pid: 0,
          ExitCode: 137,
          Error: '',
          StartedAt: '2026-01-02T03:04:05.123456789Z',
          FinishedAt: '2026-01-02T03:09:00.5Z',
          ...state,
        },
        Config: { Image: 'nvcr.io/nvidia/vllm:25.09-py3', Labels: { 'thorbench.sweep': 's1', 'thorbench.cell': 'c1' } },
      },
    ]);

  it('reads an OOM-killed container', () => {
    assert.deepEqual(parseDockerInspect(inspect({})), {
      name: 'thorbench-qwen3',
      id: 'abc123',
      status: 'exited',
      running: false,
      pid: null,
      exitCode: 137,
      oomKilled: true,
      error: null,
      startedAt: '2026-01-02T03:04:05.123456789Z',
      finishedAt: '2026-01-02T03:09:00.5Z',
      labels: { 'thorbench.sweep': 's1', 'thorbench.cell': 'c1' },
      image: 'nvcr.io/nvidia/vllm:25.09-py3',
    });
  });

  it('reads a running container: pid kept, docker zero time as null, null labels as {}', () => {
    const text = inspect({
      Status: 'running',
      Running: true,
      Pid: 4242,
      ExitCode: 0,
      OOMKilled: false,
      FinishedAt: '0001-01-01T00:00:00Z',
    }).replace(/"Labels":\{[^}]*\}/, '"Labels":null');
    const c = parseDockerInspect(text);
    assert.equal(c.running, true);
    assert.equal(c.pid, 4242);
    assert.equal(c.finishedAt, null);
    assert.deepEqual(c.labels, {});
  });

  it('accepts the decoded array and rejects empty or malformed output', () => {
    assert.equal(
      parseDockerInspect(JSON.parse(inspect({ Error: 'nvidia runtime failed' }))).error,
      'nvidia runtime failed',
    );
    assert.throws(() => parseDockerInspect('[]'), /no such container/);
    assert.throws(() => parseDockerInspect('Error: No such object: x'), /not JSON/);
    assert.throws(() => parseDockerInspect('[{"State":{}}]'), /State\.Status/);
  });
});
