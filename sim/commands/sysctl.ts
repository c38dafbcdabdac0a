/**
 * Fake `sysctl` of the simulated Thor: only vm.drop_caches, which thorbench writes before each engine start (the
 * guide's advice: unified memory is not returned otherwise). The write is counted in the device state so tests
 * can see the flush happened. Output is the real tool's (`vm.drop_caches = 3`).
 */
import type { SimLayout } from '../layout.js';
import { updateDeviceState } from '../sim-state.js';
import { type CommandIO, runCommand } from './cli.js';

const KEY = 'vm.drop_caches';

function unknownKey(io: CommandIO, key: string): number {
  io.err(`sysctl: cannot stat /proc/sys/${key.replace(/\./g, '/')}: No such file or directory\n`);
  io.err(`thorbench simulator: sysctl simulates only ${KEY}\n`);
  return 255;
}

export function sysctl(args: string[], layout: SimLayout, io: CommandIO): number {
  const write = args[0] === '-w';
  const rest = write ? args.slice(1) : args.filter((a) => a !== '-n');
  if (rest.length !== 1) {
    io.err(`thorbench simulator: usage: sysctl [-w] ${KEY}[=1|2|3]\n`);
    return 255;
  }
  const [key, value] = rest[0]!.split('=', 2) as [string, string | undefined];
  if (key !== KEY) return unknownKey(io, key);
  if (value === undefined) {
    if (write) {
      io.err(`sysctl: "${key}" must be of the form name=value\n`);
      return 255;
    }
    io.out(args.includes('-n') ? '0\n' : `${KEY} = 0\n`);
    return 0;
  }
  if (!write) {
    io.err(`sysctl: "${rest[0]}" needs -w to be written\n`);
    return 255;
  }
  if (!/^[123]$/.test(value)) {
    io.err(`sysctl: setting key "${KEY}": Invalid argument\n`);
    return 255;
  }
  updateDeviceState(layout, (s) => {
    s.dropCaches.count += 1;
    s.dropCaches.lastAt = new Date().toISOString();
  });
  io.out(`${KEY} = ${value}\n`);
  return 0;
}

export function main(args: string[]): Promise<void> {
  return runCommand('sysctl', sysctl, args);
}
