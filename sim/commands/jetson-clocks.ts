/**
 * Fake `jetson_clocks` of the simulated Thor (docs/thor.md, "jetson_clocks"). Without options it locks the clocks at
 * the current mode's maximum and prints what the real Thor prints (fixtures/thor/jetson_clocks.stdout.txt). `--show`
 * renders the settings from the state (byte for byte the real format); `--store FILE` / `--restore FILE` save and put
 * back the lock state, with the real script's quirks: an existing store file is only overwritten after a Y on stdin,
 * and restoring a missing file prints `Error: <file> file not found !` and exits 1.
 *
 * Not simulated: the root check (the simulator runs without sudo).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inFlightRequests } from '../activity.js';
import { writeFileAtomicSync } from '../../store/atomic-file.js';
import { renderDeviceFiles } from '../device-files.js';
import { THOR_FIXTURES_DIR, type SimLayout } from '../layout.js';
import { type SimState, readDeviceState, updateDeviceState } from '../sim-state.js';
import { parseClocksStore, renderClocksShow, renderClocksStore, thorClocks } from '../thor-clocks.js';
import { requirePowerMode } from '../thor-power-modes.js';
import { type CommandIO, runCommand } from './cli.js';

const USAGE = `Maximize jetson performance by setting static max frequency to CPU, GPU and EMC clocks. (thorbench simulator)
Usage:
jetson_clocks [options]
  options,
  --help, -h         show this help message
  --show             display current settings
  --fan              set PWM fan speed to maximal
  --store [file]     store current settings to a file (default: \${HOME}/l4t_dfs.conf)
  --restore [file]   restore saved settings from a file (default: \${HOME}/l4t_dfs.conf)
  run jetson_clocks without any option to set static max frequency to CPU, GPU and EMC clocks.
`;

function defaultConf(): string {
  // The help text says l4t_dfs.conf, but the 2023 script really uses this name.
  return path.join(os.homedir(), '.jetsonclocks_conf.txt');
}

function currentClocks(layout: SimLayout, state: SimState) {
  return thorClocks(
    requirePowerMode(state.powerModeId),
    state.clocks.locked,
    inFlightRequests(layout) > 0,
    state.clocks.fanMax,
  );
}

type Action =
  | { kind: 'lock'; fan: boolean }
  | { kind: 'show' }
  | { kind: 'store'; file: string }
  | { kind: 'restore'; file: string }
  | { kind: 'help' };

function parseArgs(args: string[]): Action | string {
  let action: Action | undefined;
  let fan = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--show') action = { kind: 'show' };
    else if (a === '--fan') fan = true;
    else if (a === '-h' || a === '--help') return { kind: 'help' };
    else if (a === '--store' || a === '--restore') {
      const next = args[i + 1];
      const file = next !== undefined && !next.startsWith('-') ? (i++, next) : defaultConf();
      action = a === '--store' ? { kind: 'store', file } : { kind: 'restore', file };
    } else return `Unknown option: ${a}`;
  }
  return action ?? { kind: 'lock', fan };
}

export async function jetsonClocks(args: string[], layout: SimLayout, io: CommandIO): Promise<number> {
  const action = parseArgs(args);
  if (typeof action === 'string') {
    io.err(`[ERROR] ${action}\n${USAGE}`);
    return 1;
  }
  switch (action.kind) {
    case 'help':
      io.out(USAGE);
      return 0;
    case 'show':
      io.out(renderClocksShow(currentClocks(layout, readDeviceState(layout))));
      return 0;
    case 'lock': {
      const state = updateDeviceState(layout, (s) => {
        s.clocks.locked = true;
        if (action.fan) s.clocks.fanMax = true;
      });
      renderDeviceFiles(layout, state);
      io.out(fs.readFileSync(path.join(THOR_FIXTURES_DIR, 'jetson_clocks.stdout.txt'), 'utf8'));
      return 0;
    }
    case 'store': {
      if (fs.existsSync(action.file)) {
        io.out(`File ${action.file} already exists. Can I overwrite it? Y/N: `);
        const answer = io.readLine().trim();
        if (answer !== 'y' && answer !== 'Y') {
          io.out('\n');
          return 1;
        }
      }
      const state = readDeviceState(layout);
      writeFileAtomicSync(action.file, renderClocksStore(currentClocks(layout, state)));
      updateDeviceState(layout, (s) => {
        s.clocks.stored = {
          file: path.resolve(action.file),
          locked: s.clocks.locked,
          powerModeId: s.powerModeId,
          at: new Date().toISOString(),
        };
      });
      return 0;
    }
    case 'restore': {
      let text: string;
      try {
        text = fs.readFileSync(action.file, 'utf8');
      } catch {
        io.out(`Error: ${action.file} file not found !\n`);
        return 1;
      }
      const stored = parseClocksStore(text);
      if (!stored) {
        io.err(`Error: ${action.file} was not written by jetson_clocks --store (thorbench simulator)\n`);
        return 1;
      }
      const state = updateDeviceState(layout, (s) => {
        s.clocks.locked = stored.locked;
        s.clocks.fanMax = stored.fanMax;
      });
      renderDeviceFiles(layout, state);
      return 0;
    }
  }
}

export function main(args: string[]): Promise<void> {
  return runCommand('jetson_clocks', jetsonClocks, args);
}
