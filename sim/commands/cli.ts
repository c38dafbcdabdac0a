/**
 * What every fake command shares: finding the simulated device from THORBENCH_SIM_DIR (missing → exit 2 with a
 * message saying how to set it), reading a line of stdin the way the real tools prompt, and turning an unexpected
 * error into a clear message and a non-zero exit instead of a stack trace.
 */
import fs from 'node:fs';
import { sleepSync } from '../atomic-file.js';
import { SIM_DIR_ENV, type SimLayout, simLayout } from '../layout.js';
import { isSimDeviceDir } from '../sim-state.js';

export interface CommandIO {
  out(text: string): void;
  err(text: string): void;
  /** One line from stdin without its newline; '' on EOF or closed stdin. */
  readLine(): string;
}

export type CommandBody = (args: string[], layout: SimLayout, io: CommandIO) => number | Promise<number>;

/** Exit code for "the simulator is not set up" (THORBENCH_SIM_DIR missing or not a device). */
export const EXIT_NOT_CONFIGURED = 2;

function readLineSync(): string {
  const chunk = Buffer.alloc(1);
  let line = '';
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(0, chunk, 0, 1, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        sleepSync(10);
        continue;
      }
      return line;
    }
    if (n === 0) return line;
    const ch = chunk.toString('utf8', 0, 1);
    if (ch === '\n') return line.replace(/\r$/, '');
    line += ch;
  }
}

export const processIO: CommandIO = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  readLine: readLineSync,
};

/** Resolves the device directory from the environment, or explains what is missing. */
export function deviceFromEnv(env: NodeJS.ProcessEnv): { layout: SimLayout } | { problem: string } {
  const dir = env[SIM_DIR_ENV];
  if (!dir) {
    return {
      problem: `${SIM_DIR_ENV} is not set: this is thorbench's simulated Jetson AGX Thor; set ${SIM_DIR_ENV} to the simulated device directory (created by ensureSimDevice in sim/device.ts, or by thorbench --device sim)`,
    };
  }
  if (!isSimDeviceDir(dir))
    return {
      problem: `${SIM_DIR_ENV}=${dir} is not a simulated Thor directory (no sim-state/device.json); create it with ensureSimDevice or thorbench --device sim`,
    };
  return { layout: simLayout(dir) };
}

/** Runs a command body and sets the process exit code. Used by the executables in sim/bin. */
export async function runCommand(
  name: string,
  body: CommandBody,
  args: string[],
  io: CommandIO = processIO,
): Promise<void> {
  const device = deviceFromEnv(process.env);
  if ('problem' in device) {
    io.err(`thorbench simulator (${name}): ${device.problem}\n`);
    process.exitCode = EXIT_NOT_CONFIGURED;
    return;
  }
  try {
    process.exitCode = await body(args, device.layout, io);
  } catch (err) {
    io.err(`thorbench simulator (${name}): ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
