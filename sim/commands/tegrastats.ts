/**
 * Fake `tegrastats` of the simulated Thor: prints a line in the real Thor format every --interval milliseconds
 * (default 1000) until killed, reflecting the current power mode, clocks and the engines' in-flight requests.
 * The interval is real time (not compressed by the device speed): it is the caller's sampling period.
 *
 * The lines themselves carry no marker (parsers of the real format must accept them); a banner on stderr says the
 * values are simulated, and records made on the simulator are flagged by DeviceProfile.simulated.
 * It registers itself as an on-device process, so a simulated reboot ends it like a real one.
 */
import fs from 'node:fs';
import { inFlightRequests } from '../activity.js';
import type { SimLayout } from '../layout.js';
import { mulberry32 } from '../prng.js';
import { registerOnDevice, unregisterOnDevice } from '../reboot.js';
import { readDeviceState, readEngineActivities } from '../sim-state.js';
import { processState } from '../process-util.js';
import {
  IDLE_RAM_MB,
  RAIL_NAMES,
  type RailSample,
  THOR_RAM_TOTAL_MB,
  railPower,
  renderTegrastatsLine,
} from '../tegrastats-line.js';
import { thorClocks } from '../thor-clocks.js';
import { requirePowerMode } from '../thor-power-modes.js';
import { type CommandIO, runCommand } from './cli.js';

interface Options {
  intervalMs: number;
  logfile?: string;
}

function parseArgs(args: string[]): Options | string {
  const o: Options = { intervalMs: 1000 };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--interval') {
      const v = Number(args[++i]);
      if (!Number.isInteger(v) || v < 1)
        return `--interval needs a number of milliseconds (got ${args[i] ?? 'nothing'})`;
      o.intervalMs = v;
    } else if (a === '--logfile') {
      const f = args[++i];
      if (!f) return '--logfile needs a file name';
      o.logfile = f;
    } else if (a === '--verbose' || a === '--readall') {
      // Accepted, no effect on the simulated output.
    } else if (a === '--start' || a === '--stop') {
      return `${a} (daemon mode) is not simulated: run tegrastats in the foreground and kill it by pid`;
    } else return `unknown option ${a}`;
  }
  return o;
}

function ramUsed(layout: SimLayout): number {
  let mb = IDLE_RAM_MB;
  for (const a of readEngineActivities(layout)) if (processState(a.pid) === 'running') mb += a.memoryMb ?? 0;
  return Math.min(THOR_RAM_TOTAL_MB - 512, Math.round(mb));
}

export function tegrastats(args: string[], layout: SimLayout, io: CommandIO): Promise<number> | number {
  const o = parseArgs(args);
  if (typeof o === 'string') {
    io.err(`tegrastats: ${o} (thorbench simulator)\n`);
    return 1;
  }
  io.err('thorbench simulator: tegrastats values are modelled, not measured (simulated Jetson AGX Thor)\n');
  registerOnDevice(layout, process.pid);
  const random = mulberry32(process.pid ^ Date.now());
  const noise = (): number => 1 + (random() - 0.5) * 0.04;
  const sum: RailSample = { VDD_GPU: 0, VDD_CPU_SOC_MSS: 0, VIN_SYS_5V0: 0, VIN: 0 };
  const peak: RailSample = { VDD_GPU: 0, VDD_CPU_SOC_MSS: 0, VIN_SYS_5V0: 0, VIN: 0 };
  let samples = 0;
  const emit = (line: string): void => {
    if (o.logfile) fs.appendFileSync(o.logfile, `${line}\n`);
    else io.out(`${line}\n`);
  };
  return new Promise<number>((resolve) => {
    const tick = (): void => {
      const state = readDeviceState(layout);
      const inFlight = inFlightRequests(layout);
      const mode = requirePowerMode(state.powerModeId);
      const power = railPower(mode, state.clocks.locked, inFlight, noise);
      samples++;
      const average = {} as RailSample;
      for (const r of RAIL_NAMES) {
        sum[r] += power[r];
        average[r] = Math.round(sum[r] / samples);
        peak[r] = Math.max(peak[r], power[r]);
      }
      const clocks = thorClocks(mode, state.clocks.locked, inFlight > 0, state.clocks.fanMax);
      const format = state.tegrastats;
      const ramUsedMb = ramUsed(layout);
      emit(
        renderTegrastatsLine({ now: new Date(), clocks, inFlight, ramUsedMb, power, average, peak, format, random }),
      );
    };
    const timer = setInterval(tick, o.intervalMs);
    const stop = (signal: NodeJS.Signals): void => {
      clearInterval(timer);
      unregisterOnDevice(layout, process.pid);
      process.removeAllListeners(signal);
      // End the way the real tool does when killed: by the signal.
      process.kill(process.pid, signal);
      resolve(0);
    };
    for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(s, () => stop(s));
    process.stdout.on('error', () => {
      clearInterval(timer);
      unregisterOnDevice(layout, process.pid);
      resolve(0);
    });
  });
}

export function main(args: string[]): Promise<void> {
  return runCommand('tegrastats', tegrastats, args);
}
