/**
 * Fake `reboot` of the simulated Thor: see sim/reboot.ts for what a simulated boot changes. Like the real one it
 * prints nothing; unlike the real one the machine is back at once (the test harness restarts the killed worker,
 * as systemd would).
 */
import type { SimLayout } from '../layout.js';
import { simulateReboot } from '../reboot.js';
import { type CommandIO, runCommand } from './cli.js';

export function reboot(args: string[], layout: SimLayout, io: CommandIO): number {
  const unknown = args.filter((a) => !['-f', '--force', 'now'].includes(a));
  if (unknown.length > 0) {
    io.err(`reboot: unrecognized option '${unknown[0]}' (thorbench simulator accepts none)\n`);
    return 1;
  }
  simulateReboot(layout);
  return 0;
}

export function main(args: string[]): Promise<void> {
  return runCommand('reboot', reboot, args);
}
