/**
 * Fake `nvpmodel` of the simulated Thor. Output follows the real tool (docs/thor.md, "nvpmodel", and the captures in
 * fixtures/thor/): `-q` prints `NV Power Mode: <NAME>\n<ID>\n`; `-p --verbose` prints the parse dump jtop
 * reads; `-m N` switches live within a TPC power-gating group (and, like the real tool, undoes jetson_clocks),
 * and across groups asks to reboot on stdin: YES/yes reboots the simulated device into the new mode, anything
 * else (including empty stdin) leaves the mode alone.
 */
import { renderDeviceFiles } from '../device-files.js';
import type { SimLayout } from '../layout.js';
import { simulateReboot } from '../reboot.js';
import { readDeviceState, updateDeviceState } from '../sim-state.js';
import {
  CPU_MIN_KHZ,
  DEFAULT_POWER_MODE_ID,
  GPU_MIN_HZ,
  THOR_POWER_MODES,
  needsReboot,
  powerModeById,
} from '../thor-power-modes.js';
import { type CommandIO, runCommand } from './cli.js';

const CONF = '/etc/nvpmodel.conf';

const USAGE = `Nvidia Power Model Tool Version 1.1.2 (thorbench simulator)
Usage:
    nvpmodel [-h | --help] [--verbose] [-q | --query] [-p | --parse] [-u | --udata]
        [-w | --wait <sec>] [--boot] [-m | --mode <mode>] [-f | --conf <filename>] [-o | --os <android,l4t>] [--force]
`;

interface Options {
  query: boolean;
  parse: boolean;
  verbose: boolean;
  force: boolean;
  mode?: string;
  waitSec: number;
}

function parseArgs(args: string[]): Options | string {
  const o: Options = { query: false, parse: false, verbose: false, force: false, waitSec: 0 };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = (): string | undefined => args[++i];
    switch (a) {
      case '-q':
      case '--query':
        o.query = true;
        break;
      case '-p':
      case '--parse':
        o.parse = true;
        break;
      case '--verbose':
        o.verbose = true;
        break;
      case '--force':
        o.force = true;
        break;
      case '--boot':
        break;
      case '-m':
      case '--mode': {
        const v = value();
        if (v === undefined) return `option ${a} requires a mode id`;
        o.mode = v;
        break;
      }
      case '-f':
      case '--conf': {
        const v = value();
        if (v !== CONF) return `the simulator only knows ${CONF} (got -f ${v ?? '(nothing)'})`;
        break;
      }
      case '-o':
      case '--os':
      case '-u':
      case '--udata':
        if (value() === undefined) return `option ${a} requires an argument`;
        break;
      case '-w':
      case '--wait': {
        const v = Number(value());
        if (!Number.isFinite(v) || v < 0) return `option ${a} requires a number of seconds`;
        o.waitSec = v;
        break;
      }
      case '-h':
      case '--help':
        return '';
      default:
        return `unknown option ${a}`;
    }
  }
  return o;
}

/** `nvpmodel -p --verbose`: the parse dump, in the line format jtop's regexes were built on. */
export function renderParseVerbose(): string {
  const lines = [
    `NVPM VERB: Config file: ${CONF}`,
    `NVPM VERB: parsing done for ${CONF}`,
    `succeed to parse file ${CONF}.`,
  ];
  const def = powerModeById(DEFAULT_POWER_MODE_ID)!;
  lines.push(`NVPM VERB: PM_CONFIG: DEFAULT=${def.name}(${def.id})`);
  lines.push('NVPM VERB: PARAM TYPE=FILE NAME=CPU_ONLINE');
  for (let c = 0; c < 14; c++) lines.push(`NVPM VERB: CORE_${c} /sys/devices/system/cpu/cpu${c}/online`);
  lines.push(
    'NVPM VERB: PARAM TYPE=FILE NAME=TPC_POWER_GATING',
    'NVPM VERB: TPC_PG_MASK /sys/devices/platform/gpu.0/tpc_pg_mask',
  );
  lines.push(
    'NVPM VERB: PARAM TYPE=CLOCK NAME=CPU_A78_0',
    'NVPM VERB: FREQ_TABLE /sys/devices/system/cpu/cpu0/cpufreq/scaling_available_frequencies',
    'NVPM VERB: MAX_FREQ /sys/devices/system/cpu/cpu0/cpufreq/scaling_max_freq',
    'NVPM VERB: MIN_FREQ /sys/devices/system/cpu/cpu0/cpufreq/scaling_min_freq',
    'NVPM VERB: PARAM TYPE=CLOCK NAME=GPU',
    'NVPM VERB: FREQ_TABLE /sys/class/devfreq/gpu-gpc-0/available_frequencies',
    'NVPM VERB: MAX_FREQ /sys/class/devfreq/gpu-gpc-0/max_freq',
    'NVPM VERB: MIN_FREQ /sys/class/devfreq/gpu-gpc-0/min_freq',
    'NVPM VERB: PARAM TYPE=CLOCK NAME=EMC',
    'NVPM VERB: MAX_FREQ /sys/kernel/nvpmodel_emc_cap/emc_iso_cap',
    'NVPM VERB: ',
  );
  for (const m of THOR_POWER_MODES) {
    lines.push(`NVPM VERB: POWER_MODEL: ID=${m.id} NAME=${m.name}`);
    for (let c = 0; c < 14; c++) lines.push(`NVPM VERB: CPU_ONLINE CORE_${c} ${c < m.onlineCpus ? 1 : 0}`);
    lines.push(`NVPM VERB: TPC_POWER_GATING TPC_PG_MASK ${m.tpcPgMask}`);
    lines.push(`NVPM VERB: CPU_A78_0 MIN_FREQ ${CPU_MIN_KHZ}`, `NVPM VERB: CPU_A78_0 MAX_FREQ ${m.cpuMaxKHz}`);
    lines.push(`NVPM VERB: GPU MIN_FREQ ${GPU_MIN_HZ}`, `NVPM VERB: GPU MAX_FREQ ${m.gpuGpcMaxHz}`);
    lines.push(`NVPM VERB: EMC MAX_FREQ ${m.emcMaxHz}`, 'NVPM VERB: ');
  }
  return `${lines.join('\n')}\n`;
}

function setMode(layout: SimLayout, io: CommandIO, o: Options, text: string): number {
  if (!/^\d+$/.test(text)) {
    io.err(`NVPM ERROR: Invalid mode: ${text}\n${USAGE}`);
    return 1;
  }
  const id = Number(text);
  const target = powerModeById(id);
  if (!target) {
    io.err(`NVPM ERROR: Invalid power mode ID: ${id}\nNVPM ERROR: optMask is 1, no request for power mode\n`);
    return 1;
  }
  const state = readDeviceState(layout);
  const forcedReboot = id !== state.powerModeId && (state.faults.rebootRequiredModes ?? []).includes(id);
  if (needsReboot(state.powerModeId, id) || forcedReboot) {
    io.out(
      `NVPM WARN: Reboot required for changing to this power mode: ${id}\nNVPM WARN: DO YOU WANT TO REBOOT NOW? enter YES/yes to confirm:\n`,
    );
    const answer = o.force ? 'YES' : io.readLine().trim();
    if (answer !== 'YES' && answer !== 'yes') {
      io.err('NVPM ERROR: bad input!\nNVPM ERROR: optMask is 1, no request for power mode\n');
      return 1;
    }
    io.out('NVPM WARN: rebooting\n');
    updateDeviceState(layout, (s) => {
      s.pendingPowerModeId = id;
    });
    simulateReboot(layout);
    return 0;
  }
  // Live switch: the mode's clock limits are rewritten, which undoes jetson_clocks.
  const next = updateDeviceState(layout, (s) => {
    s.powerModeId = id;
    s.pendingPowerModeId = null;
    s.clocks.locked = false;
  });
  renderDeviceFiles(layout, next);
  return 0;
}

export async function nvpmodel(args: string[], layout: SimLayout, io: CommandIO): Promise<number> {
  const o = parseArgs(args);
  if (typeof o === 'string') {
    if (o === '') {
      io.out(USAGE);
      return 0;
    }
    io.err(`NVPM ERROR: ${o}\n${USAGE}`);
    return 1;
  }
  if (o.waitSec > 0) await new Promise((r) => setTimeout(r, o.waitSec * 1000));
  if (o.mode !== undefined) return setMode(layout, io, o, o.mode);
  if (o.parse) {
    io.out(o.verbose ? renderParseVerbose() : `succeed to parse file ${CONF}.\n`);
    return 0;
  }
  if (o.query || args.length === 0 || o.verbose) {
    const state = readDeviceState(layout);
    const mode = powerModeById(state.powerModeId)!;
    const verbose = o.verbose ? `NVPM VERB: Config file: ${CONF}\nNVPM VERB: parsing done for ${CONF}\n` : '';
    io.out(`${verbose}NV Power Mode: ${mode.name}\n${mode.id}\n`);
    return 0;
  }
  io.out(USAGE);
  return 0;
}

export function main(args: string[]): Promise<void> {
  return runCommand('nvpmodel', nvpmodel, args);
}
